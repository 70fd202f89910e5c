package call

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultDialAllow is the numbers an agent may dial unless the operator
// says otherwise: E.164, 6 to 15 digits, with or without the leading +.
const DefaultDialAllow = `\+?[1-9][0-9]{5,14}`

// DialPlan decides which external numbers may be dialled. A number is
// checked as it will be dialled: normalized (NormalizeNumber), then
// matched whole by Allow, so that nobody dials a premium or foreign
// number the operator did not allow.
type DialPlan struct {
	Allow *regexp.Regexp // nil: DefaultDialAllow
	// Hint tells agents, in words, what Allow accepts; "": the default
	// plan's hint, or the expression itself for another plan.
	Hint string
}

// DefaultDialHint describes DefaultDialAllow to agents.
const DefaultDialHint = "international format: + and 6 to 15 digits, e.g. +49 30 1234 5678"

// Hinted is how the plan reads to an agent.
func (p DialPlan) Hinted() string {
	switch {
	case p.Hint != "":
		return p.Hint
	case p.Allow == nil || p.Allow.String() == defaultDialPlan.Allow.String():
		return DefaultDialHint
	}
	return "numbers matching " + strings.TrimSuffix(strings.TrimPrefix(p.Allow.String(), "^(?:"), ")$")
}

// NewDialPlan compiles allow, a regular expression that must match a whole
// normalized number.
func NewDialPlan(allow string) (DialPlan, error) {
	re, err := regexp.Compile(`^(?:` + allow + `)$`)
	if err != nil {
		return DialPlan{}, fmt.Errorf("dial plan %q: %w", allow, err)
	}
	return DialPlan{Allow: re}, nil
}

var defaultDialPlan, _ = NewDialPlan(DefaultDialAllow)

// NormalizeNumber turns a number as people write it into the digits
// dialled: spaces, dashes, dots, slashes and parentheses go, and a
// leading 00 becomes +. Anything else than digits after an optional
// leading + is refused.
func NormalizeNumber(s string) (string, error) {
	n := strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -./()\t", r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if rest, ok := strings.CutPrefix(n, "00"); ok {
		n = "+" + rest
	}
	digits := strings.TrimPrefix(n, "+")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return "", refuse(CodeInvalidField, "%q is not a phone number: use digits, with an optional leading + (spaces, dashes and brackets are fine).", s)
	}
	return n, nil
}

// Check normalizes number and says whether it may be dialled: the number
// to dial, or a refusal (invalid_field, number_not_allowed).
func (p DialPlan) Check(number string) (string, error) {
	n, err := NormalizeNumber(number)
	if err != nil {
		return "", err
	}
	allow := p.Allow
	if allow == nil {
		allow = defaultDialPlan.Allow
	}
	if !allow.MatchString(n) {
		return "", refuse(CodeNumberNotAllowed, "%s is not a number this server may dial (its dial plan).", n)
	}
	return n, nil
}
