package layout

import (
	"fmt"
	"testing"
)

// TestInvariants checks the properties every layout must keep, on every
// canvas, mode, party count and focus, so that a change to the arithmetic
// cannot trade one canvas's correctness for another's.
func TestInvariants(t *testing.T) {
	for _, c := range canvases {
		for n := 0; n <= MaxParties; n++ {
			parties := allParties[:n]
			specs := []Spec{{Parties: parties, Mode: Equal}}
			for _, f := range parties {
				specs = append(specs, Spec{Parties: parties, Mode: Maximize, Focus: f})
			}
			for _, s := range specs {
				name := fmt.Sprintf("%dx%d/%s%d/%s", c.w, c.h, s.Mode, n, s.Focus)
				t.Run(name, func(t *testing.T) {
					tiles, err := Tiles(c.w, c.h, s)
					if err != nil {
						t.Fatal(err)
					}
					checkCommon(t, c.w, c.h, s, tiles)
					if s.Mode == Equal || n == 1 {
						checkEqual(t, c.w, c.h, tiles)
					} else {
						checkMaximize(t, c.w, c.h, s, tiles)
					}
				})
			}
		}
	}
}

func checkCommon(t *testing.T, width, height int, s Spec, tiles []Tile) {
	t.Helper()
	if len(tiles) != len(s.Parties) {
		t.Fatalf("%d tiles for %d parties", len(tiles), len(s.Parties))
	}
	for i, tile := range tiles {
		r := tile.Rect
		if tile.Party != s.Parties[i] {
			t.Errorf("tile %d is %q, want %q", i, tile.Party, s.Parties[i])
		}
		if r.X%2 != 0 || r.Y%2 != 0 || r.W%2 != 0 || r.H%2 != 0 {
			t.Errorf("%s %v not even", tile.Party, r)
		}
		if r.W <= 0 || r.H <= 0 {
			t.Errorf("%s %v empty", tile.Party, r)
		}
		if r.X < 0 || r.Y < 0 || r.X+r.W > width || r.Y+r.H > height {
			t.Errorf("%s %v outside %dx%d", tile.Party, r, width, height)
		}
		// |H - W*9/16| <= 2, kept in integers.
		if abs(16*r.H-9*r.W) > 32 {
			t.Errorf("%s %v is not 16:9", tile.Party, r)
		}
		for _, other := range tiles[:i] {
			if overlaps(r, other.Rect) {
				t.Errorf("%s %v overlaps %s %v", tile.Party, r, other.Party, other.Rect)
			}
		}
	}
	if len(tiles) == 0 {
		return
	}
	// The group is centred: margins differ by at most the rounding of an
	// odd canvas side plus the even alignment.
	b := tiles[0].Rect
	for _, tile := range tiles[1:] {
		b = union(b, tile.Rect)
	}
	if d := abs(b.X - (width - b.X - b.W)); d > 3 {
		t.Errorf("group %v not centred horizontally in %dx%d", b, width, height)
	}
	if d := abs(b.Y - (height - b.Y - b.H)); d > 3 {
		t.Errorf("group %v not centred vertically in %dx%d", b, width, height)
	}
}

func checkEqual(t *testing.T, width, height int, tiles []Tile) {
	t.Helper()
	if len(tiles) == 0 {
		return
	}
	size := tiles[0].Rect
	for _, tile := range tiles[1:] {
		if tile.Rect.W != size.W || tile.Rect.H != size.H {
			t.Errorf("%s %v differs in size from %v", tile.Party, tile.Rect, size)
		}
	}
	// Largest that fits: the grid touches the canvas on one axis, up to
	// rounding (a few pixels per tile).
	cols := min(len(tiles), 2)
	rows := (len(tiles) + cols - 1) / cols
	if cols*size.W < width-3*cols && rows*size.H < height-5*rows {
		t.Errorf("%dx%d grid of %dx%d leaves %dx%d unused", cols, rows, size.W, size.H, width, height)
	}
}

func checkMaximize(t *testing.T, width, height int, s Spec, tiles []Tile) {
	t.Helper()
	var large Rect
	var small []Rect
	for _, tile := range tiles {
		if tile.Party == s.Focus {
			large = tile.Rect
		} else {
			small = append(small, tile.Rect)
		}
	}
	sw, sh := small[0].W, small[0].H
	if large.W*large.H <= sw*sh {
		t.Errorf("focus %v not larger than %v", large, small[0])
	}
	if sw > width/4 {
		t.Errorf("small width %d over a quarter of %d", sw, width)
	}
	for i, r := range small {
		if r.W != sw || r.H != sh {
			t.Errorf("small %v differs in size from %v", r, small[0])
		}
		if r.X != large.X+large.W {
			t.Errorf("small %v not right beside %v", r, large)
		}
		if i > 0 && r.Y != small[i-1].Y+sh {
			t.Errorf("small %v not stacked under %v", r, small[i-1])
		}
	}
	k := len(small)
	top, bottom := small[0].Y, height-(small[0].Y+k*sh)
	if abs(top-bottom) > 3 {
		t.Errorf("column of %d at y=%d not centred in height %d", k, top, height)
	}
	// Small tiles are a quarter-width unless the column must shrink to fit
	// the height; the large tile then takes the rest.
	if sw < width/4-3 && k*sh < height-5*k {
		t.Errorf("small %dx%d smaller than needed", sw, sh)
	}
	if large.W < width-sw-3 && large.H < height-5 {
		t.Errorf("large %v smaller than needed beside %d-wide column", large, sw)
	}
}

func union(a, b Rect) Rect {
	x0, y0 := min(a.X, b.X), min(a.Y, b.Y)
	x1, y1 := max(a.X+a.W, b.X+b.W), max(a.Y+a.H, b.Y+b.H)
	return Rect{x0, y0, x1 - x0, y1 - y0}
}
