package layout

import "fmt"

// Mode names a layout.
type Mode string

const (
	// Equal gives every party a tile of the same size.
	Equal Mode = "equal"
	// Maximize shows Spec.Focus large and the other parties in a column of
	// small tiles to its right.
	Maximize Mode = "maximize"
)

// ParseMode validates a mode name, as received from signaling or a flag.
// Matching is exact: mode names travel between programs, and accepting
// variants here would let them drift apart.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Equal, Maximize:
		return m, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownMode, s)
}
