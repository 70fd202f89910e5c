package mixer

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

// sizeSink decodes the frames a viewer is sent and keeps their size.
type sizeSink struct {
	mu     sync.Mutex
	dec    *codec.VP8Decoder
	frame  codec.Frame
	w, h   int
	frames int
}

func (s *sizeSink) WriteSample(sample media.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dec.Decode(sample.Data, &s.frame); err != nil {
		return err
	}
	s.w, s.h = s.frame.Width, s.frame.Height
	s.frames++
	return nil
}

// A viewer with a smaller canvas gets its own view, composed and encoded
// at that size; viewers of the same spec and canvas share one, and one
// back on the mixer's canvas rejoins the others.
func TestViewerCanvasComposesAtItsSize(t *testing.T) {
	sinks := map[string]*sizeSink{}
	for _, id := range []string{"customer", "agent", "third"} {
		dec, err := codec.NewVP8Decoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close() // after the mixer's views stopped writing
		sinks[id] = &sizeSink{dec: dec}
	}
	clock := newStepClock()
	m := New(Params{Width: 1280, Height: 720, FPS: 15, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	defer m.Close()
	spec := layout.Spec{Parties: []string{"customer", "agent", "third"}, Mode: layout.Equal}
	if err := m.SetViewerCanvas("third", Canvas{640, 360}); err != nil {
		t.Fatal(err)
	}
	for id, s := range sinks {
		if err := m.SetViewer(id, spec, s); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.ViewCount(); n != 2 {
		t.Fatalf("%d views for two canvases, want 2", n)
	}
	got := func(id string) (frames, w, h int) {
		s := sinks[id]
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.frames, s.w, s.h
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		clock.Advance(m.grid.period)
		time.Sleep(10 * time.Millisecond)
		if a, _, _ := got("third"); a > 0 {
			if b, _, _ := got("customer"); b > 0 {
				break
			}
		}
	}
	if n, w, h := got("third"); n == 0 || w != 640 || h != 360 {
		t.Errorf("the small viewer got %d frames of %dx%d, want 640x360", n, w, h)
	}
	if n, w, h := got("customer"); n == 0 || w != 1280 || h != 720 {
		t.Errorf("a full viewer got %d frames of %dx%d, want 1280x720", n, w, h)
	}
	if err := m.SetViewerCanvas("third", Canvas{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetViewer("third", spec, sinks["third"]); err != nil {
		t.Fatal(err)
	}
	if n := m.ViewCount(); n != 1 {
		t.Errorf("%d views once every viewer is on the mixer's canvas, want 1", n)
	}
	for _, bad := range []Canvas{{1920, 1080}, {641, 360}, {0, 360}} {
		if err := m.SetViewerCanvas("agent", bad); err == nil {
			t.Errorf("canvas %v accepted", bad)
		}
	}
}
