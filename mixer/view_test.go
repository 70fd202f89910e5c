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
