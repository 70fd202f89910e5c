package layout

// Party names as the call code uses them; the tests list them in the order
// callers pass them.
const (
	customer = "customer"
	agent    = "agent"
	third    = "third"
	fourth   = "supervisor"
)

var allParties = []string{customer, agent, third, fourth}

// canvases are the sizes every invariant is checked on: the common 16:9
// ones, a 4:3, and awkward ones (odd sides, portrait, ultra-wide, tiny) where
// rounding and fitting are most likely to go wrong.
var canvases = []struct{ w, h int }{
	{1280, 720}, {640, 360}, {1920, 1080}, {854, 480}, {1024, 768},
	{853, 479}, {720, 1280}, {1920, 400}, {176, 144}, {64, 36},
}

func overlaps(a, b Rect) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
