package layout

import "fmt"

// MaxParties is the most parties a Spec may list. Three-party calls need
// three; the fourth leaves room for a supervisor without a new catalogue.
const MaxParties = 4

// Rect is a tile's place on the canvas in pixels. X, Y, W, H are always even
// (I420 chroma alignment).
type Rect struct{ X, Y, W, H int }

// Tile is one party's rectangle.
type Tile struct {
	Party string
	Rect  Rect
}

// Spec says what to lay out.
type Spec struct {
	// Parties in display order (callers pass customer, agent, third order);
	// at most MaxParties entries, no duplicates.
	Parties []string
	// Mode selects the layout.
	Mode Mode
	// Focus is, with Maximize, the party shown large; it must be one of
	// Parties. Equal ignores it so callers can keep it set while toggling
	// modes.
	Focus string
}

// Tiles returns one tile per party, in Spec.Parties order.
func Tiles(width, height int, s Spec) ([]Tile, error) {
	if err := validate(width, height, s); err != nil {
		return nil, err
	}
	tiles := make([]Tile, 0, len(s.Parties))
	switch s.Mode {
	case Maximize:
		return appendMaximize(tiles, width, height, s.Parties, s.Focus)
	default:
		return appendEqual(tiles, width, height, s.Parties)
	}
}

// validate rejects bad input before any geometry so that the geometry code
// can assume a sane Spec.
func validate(width, height int, s Spec) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("%w: %dx%d", ErrBadCanvas, width, height)
	}
	if len(s.Parties) > MaxParties {
		return fmt.Errorf("%w: %d > %d", ErrTooManyParties, len(s.Parties), MaxParties)
	}
	for i, p := range s.Parties {
		for _, q := range s.Parties[:i] {
			if p == q {
				return fmt.Errorf("%w: %q", ErrDuplicateParty, p)
			}
		}
	}
	switch s.Mode {
	case Equal:
		return nil
	case Maximize:
		for _, p := range s.Parties {
			if p == s.Focus {
				return nil
			}
		}
		return fmt.Errorf("%w: %q", ErrFocusAbsent, s.Focus)
	}
	return fmt.Errorf("%w: %q", ErrUnknownMode, s.Mode)
}
