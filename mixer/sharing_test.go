package mixer

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// Views showing a source at the same tile size share one scaled copy per
// source frame; the sender's own size needs no scaling at all.
func TestSourceScalesOncePerTileSize(t *testing.T) {
	s, err := newSource("customer", nil, wallStopwatch, NopObserver{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	publish := func(y byte) {
		f := s.frames.Get(640, 360)
		f.Fill(y, 128, 128)
		s.publish(f)
	}
	now := time.Now()
	publish(100)
	first := s.picture(320, 180, now)
	again := s.picture(320, 180, now)
	full := s.picture(640, 360, now)
	defer first.Release()
	defer again.Release()
	defer full.Release()
	if first != again {
		t.Error("a second view of the same tile size scaled the frame again")
	}
	if full.Width != 640 || full != s.latest {
		t.Error("a tile of the sender's size got a scaled copy")
	}

	publish(200)
	next := s.picture(320, 180, now)
	defer next.Release()
	if next == first || next.Y[0] != 200 {
		t.Errorf("after a new source frame the tile shows the old one (luma %d, want 200)", next.Y[0])
	}
}

// Listeners hearing the same mix share one Opus encode: with two voices
// muted, both hear only the third voice, from one encoder, byte for byte.
func TestListenersOfTheSameMixShareAnEncode(t *testing.T) {
	ab := newAudioBench(t)
	ab.a.muted["customer"], ab.a.muted["agent"] = true, true
	sinks := map[string]*packetSink{}
	for _, id := range benchParties {
		sinks[id] = &packetSink{}
		ab.a.listeners[id] = sinks[id]
	}
	for range 5 {
		ab.tick(t)
	}
	encoded := 0
	for _, mix := range ab.a.mixes {
		if mix.tickNo == ab.a.tickNo {
			encoded++
		}
	}
	if encoded != 2 {
		t.Errorf("%d mixes encoded in a tick, want 2 (everyone's for the muted pair, and the third's mix-minus)", encoded)
	}
	c, a := sinks["customer"].last, sinks["agent"].last
	if len(c) == 0 || string(c) != string(a) {
		t.Error("customer and agent, hearing the same mix, got different packets")
	}
	if string(sinks["third"].last) == string(c) {
		t.Error("the third party, who talks, got the mix with its own voice")
	}
}

type packetSink struct{ last []byte }

func (p *packetSink) WriteSample(s media.Sample) error {
	p.last = append(p.last[:0], s.Data...)
	return nil
}
