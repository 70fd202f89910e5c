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
	s, err := newSource("customer", nil, NopObserver{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	publish := func(y byte) {
		f := s.frames.Get(640, 360)
		f.Fill(y, 128, 128)
		publish(s, f)
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
	sc := &scaledFrame{boxW: 320, boxH: 180}
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

// newTestSource is a source whose clock the test steps.
func newTestSource(t *testing.T) (*source, *time.Time) {
	t.Helper()
	s, err := newSource("customer", nil, NopObserver{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	clock := time.Now()
	s.now = func() time.Time { return clock }
	return s, &clock
}

// encodeFrames encodes n frames of a w x h picture whose luma is 50 + 10*i.
func encodeFrames(t *testing.T, w, h, n int) [][]byte {
	t.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: w, Height: h, FPS: 15, BitrateKbps: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var out [][]byte
	for i := range n {
		enc.Input().Fill(byte(50+10*i), 128, 128)
		data, _, err := enc.Encode(nil, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// After a quiet spell with no frame and no view asking, a view asking
// again gets the newest picture, not the first one the source kept at
// the sender's size.
func TestSourceQuietSpellKeepsTheNewestPicture(t *testing.T) {
	s, clock := newTestSource(t)
	frames := encodeFrames(t, 1280, 720, 4)
	for _, data := range frames {
		s.decode(data)
		if f := s.picture(640, 360, *clock); f != nil {
			f.Release()
		}
	}
	*clock = clock.Add(scaledCacheTTL + time.Second)
	f := s.picture(640, 360, *clock)
	if f == nil {
		t.Fatal("no picture after a quiet spell")
	}
	defer f.Release()
	if got := int(f.Y[len(f.Y)/2]); got < 77 || got > 83 {
		t.Errorf("after a quiet spell the tile shows luma %d, want about 80 (the last frame, not the first's 50)", got)
	}
}

// A sender shown only in smaller tiles is scaled for them as it is
// decoded, straight from the decoder, and never copied at its own size;
// a size asked for anew is served at once from the current picture, and
// made with every decode from then on; the sender's own size is kept
// again once a tile shows it, and when no view asks for anything.
func TestSourceMakesTheSizesViewsShow(t *testing.T) {
	s, clock := newTestSource(t)
	frames := encodeFrames(t, 1280, 720, 8)
	luma := func(f *codec.Frame) int { return int(f.Y[len(f.Y)/2]) }
	show := func(w, h, wantLuma int) *codec.Frame {
		t.Helper()
		f := s.picture(w, h, *clock)
		if f == nil {
			t.Fatalf("no picture for a %dx%d tile", w, h)
		}
		defer f.Release()
		if got := luma(f); got < wantLuma-3 || got > wantLuma+3 {
			t.Errorf("%dx%d tile shows luma %d, want about %d (the current frame)", w, h, got, wantLuma)
		}
		return f
	}

	s.decode(frames[0]) // no view asked yet: kept at the sender's size
	if s.latest == nil || s.latestSeq != s.seq || s.latest.Width != 1280 {
		t.Fatal("with no view asking, the first picture was not kept at the sender's size")
	}
	show(640, 360, 50) // asked anew: scaled from the kept picture

	s.decode(frames[1])
	if s.latestSeq == s.seq {
		t.Error("a picture shown only at 640x360 was copied out at 1280x720")
	}
	small := show(640, 360, 60)
	if small.Width != 640 || small != s.scaled[0].frame {
		t.Errorf("the tile got a %dx%d picture that is not the decode's scaled one", small.Width, small.Height)
	}
	show(320, 180, 60) // asked anew with no copy at the sender's size: from the 640x360

	s.decode(frames[2])
	for _, sc := range s.scaled {
		if sc.seq != s.seq {
			t.Errorf("the %dx%d tile's picture was not made by the decode", sc.boxW, sc.boxH)
		}
	}
	show(1280, 720, 70) // the sender's size, asked anew: made from the 640x360 at once
	if s.latestSeq == s.seq {
		t.Error("a picture blown up from a 640x360 stand-in was kept as the sender's size")
	}
	s.decode(frames[3])
	if s.latestSeq != s.seq {
		t.Error("the sender's size, shown by a tile, was not kept by the next decode")
	}
	show(1280, 720, 80)

	*clock = clock.Add(scaledCacheTTL + time.Second) // nobody asked for a while
	s.decode(frames[4])
	if len(s.scaled) != 0 || s.latestSeq != s.seq {
		t.Errorf("after every view stopped asking: %d sizes still made, sender's size kept %v",
			len(s.scaled), s.latestSeq == s.seq)
	}
}

// A sender that switches resolution (a browser adapting to its uplink)
// keeps every tile at the tile's size, showing the current frame.
func TestSourceResolutionSwitchKeepsTileSizes(t *testing.T) {
	s, clock := newTestSource(t)
	small := encodeFrames(t, 640, 360, 3)
	large := encodeFrames(t, 1280, 720, 3) // starts with a key frame
	check := func(boxW, boxH, wantLuma int) {
		t.Helper()
		f := s.picture(boxW, boxH, *clock)
		if f == nil {
			t.Fatalf("no picture for a %dx%d tile", boxW, boxH)
		}
		defer f.Release()
		if f.Width != boxW || f.Height != boxH {
			t.Errorf("a %dx%d tile got a %dx%d picture", boxW, boxH, f.Width, f.Height)
		}
		if got := int(f.Y[len(f.Y)/2]); got < wantLuma-3 || got > wantLuma+3 {
			t.Errorf("%dx%d tile shows luma %d, want about %d", boxW, boxH, got, wantLuma)
		}
	}
	for i, data := range small {
		s.decode(data)
		check(640, 360, 50+10*i)
		check(960, 540, 50+10*i)
		check(320, 180, 50+10*i)
	}
	for i, data := range large {
		s.decode(data)
		check(640, 360, 50+10*i)
		check(960, 540, 50+10*i)
		check(320, 180, 50+10*i)
	}
}

// publish makes f, holding one reference, the source's latest picture, at
// the sender's size, as a decode keeping that size would.
func publish(s *source, f *codec.Frame) {
	s.mu.Lock()
	old := s.latest
	s.seq++
	s.width, s.height = f.Width, f.Height
	s.latest, s.latestSeq = f, s.seq
	s.mu.Unlock()
	if old != nil {
		old.Release()
	}
}
