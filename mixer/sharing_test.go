package mixer

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

// Views showing a source at the same tile size share one scaled copy per
// source frame; the sender's own size needs no copy at all.
func TestSourceScalesOncePerTileSize(t *testing.T) {
	s, clock := newTestSource(t)
	frames := encodeFrames(t, 640, 360, 2)
	s.decode(frames[0])
	first, _ := scaledPicture(s, 320, 180, *clock)
	again, _ := scaledPicture(s, 320, 180, *clock)
	if first == nil || again == nil {
		t.Fatal("no 320x180 picture")
	}
	defer first.Release()
	defer again.Release()
	if first != again {
		t.Error("a second view of the same tile size scaled the frame again")
	}
	full := codec.NewFrame(640, 360)
	if seq := s.picture.drawOn(full, &tileFit{rect: layout.Rect{W: 640, H: 360}}, 0, *clock); seq != s.picture.seq {
		t.Fatalf("a tile of the sender's size drew picture %d, want %d", seq, s.picture.seq)
	}
	if len(s.picture.scaled) != 1 {
		t.Errorf("%d sizes made, want 1 (320x180): the sender's size is drawn from the decoder", len(s.picture.scaled))
	}

	s.decode(frames[1])
	next, _ := scaledPicture(s, 320, 180, *clock)
	if next == nil {
		t.Fatal("no 320x180 picture after the second frame")
	}
	defer next.Release()
	if next == first || lumaAt(next, 160, 90) < 57 {
		t.Errorf("after a new source frame the tile shows the old one (luma %d, want about 60)", lumaAt(next, 160, 90))
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
		ab.a.listeners[id] = &listener{id: id, sink: sinks[id], codec: Opus}
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

// newTestSource is the customer's source, whose clock the test steps.
func newTestSource(t *testing.T) (*source, *time.Time) {
	t.Helper()
	return newTestSourceOf(t, "customer")
}

// newTestSourceOf is source id, whose clock the test steps.
func newTestSourceOf(t *testing.T, id string) (*source, *time.Time) {
	t.Helper()
	clock := time.Now()
	s, err := newSource(id, drivenClock(func() time.Time { return clock }), nil, NopObserver{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
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
// again gets the newest picture.
func TestSourceQuietSpellKeepsTheNewestPicture(t *testing.T) {
	s, clock := newTestSource(t)
	frames := encodeFrames(t, 1280, 720, 4)
	for _, data := range frames {
		s.decode(data)
		if f, _ := scaledPicture(s, 640, 360, *clock); f != nil {
			f.Release()
		}
	}
	*clock = clock.Add(scaledCacheTTL + time.Second)
	f, _ := scaledPicture(s, 640, 360, *clock)
	if f == nil {
		t.Fatal("no picture after a quiet spell")
	}
	defer f.Release()
	if got := lumaAt(f, 320, 180); got < 77 || got > 83 {
		t.Errorf("after a quiet spell the tile shows luma %d, want about 80 (the last frame, not the first's 50)", got)
	}
}

// A sender shown in smaller tiles is scaled for them as it is decoded,
// straight from the decoder. A size asked for anew is made at once from
// the current picture, and with every decode from then on; a size nobody
// asked for lately is no longer made.
func TestSourceMakesTheSizesViewsShow(t *testing.T) {
	s, clock := newTestSource(t)
	frames := encodeFrames(t, 1280, 720, 4)
	show := func(w, h, wantLuma int) *codec.Frame {
		t.Helper()
		f, seq := scaledPicture(s, w, h, *clock)
		if f == nil {
			t.Fatalf("no picture for a %dx%d tile", w, h)
		}
		defer f.Release()
		if got := lumaAt(f, f.Width/2, f.Height/2); got < wantLuma-3 || got > wantLuma+3 || seq != s.picture.seq {
			t.Errorf("%dx%d tile shows luma %d of picture %d, want about %d of %d (the current frame)",
				w, h, got, seq, wantLuma, s.picture.seq)
		}
		return f
	}

	s.decode(frames[0])
	show(640, 360, 50) // asked anew: scaled from the decoder at once

	s.decode(frames[1])
	small := show(640, 360, 60)
	if small.Width != 640 || small != s.picture.scaled[0].frame || s.picture.scaled[0].seq != s.picture.seq {
		t.Errorf("the tile got a %dx%d picture that is not the decode's scaled one", small.Width, small.Height)
	}
	show(320, 180, 60)

	s.decode(frames[2])
	for _, sc := range s.picture.scaled {
		if sc.seq != s.picture.seq {
			t.Errorf("the %dx%d tile's picture was not made by the decode", sc.boxW, sc.boxH)
		}
	}

	*clock = clock.Add(scaledCacheTTL + time.Second) // nobody asked for a while
	s.decode(frames[3])
	if len(s.picture.scaled) != 0 {
		t.Errorf("after every view stopped asking: %d sizes still made", len(s.picture.scaled))
	}
}

// A sender that switches resolution (a browser adapting to its uplink)
// keeps every tile filled at the tile's size, showing the current frame,
// whether the tile is smaller than the picture or not.
func TestSourceResolutionSwitchKeepsTileSizes(t *testing.T) {
	s, clock := newTestSource(t)
	small := encodeFrames(t, 640, 360, 3)
	large := encodeFrames(t, 1280, 720, 3) // starts with a key frame
	check := func(boxW, boxH, wantLuma int) {
		t.Helper()
		canvas := codec.NewFrame(boxW, boxH)
		canvas.Fill(200, 128, 128)
		if seq := s.picture.drawOn(canvas, &tileFit{rect: layout.Rect{W: boxW, H: boxH}}, 0, *clock); seq != s.picture.seq {
			t.Fatalf("a %dx%d tile drew picture %d, want %d", boxW, boxH, seq, s.picture.seq)
		}
		for _, p := range [][2]int{{1, 1}, {boxW - 2, boxH - 2}, {boxW / 2, boxH / 2}} {
			if got := lumaAt(canvas, p[0], p[1]); got < wantLuma-3 || got > wantLuma+3 {
				t.Errorf("%dx%d tile at (%d,%d) shows luma %d, want about %d", boxW, boxH, p[0], p[1], got, wantLuma)
			}
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

func lumaAt(f *codec.Frame, x, y int) int { return int(f.Y[y*f.Width+x]) }

// scaledPicture is what drawOn draws a boxW x boxH tile from, for a tile
// smaller than the sender's picture that holds none yet: the size's cached
// picture, or one made anew; nil if there is none.
func scaledPicture(s *source, boxW, boxH int, now time.Time) (*codec.Frame, uint64) {
	fit := &tileFit{rect: layout.Rect{W: boxW, H: boxH}}
	seq, sc, pic := s.picture.lookup(fit, 0, now)
	if sc == nil || pic != nil {
		return pic, seq
	}
	return s.picture.scaleAnew(sc, fit, 0)
}
