package call

import "github.com/threeway-mcu/threeway/layout"

// Role is a party's place in a call.
type Role string

// The roles, in the order tiles are laid out.
const (
	Customer  Role = "customer"
	AgentRole Role = "agent"
	Third     Role = "third"
)

// Roles lists every role in tile order.
var Roles = []Role{Customer, AgentRole, Third}

// ParseRole validates a role name.
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// ScreenSource is the tile id of the shared screen in view specs.
const ScreenSource = "screen"

// VideoMode is how a server treats video.
type VideoMode string

const (
	// MCU decodes, composes and re-encodes: every call size works.
	MCU VideoMode = "mcu"
	// SFU forwards two-party video untranscoded; three-party calls are
	// refused.
	SFU VideoMode = "sfu"
)

// ParseVideoMode validates a video mode name.
func ParseVideoMode(s string) (VideoMode, bool) {
	switch VideoMode(s) {
	case MCU, SFU:
		return VideoMode(s), true
	}
	return "", false
}

// Layout is a viewer's own choice: equal tiles, or one party maximized.
type Layout struct {
	Mode  layout.Mode `json:"mode"`
	Party Role        `json:"party,omitempty"`
}

// EqualLayout is every viewer's starting layout.
var EqualLayout = Layout{Mode: layout.Equal}
