package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

// A video loop shows frame numbers 0..n-1, has key frames exactly every
// keySeconds, and decodes cleanly across its wrap with one decoder, as a
// receiver sees it replayed; a key frame request jumps to the next one.
func TestVideoLoop(t *testing.T) {
	k := loopKey{pattern: "third", width: 320, height: 180, fps: 5, bitrateKbps: 300}
	loop, err := loops.videoLoopFor(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := loops.videoLoopFor(context.Background(), k); again != loop {
		t.Error("the loop was built twice")
	}
	n, every := loopSeconds*k.fps, keySeconds*k.fps
	if len(loop.frames) != n {
		t.Fatalf("%d frames, want %d", len(loop.frames), n)
	}
	for i := range loopSeconds / keySeconds {
		if loop.keys[i] != i*every {
			t.Fatalf("key frames at %v, want every %d", loop.keys, every)
		}
	}
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var f codec.Frame
	cur := &loopCursor{loop: loop}
	for i := range 2 * n {
		data, number := cur.next(false)
		if int(number) != i%n {
			t.Fatalf("step %d: frame %d", i, number)
		}
		if err := dec.Decode(data, &f); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if tile := FindTiles(&f)["third"]; tile.FrameNumber != i%n {
			t.Fatalf("step %d: read %d", i, tile.FrameNumber)
		}
	}
	cur.pos = every + 1
	if _, number := cur.next(true); int(number) != 2*every {
		t.Errorf("a key frame request at %d went to %d, want %d", every+1, number, 2*every)
	}
	cur.pos = loop.keys[len(loop.keys)-1] + 1
	if _, number := cur.next(true); number != 0 {
		t.Errorf("a request after the last key frame went to %d, want 0", number)
	}
}

// The tone loop replays seamlessly: three seconds of it through Opus
// carry the role's tone at its level, with no step where the loop wraps
// (the other tones stay far below).
func TestAudioLoop(t *testing.T) {
	loop, err := loops.audioLoopFor(context.Background(), ToneHz("agent"))
	if err != nil {
		t.Fatal(err)
	}
	if len(loop.packets) != audioLoopFrames {
		t.Fatalf("%d packets", len(loop.packets))
	}
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var pcm []int16
	buf := make([]int16, maxOpusSamples)
	for i := range 3 * audioLoopFrames {
		n, err := dec.Decode(loop.packets[i%audioLoopFrames], buf)
		if err != nil {
			t.Fatal(err)
		}
		pcm = append(pcm, buf[:n]...)
	}
	// Half a second either side of the second wrap, then within the loop.
	for _, start := range []int{3 * codec.SampleRate / 2, 2 * codec.SampleRate} {
		win := pcm[start : start+codec.SampleRate]
		own := Goertzel(win, ToneHz("agent"))
		if own < -13 || own > -11 {
			t.Errorf("window at %d: own tone %.1f dBFS, want about -12", start, own)
		}
		for _, other := range []string{"customer", "third"} {
			if l := Goertzel(win, ToneHz(other)); l > own-40 {
				t.Errorf("window at %d: %s tone %.1f dBFS beside %.1f", start, other, l, own)
			}
		}
	}
	// The largest step between samples at the wrap is a sine's, not a
	// click: at most a little over the steepest slope of the tone.
	steep := (1 + syllableDepth) * toneAmplitude * 2 * 3.1416 * ToneHz("agent") / codec.SampleRate
	for _, wrap := range []int{codec.SampleRate, 2 * codec.SampleRate} {
		for i := wrap - 200; i < wrap+200; i++ {
			if d := float64(pcm[i+1]) - float64(pcm[i]); d > 1.5*steep || d < -1.5*steep {
				t.Errorf("step of %.0f at sample %d near the wrap at %d (the tone's steepest is %.0f)", d, i, wrap, steep)
				break
			}
		}
	}
}

// A number read again after others is timed afresh (the sender's next
// loop); read again in a row it keeps its first time.
func TestReadTimesRestampOnReturn(t *testing.T) {
	h := &readTimes{last: -1}
	t0 := time.Now()
	h.read(5, t0)
	h.read(5, t0.Add(time.Second))
	if got := h.stamps[5].at; !got.Equal(t0) {
		t.Errorf("repeated frame restamped: %v", got.Sub(t0))
	}
	h.read(6, t0.Add(2*time.Second))
	h.read(5, t0.Add(3*time.Second))
	if got := h.stamps[5].at; !got.Equal(t0.Add(3 * time.Second)) {
		t.Errorf("returning frame kept %v", got.Sub(t0))
	}
}

// Prepare builds the loops a join would otherwise build, and refuses
// video settings a join would refuse.
func TestPrepare(t *testing.T) {
	cfg := Config{Width: 352, Height: 198, FPS: 6}
	if err := Prepare(cfg, "customer", ScreenKey); err != nil {
		t.Fatal(err)
	}
	k := loopKey{pattern: "customer", width: 352, height: 198, fps: 6, bitrateKbps: DefaultVideoBitrateKbps}
	loops.mu.Lock()
	e := loops.video[k]
	s := loops.video[loopKey{pattern: ScreenKey, width: 352, height: 198, fps: 6, bitrateKbps: DefaultVideoBitrateKbps}]
	a := loops.audio[ToneHz("customer")]
	loops.mu.Unlock()
	if e == nil || !e.done || s == nil || !s.done || a == nil || !a.done {
		t.Errorf("loops built: customer %v, screen %v, tone %v", e, s, a)
	}
	if err := Prepare(Config{Width: 31, Height: 18}, "agent"); !errors.Is(err, ErrConfig) {
		t.Errorf("odd size: %v, want ErrConfig", err)
	}
}
