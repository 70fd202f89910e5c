package layout

import (
	"fmt"
	"testing"
)

func TestFitSize(t *testing.T) {
	tests := []struct {
		srcW, srcH, boxW, boxH int
		wantW, wantH           int
	}{
		{640, 360, 640, 360, 640, 360},  // same shape
		{1280, 720, 320, 180, 320, 180}, // same shape, smaller
		{641, 360, 640, 360, 640, 360},  // within 2%: fill, no hairline bars
		{640, 480, 640, 360, 480, 360},  // 4:3 in 16:9: bars left and right
		{480, 640, 640, 360, 270, 360},  // portrait phone
		{1920, 800, 640, 360, 640, 266}, // wider: bars above and below
		{0, 0, 640, 360, 640, 360},      // unknown: fill
		{4000, 10, 320, 180, 320, 2},    // a sliver stays a picture
	}
	for _, tt := range tests {
		w, h := FitSize(tt.srcW, tt.srcH, tt.boxW, tt.boxH)
		if w != tt.wantW || h != tt.wantH {
			t.Errorf("FitSize(%dx%d in %dx%d) = %dx%d, want %dx%d",
				tt.srcW, tt.srcH, tt.boxW, tt.boxH, w, h, tt.wantW, tt.wantH)
		}
	}
}

func TestFit(t *testing.T) {
	r := func(x, y, w, h int) Rect { return Rect{x, y, w, h} }
	tests := []struct {
		name       string
		tile       Rect
		srcW, srcH int
		want       Placement
	}{
		{"same shape fills the tile", r(640, 0, 640, 360), 1280, 720,
			Placement{Picture: r(640, 0, 640, 360)}},
		{"4:3 in 16:9: bars left and right", r(0, 90, 960, 540), 640, 480,
			Placement{Picture: r(120, 90, 720, 540), Bars: [2]Rect{r(0, 90, 120, 540), r(840, 90, 120, 540)}}},
		{"wider: bars above and below", r(0, 0, 640, 360), 1920, 800,
			Placement{Picture: r(0, 46, 640, 266), Bars: [2]Rect{r(0, 0, 640, 46), r(0, 312, 640, 48)}}},
		// 202 columns at an offset of 219, rounded down to even.
		{"odd offset rounds towards the top left", r(0, 0, 640, 360), 360, 640,
			Placement{Picture: r(218, 0, 202, 360), Bars: [2]Rect{r(0, 0, 218, 360), r(420, 0, 220, 360)}}},
		{"two columns short: no bar on the left", r(0, 0, 64, 36), 173, 100,
			Placement{Picture: r(0, 0, 62, 36), Bars: [2]Rect{r(0, 0, 0, 36), r(62, 0, 2, 36)}}},
		{"unknown size fills the tile", r(320, 360, 640, 360), 0, 0,
			Placement{Picture: r(320, 360, 640, 360)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fit(tt.tile, tt.srcW, tt.srcH); got != tt.want {
				t.Errorf("Fit(%v, %dx%d) = %+v, want %+v", tt.tile, tt.srcW, tt.srcH, got, tt.want)
			}
		})
	}
}

// TestFitCoversTheTile checks, for pictures of many shapes in tiles of
// every layout, that the picture and its bars cover the tile exactly, each
// pixel once, at even coordinates and sizes.
func TestFitCoversTheTile(t *testing.T) {
	sizes := [][2]int{{640, 360}, {1280, 720}, {640, 480}, {480, 640}, {360, 640}, {1920, 800},
		{176, 144}, {3840, 2160}, {630, 360}, {173, 100}, {2, 2}, {4000, 10}, {10, 4000}}
	for _, c := range canvases {
		for _, spec := range []Spec{
			{Parties: allParties[:3], Mode: Equal},
			{Parties: allParties[:3], Mode: Maximize, Focus: agent},
		} {
			tiles, err := Tiles(c.w, c.h, spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, tile := range tiles {
				for _, s := range sizes {
					name := fmt.Sprintf("%dx%d in %v", s[0], s[1], tile.Rect)
					checkCovers(t, name, tile.Rect, Fit(tile.Rect, s[0], s[1]))
				}
			}
		}
	}
}

func checkCovers(t *testing.T, name string, tile Rect, p Placement) {
	t.Helper()
	parts := []Rect{p.Picture}
	for _, b := range p.Bars {
		if b.W < 0 || b.H < 0 {
			t.Fatalf("%s: bar %v of negative size", name, b)
		}
		if b.W > 0 && b.H > 0 {
			parts = append(parts, b)
		}
	}
	area := 0
	for i, a := range parts {
		if a.X%2 != 0 || a.Y%2 != 0 || a.W%2 != 0 || a.H%2 != 0 || a.W <= 0 || a.H <= 0 {
			t.Errorf("%s: %v is not an even, non-empty rectangle", name, a)
		}
		if a.X < tile.X || a.Y < tile.Y || a.X+a.W > tile.X+tile.W || a.Y+a.H > tile.Y+tile.H {
			t.Errorf("%s: %v leaves the tile", name, a)
		}
		for _, b := range parts[:i] {
			if overlaps(a, b) {
				t.Errorf("%s: %v overlaps %v", name, a, b)
			}
		}
		area += a.W * a.H
	}
	if area != tile.W*tile.H {
		t.Errorf("%s: picture and bars cover %d pixels of the tile's %d", name, area, tile.W*tile.H)
	}
}
