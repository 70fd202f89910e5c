package mixer

import (
	"github.com/pion/webrtc/v4/pkg/media"
	"log/slog"
	"testing"

	"github.com/threeway-mcu/threeway/layout"
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
	}
	for _, tt := range tests {
		w, h := fitSize(tt.srcW, tt.srcH, tt.boxW, tt.boxH)
		if w != tt.wantW || h != tt.wantH {
			t.Errorf("fitSize(%dx%d in %dx%d) = %dx%d, want %dx%d",
				tt.srcW, tt.srcH, tt.boxW, tt.boxH, w, h, tt.wantW, tt.wantH)
		}
	}
}

type countingSink struct{ frames int }

func (c *countingSink) WriteSample(media.Sample) error {
	c.frames++
	return nil
}

func TestViewersWithTheSameSpecShareOneView(t *testing.T) {
	m, err := New(Params{Width: 640, Height: 360, FPS: 15, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	parties := []string{"customer", "agent", "third"}
	equal := layout.Spec{Parties: parties, Mode: layout.Equal}
	maxAgent := layout.Spec{Parties: parties, Mode: layout.Maximize, Focus: "agent"}
	sinks := map[string]*countingSink{"customer": {}, "agent": {}, "third": {}}

	for _, p := range parties {
		if err := m.SetViewer(p, equal, sinks[p]); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.ViewCount(); n != 1 {
		t.Fatalf("three viewers of equal tiles run %d views, want 1", n)
	}
	if err := m.SetViewer("customer", maxAgent, sinks["customer"]); err != nil {
		t.Fatal(err)
	}
	if n := m.ViewCount(); n != 2 {
		t.Fatalf("after one viewer maximizes: %d views, want 2", n)
	}
	m.RemoveViewer("customer")
	if n := m.ViewCount(); n != 1 {
		t.Fatalf("after the maximizing viewer left: %d views, want 1 (an unwatched view stops)", n)
	}
	if err := m.SetViewer("agent", layout.Spec{Parties: parties, Mode: layout.Maximize, Focus: "nobody"}, sinks["agent"]); err == nil {
		t.Fatal("a spec maximizing an absent party was accepted")
	}
}

func TestPlaceholderShowsTheLabel(t *testing.T) {
	f := renderPlaceholder("customer: Ann", 640, 360)
	var text, dark int
	for _, y := range f.Y {
		switch y {
		case placeholderTextY:
			text++
		case placeholderY:
			dark++
		}
	}
	if text < 500 || dark < len(f.Y)*8/10 {
		t.Errorf("placeholder has %d text and %d dark pixels of %d", text, dark, len(f.Y))
	}
}

// A tile larger than the sender's picture is drawn by scaling that
// picture straight onto the canvas, fitted with black bars where its
// shape differs from the tile's; nothing outside the tile changes.
func TestDrawTileScalesUpOntoTheCanvas(t *testing.T) {
	v := newTestView(t, 1280, 720)
	s, clock := newTestSource(t)
	s.decode(encodeFrames(t, 640, 480, 1)[0]) // 4:3, luma 50
	canvas := v.enc.Input()
	canvas.Fill(200, 128, 128)
	// The large tile of a maximized layout: the 4:3 picture fits as 720x540.
	v.drawTile(canvas, layout.Tile{Party: "customer", Rect: layout.Rect{X: 0, Y: 90, W: 960, H: 540}}, s, *clock)
	luma := func(x, y int) int { return int(canvas.Y[y*canvas.Width+x]) }
	for _, c := range []struct {
		name      string
		x, y      int
		want, tol int
	}{
		{"picture", 480, 360, 50, 3},
		{"left bar", 60, 360, blackY, 0},
		{"right bar", 900, 360, blackY, 0},
		{"above the tile", 480, 40, 200, 0},
		{"right of the tile", 1100, 360, 200, 0},
	} {
		if got := luma(c.x, c.y); got < c.want-c.tol || got > c.want+c.tol {
			t.Errorf("%s (%d,%d): luma %d, want %d", c.name, c.x, c.y, got, c.want)
		}
	}
	if s.latest == nil || s.latest.Width != 640 {
		t.Error("the tile did not draw from the sender's 640x480 picture")
	}
	if len(s.scaled) != 0 {
		t.Errorf("%d scaled copies made for a tile drawn straight on its canvas", len(s.scaled))
	}
}

// newTestView is a view of a w x h canvas in a mixer of its own, driven
// by the test rather than its clock.
func newTestView(t *testing.T, w, h int) *view {
	t.Helper()
	m, err := newMixer(Params{Width: w, Height: h, FPS: 15, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	v, err := newView(m, "test", layout.Spec{Parties: []string{"customer"}, Mode: layout.Equal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.enc.Close)
	return v
}
