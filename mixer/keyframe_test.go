package mixer

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/layout"
)

// keyframeSink counts the key frames a viewer receives.
type keyframeSink struct{ frames, keys int }

func (k *keyframeSink) WriteSample(s media.Sample) error {
	k.frames++
	if _, _, key := vp8KeyframeSize(s.Data); key {
		k.keys++
	}
	return nil
}

// Viewers asking for key frames all the time get one at most every
// keyframeMinInterval, and the view keeps sending frames in between.
func TestViewKeyframeRequestsAreRateLimited(t *testing.T) {
	m := newMixer(Params{Width: 640, Height: 360, FPS: 15, Logger: slog.New(slog.DiscardHandler)}) // the test renders
	defer m.Close()
	spec := layout.Spec{Parties: []string{"customer", "agent"}, Mode: layout.Equal}
	v, err := newView(m, ViewKey(spec), spec, Canvas{m.params.Width, m.params.Height})
	if err != nil {
		t.Fatal(err)
	}
	defer v.enc.Close()
	sink := &keyframeSink{}
	v.subscribe(sink)
	m.viewers["agent"] = &viewer{id: "agent", view: v, sink: sink}

	start := time.Now()
	const seconds = 3
	for i := range 15 * seconds {
		m.RequestKeyframe("agent") // a PLI with every frame
		v.render(start.Add(time.Duration(i) * time.Second / 15))
	}
	if sink.frames != 15*seconds {
		t.Errorf("viewer got %d frames, want %d", sink.frames, 15*seconds)
	}
	// One key frame every 300 ms at most: ticks of 66.7 ms make that
	// every fifth frame, 9 in 3 s.
	if most := 9; sink.keys > most || sink.keys < most-1 {
		t.Errorf("constant key frame requests gave %d key frames in %d s, want %d (one per %v)",
			sink.keys, seconds, most, keyframeMinInterval)
	}
}

// A sender whose every frame fails to decode is asked for a key frame at
// most every keyframeRequestInterval.
func TestSourceKeyframeRequestsAreRateLimited(t *testing.T) {
	var requests int
	now := time.Now()
	s, err := newSource("customer", drivenClock(func() time.Time { return now }), func() { requests++ }, NopObserver{},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	const frames = 30 // 2 s at 15 fps
	for range frames {
		s.decode([]byte{0x31, 0x02, 0x00, 0xaa, 0xbb}) // an inter frame before any key frame
		now = now.Add(time.Second / 15)
	}
	if want := 4; requests != want {
		t.Errorf("%d undecodable frames over 2 s asked for %d key frames, want %d (one per %v)",
			frames, requests, want, keyframeRequestInterval)
	}
}
