package mixer

import (
	"io"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/layout"
)

// A party that leaves has its tracks end before the room lays the views
// out without it. Meanwhile its tile keeps the last picture it showed,
// rather than flash the party's placeholder; only a tile still there
// endedPictureHold later shows the placeholder.
func TestEndedSourceKeepsItsLastPictureUntilTheRelayout(t *testing.T) {
	m, clock, events := steppedMixer(t, 1)
	both := layout.Spec{Parties: []string{"customer", "agent"}, Mode: layout.Equal}
	if err := m.SetViewer("customer", both, &countingSink{}); err != nil {
		t.Fatal(err)
	}
	track := newEndingTrack(rtpStream(t, &codecs.VP8Payloader{}, 90000, 6000, [][]byte{keyFrame(t, 320, 180, 90)}))
	ingested := make(chan error, 1)
	go func() { ingested <- m.IngestVideo("agent", track, nil) }()
	receive(t, track.drained, "the end of the agent's packets")

	v := viewOf(t, m, both)
	canvas, rect := v.enc.Input(), tileOf(t, v, "agent").fit.rect
	period := time.Second / 15
	tick := func() {
		t.Helper()
		clock.Advance(period)
		receive(t, events.composed, "a frame on a tick")
	}
	tick()
	wantTileLuma(t, canvas, rect, 90, "while the agent's camera runs")

	close(track.end) // the agent leaves
	if err := receive(t, ingested, "the end of the agent's ingest"); err == nil {
		t.Fatal("the ingest ended without the track's error")
	}
	tick()
	wantTileLuma(t, canvas, rect, 90, "after the agent's track ended, before the re-layout,")

	for range int(endedPictureHold/period) + 1 {
		tick()
	}
	if !showsPlaceholder(canvas, rect, "agent") {
		t.Errorf("%v after its track ended the agent's tile does not show its placeholder", endedPictureHold)
	}
}

// viewOf is the view of spec in m.
func viewOf(t *testing.T, m *Mixer, spec layout.Spec) *view {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.views[ViewKey(spec)]
	if v == nil {
		t.Fatalf("no view of %s", ViewKey(spec))
	}
	return v
}

// endingTrack yields its packets, tells drained once the ingest has pushed
// them all, and ends with io.EOF once end is closed: a party's track until
// the party leaves.
type endingTrack struct {
	packets [][]byte
	drained chan struct{}
	end     chan struct{}
}

func newEndingTrack(packets [][]byte) *endingTrack {
	return &endingTrack{packets: packets, drained: make(chan struct{}), end: make(chan struct{})}
}

func (r *endingTrack) Read(b []byte) (int, interceptor.Attributes, error) {
	if len(r.packets) == 0 {
		close(r.drained)
		<-r.end
		return 0, nil, io.EOF
	}
	n := copy(b, r.packets[0])
	r.packets = r.packets[1:]
	return n, nil, nil
}
