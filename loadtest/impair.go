package loadtest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// allRoles is --impair's name for every party.
const allRoles = "all"

// ParseImpair reads --impair flags, "ROLE:SPEC" each (ROLE customer,
// agent, third or all; SPEC a netcond spec such as
// "loss=5%,delay=20ms,jitter=30ms"), into each role's network conditions.
// Flags apply in their order: a later one refines what an earlier one
// set for the same role (its keys win, its outage windows add), and "all"
// is one flag for every role, so `all:delay=20ms customer:loss=5%` gives
// the customer both; "none" clears what earlier flags gave the role.
// Roles no flag names are absent. A bad role or spec is an ErrParams
// naming the flags.
func ParseImpair(flags []string) (map[string]netcond.Conditions, error) {
	specs := map[string][]string{}
	used := map[string][]string{}
	for _, f := range flags {
		role, spec, ok := strings.Cut(f, ":")
		role = strings.TrimSpace(role)
		if !ok || (role != allRoles && !slices.Contains(roles, role)) {
			return nil, fmt.Errorf("%w: --impair %q: want ROLE:SPEC, ROLE one of %s or %s", ErrParams, f,
				strings.Join(roles, ", "), allRoles)
		}
		for _, r := range roles {
			switch {
			case role != r && role != allRoles:
			case strings.TrimSpace(spec) == "none":
				specs[r], used[r] = nil, []string{f}
			default:
				specs[r] = append(specs[r], spec)
				used[r] = append(used[r], f)
			}
		}
	}
	out := map[string]netcond.Conditions{}
	for _, role := range roles {
		if used[role] == nil {
			continue
		}
		c, err := netcond.Parse(strings.Join(specs[role], ","))
		if err != nil {
			return nil, fmt.Errorf("%w: --impair %s, for the %s: %w", ErrParams, strings.Join(used[role], " "), role, err)
		}
		out[role] = c
	}
	return out, nil
}
