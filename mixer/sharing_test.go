package mixer

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
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

// A scaled copy finished after its cache entry expired stays the caller's:
// the entry neither keeps it nor releases it a second time.
func TestScaledCopyOfADroppedEntryStaysTheCallers(t *testing.T) {
	var pool codec.FramePool
	sc := &scaledFrame{w: 320, h: 180}
	first := pool.Get(320, 180)
	sc.keep(first, 1)
	if sc.frame != first {
		t.Fatal("the first scaled copy was not cached")
	}
	sc.drop() // expired while a view scales the next frame
	late := pool.Get(320, 180)
	sc.keep(late, 2)
	if sc.frame != nil {
		t.Error("a dropped entry cached a late copy")
	}
	first.Release() // the caller's references: neither may panic
	late.Release()
}
