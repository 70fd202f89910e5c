package mixer

import (
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// bitrateEvents is an Observer that passes on the views' encoder
// bitrates, reported once a second of the views' clock, and counts those
// that found the last one unread.
type bitrateEvents struct {
	NopObserver
	kbps  chan int
	extra atomic.Int32
}

func (b *bitrateEvents) ViewBitrate(kbps int) {
	select {
	case b.kbps <- kbps:
	default:
		b.extra.Add(1)
	}
}

// bitrateMixer is a mixer of three viewers of one equal picture, on a
// step clock, each at its full bitrate. Its views' pictures are hard to
// encode: each makes its target bitrate, unless made says otherwise.
func bitrateMixer(t *testing.T) (*Mixer, *stepClock, *bitrateEvents) {
	t.Helper()
	clock := newStepClock()
	events := &bitrateEvents{kbps: make(chan int, 1)}
	m := New(Params{Width: 320, Height: 180, FPS: 15, VideoBitrateKbps: 1200, Logger: slog.New(slog.DiscardHandler),
		Observer: events, Clock: clock})
	t.Cleanup(m.Close)
	m.produced = func(v *view) int { return targetOf(v) }
	equal := layout.Spec{Parties: []string{"customer", "agent", "third"}, Mode: layout.Equal}
	for _, id := range []string{"customer", "agent", "third"} {
		if err := m.SetViewer(id, equal, &countingSink{}); err != nil {
			t.Fatal(err)
		}
		m.SetViewerBitrate(id, m.Params().ViewerKbps())
	}
	return m, clock, events
}

// watching says which view viewer id watches (its key) and that view's
// target bitrate.
func watching(m *Mixer, id string) (key string, kbps int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.viewers[id].view
	return v.key, int(v.target.Load())
}

// pollFor has every viewer report its bandwidth (video kbps plus the
// audio) every 250 ms of the clock for d, as the signaling's estimate
// poll does.
func pollFor(m *Mixer, clock *stepClock, d time.Duration, video map[string]int) {
	for step := time.Duration(0); step < d; step += 250 * time.Millisecond {
		clock.Advance(250 * time.Millisecond)
		for id, kbps := range video {
			m.SetViewerBitrate(id, kbps+m.params.audioKbps())
		}
	}
}

// A viewer whose path takes far less than the others' first pulls the
// shared picture down to its bitrate, then, after splitAfter, is split
// off to a low view of its own while the others go back to the full
// bitrate; it rejoins them only after its bandwidth has been back near
// theirs for mergeAfter, a dip restarting the wait.
func TestSlowViewerIsSplitOffAndMergedBack(t *testing.T) {
	m, clock, _ := bitrateMixer(t)
	shared, _ := watching(m, "customer")
	rates := map[string]int{"customer": 350, "agent": 1200, "third": 1200}

	pollFor(m, clock, splitAfter-250*time.Millisecond, rates)
	for _, id := range []string{"customer", "agent"} {
		if key, kbps := watching(m, id); key != shared || kbps != 350 {
			t.Errorf("before %v: %s watches %s at %d kbps, want the shared view at the slowest's 350", splitAfter, id, key, kbps)
		}
	}
	pollFor(m, clock, 500*time.Millisecond, rates)
	if key, kbps := watching(m, "customer"); key == shared || kbps != 350 {
		t.Errorf("after %v: the slow viewer watches %s at %d kbps, want a view of its own at 350", splitAfter, key, kbps)
	}
	if key, kbps := watching(m, "agent"); key != shared || kbps != 1200 {
		t.Errorf("after %v: agent watches %s at %d kbps, want the shared view at 1200", splitAfter, key, kbps)
	}
	if n := m.ViewCount(); n != 2 {
		t.Errorf("%d views after the split, want 2", n)
	}

	// Between the two ratios it stays where it is.
	rates["customer"] = 800
	pollFor(m, clock, 2*mergeAfter, rates)
	if key, _ := watching(m, "customer"); key == shared {
		t.Errorf("at 800 of 1200 kbps the viewer went back to the shared view")
	}
	// Near the others: back after mergeAfter, the wait restarted by a dip.
	rates["customer"] = 1000
	pollFor(m, clock, mergeAfter/2, rates)
	rates["customer"] = 500
	pollFor(m, clock, 250*time.Millisecond, rates)
	rates["customer"] = 1000
	pollFor(m, clock, mergeAfter-500*time.Millisecond, rates)
	if key, _ := watching(m, "customer"); key == shared {
		t.Errorf("the viewer went back to the shared view before %v near the others", mergeAfter)
	}
	pollFor(m, clock, 750*time.Millisecond, rates)
	if key, kbps := watching(m, "customer"); key != shared || kbps != 1000 {
		t.Errorf("after %v near the others the viewer watches %s at %d kbps, want the shared view at 1000", mergeAfter, key, kbps)
	}
	if n := m.ViewCount(); n != 1 {
		t.Errorf("%d views after the merge, want 1", n)
	}
}

// Two slow viewers of one picture share its low view, and the fast one
// keeps the full bitrate.
func TestSlowViewersShareTheLowView(t *testing.T) {
	m, clock, _ := bitrateMixer(t)
	pollFor(m, clock, splitAfter+250*time.Millisecond, map[string]int{"customer": 300, "agent": 500, "third": 1200})
	low, lowKbps := watching(m, "customer")
	if key, _ := watching(m, "agent"); key != low {
		t.Errorf("the two slow viewers watch %s and %s, want one low view", low, key)
	}
	if lowKbps != 300 {
		t.Errorf("the low view encodes at %d kbps, want its slowest viewer's 300", lowKbps)
	}
	if key, kbps := watching(m, "third"); key == low || kbps != 1200 {
		t.Errorf("the fast viewer watches %s at %d kbps, want the shared view at 1200", key, kbps)
	}
}

// A view's encoder follows its target from its next frame, never above
// --video-bitrate nor below the floor, however far the estimate goes.
func TestViewEncoderFollowsItsViewersWithinBounds(t *testing.T) {
	m, clock, events := bitrateMixer(t)
	audio := m.params.audioKbps()
	for _, tt := range []struct{ estimate, want int }{
		{5, minViewKbps},     // far below the floor
		{600, 600 - audio},   // the audio's share comes off
		{50_000, 1200},       // never above the configured bitrate
		{1000 + audio, 1000}, // a fall is followed at once
		{1040 + audio, 1000}, // a rise under raiseStep is not worth it
		{1160 + audio, 1160}, // a larger one is
		{1200 + audio, 1200}, // and so is any rise to the cap
	} {
		for _, id := range []string{"customer", "agent", "third"} {
			m.SetViewerBitrate(id, tt.estimate)
		}
		clock.Advance(time.Second)
		if got := receive(t, events.kbps, "view bitrate"); got != tt.want {
			t.Errorf("estimate %d kbps: the view encodes at %d, want %d", tt.estimate, got, tt.want)
		}
	}
	if n := len(events.kbps) + int(events.extra.Load()); n != 0 {
		t.Errorf("views reported %d bitrates beyond one a second", n)
	}
}

// A picture easy enough that the shared view makes well under what the
// slow viewer takes loses nothing by being held down to it: nobody is
// split off. One who was comes back once the shared picture fits its path.
func TestEasyPictureKeepsOneView(t *testing.T) {
	m, clock, _ := bitrateMixer(t)
	shared, _ := watching(m, "customer")
	m.produced = func(*view) int { return 200 } // an easy picture
	rates := map[string]int{"customer": 300, "agent": 1200, "third": 1200}
	pollFor(m, clock, 2*splitAfter, rates)
	if key, kbps := watching(m, "customer"); key != shared || kbps != 300 {
		t.Errorf("with an easy picture the slow viewer watches %s at %d kbps, want the shared view at 300", key, kbps)
	}

	m.produced = func(v *view) int { return targetOf(v) } // the picture gets hard
	pollFor(m, clock, splitAfter+250*time.Millisecond, rates)
	if key, _ := watching(m, "customer"); key == shared {
		t.Fatal("with a hard picture the slow viewer was not split off")
	}
	m.produced = func(*view) int { return 200 } // easy again: it fits in 300 with room
	pollFor(m, clock, mergeAfter+250*time.Millisecond, rates)
	if key, _ := watching(m, "customer"); key != shared {
		t.Errorf("once the shared picture fits its path the viewer still watches %s", key)
	}
}

// A picture that took more at the full bitrate than the slow viewer's
// path is held down by it, however little the encoder makes once held
// (a CBR encoder undershoots): the slow viewer is split off, and the
// others get their picture back at its full bitrate.
func TestHeldDownPictureSplitsTheSlowViewer(t *testing.T) {
	m, clock, _ := bitrateMixer(t)
	shared, _ := watching(m, "customer")
	m.produced = func(*view) int { return 200 } // what it makes held down to 300
	m.natural = func(*view) int { return 450 }  // what it made at 1200
	rates := map[string]int{"customer": 300, "agent": 1200, "third": 1200}
	pollFor(m, clock, splitAfter+250*time.Millisecond, rates)
	if key, _ := watching(m, "customer"); key == shared {
		t.Fatal("the slow viewer holding a 450 kbit/s picture down to 300 was not split off")
	}
	if key, kbps := watching(m, "agent"); key != shared || kbps != 1200 {
		t.Errorf("the agent watches %s at %d kbps, want the shared view at 1200", key, kbps)
	}
}
