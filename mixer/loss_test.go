package mixer

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// newLossySource is a source fed by a lossyPath that loses what drop
// says, run for a second so that pools and buffers are warm.
func newLossySource(tb testing.TB, drop func(int) bool, clip, keys [][][]byte) *lossyPath {
	tb.Helper()
	s, err := newSource("customer", drivenClock(time.Now), nil, NopObserver{}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.close)
	s.picture.decoder.TimeCPU()
	p := newLossyPath(s, clip, keys, drop)
	p.second()
	return p
}

// second runs one second of the stream.
func (p *lossyPath) second() {
	for range benchFPS {
		p.step()
	}
}

// BenchmarkSourceLoss measures one source's ingest (RTP to frames to
// decoded pictures) per second of a 640x360 15 fps stream at 600 kbps,
// with 0, 5 and 50 % of transmissions lost at random, NACK repairing what
// it can within the lost-for-good bound and the sender answering key
// frame requests (lossyPath), and with every other packet a NACK interval
// late. One op is one stream-second. It reports process
// CPU (garbage collection included), the ingest goroutine's CPU outside
// libvpx (building frames), frames decoded, collections and allocations.
func BenchmarkSourceLoss(b *testing.B) {
	clip, keys := encodeCamera(b, 0, false), encodeCamera(b, 0, true)
	cases := []struct {
		name string
		drop func(int) bool
	}{
		{"loss=0%", randomLoss(0, 7)},
		{"loss=5%", randomLoss(0.05, 7)},
		{"loss=50%", randomLoss(0.5, 7)},
		{"every-other-late", everyOther()},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			runtime.LockOSThread() // its CPU clock times the ingest
			defer runtime.UnlockOSThread()
			p := newLossySource(b, c.drop, clip, keys)
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			libvpx0, decoded0, sent0 := p.src.picture.decoder.CPUTime(), p.src.picture.seq, p.sent
			b.ReportAllocs()
			b.ResetTimer()
			cpu0, thread0 := cpuTime(), threadCPUTime()
			for b.Loop() {
				p.second()
			}
			cpu, thread := cpuTime()-cpu0, threadCPUTime()-thread0
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			libvpx := p.src.picture.decoder.CPUTime() - libvpx0

			n := float64(b.N)
			b.ReportMetric(ms(cpu)/n, "cpu-ms/stream-s")
			b.ReportMetric((ms(thread)-ms(libvpx))/n, "building-ms/stream-s")
			b.ReportMetric(float64(p.src.picture.seq-decoded0)/n, "decoded-fps")
			b.ReportMetric(float64(ms1.NumGC-ms0.NumGC)/n, "gc/stream-s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(p.sent-sent0), "allocs/packet")
		})
	}
}

// A source whose stream loses 5 % of its transmissions, NACK repairing
// them, allocates nothing in steady state: the frame builder keeps one
// reordering buffer, not a sample builder made anew after every loss.
func TestLossySourceAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes video")
	}
	if raceEnabled {
		t.Skip("sync.Pool drops packets at random under the race detector")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(800)) // see TestCallMediaSteadyStateAllocations
	p := newLossySource(t, randomLoss(0.05, 7), encodeCamera(t, 0, false), encodeCamera(t, 0, true))
	for range 3 * benchLoopSecs { // buffers grow to the largest frames of the clip and of the key frames asked for
		p.second()
	}
	decoded0 := p.src.picture.seq
	const seconds = 8
	allocs := testing.AllocsPerRun(seconds, p.second)
	if decoded := p.src.picture.seq - decoded0; decoded < (seconds+1)*benchFPS*9/10 {
		t.Fatalf("%d frames decoded in %d s at 5%% loss, want nearly all %d", decoded, seconds+1, (seconds+1)*benchFPS)
	}
	t.Logf("%.2f allocations per stream-second", allocs)
	if allocs > 0 {
		t.Errorf("a source at 5%% loss allocates %.1f times per stream-second, want none", allocs)
	}
}

// A packet lost for good (no retransmission comes) stalls its party's
// tile only until the next key frame, which the source asks for as soon
// as it gives the hole up: within lostAfter, a round trip and a key frame
// of the loss, give or take the frame ticks this path moves in (the hole
// is given up at the next packet, the sender encodes on its next frame,
// the view draws on its next tick). Meanwhile the tile keeps the last
// whole picture: not a broken frame, not the placeholder. (Pion's sample
// builder held the source for its 128 packets, about 1.7 s here.)
func TestLossForGoodStallsOnlyUntilTheNextKeyframe(t *testing.T) {
	v, s, _ := newDrawingView(t)
	clip, keys := encodeCamera(t, 1, false), encodeCamera(t, 1, true)
	const lostFrame = 20
	if len(clip[lostFrame]) < 3 {
		t.Fatalf("frame %d is %d packets, want several: the test's premise fails", lostFrame, len(clip[lostFrame]))
	}
	lost := len(clip[lostFrame]) / 2 // the middle packet's number in the stream, from 1
	for _, frame := range clip[:lostFrame] {
		lost += len(frame)
	}
	var p *lossyPath
	p = newLossyPath(s, clip, keys, func(int) bool { return p.sent == lost })
	var lossAt time.Time
	var stalled uint64 // the picture shown while the party is stalled
	for p.frame < lostFrame+30 {
		if p.frame == lostFrame {
			lossAt = p.now
		}
		p.step()
		v.compose(p.now)
		shown := frameOf(lumaAt(v.enc.Input(), benchInW/2, benchInH/2))
		switch {
		case lossAt.IsZero() && shown != (p.frame-1)%20:
			t.Fatalf("before the loss the tile shows frame %d, want %d", shown, (p.frame-1)%20)
		case lossAt.IsZero():
			stalled = s.picture.seq
		case s.picture.seq == stalled && shown != (lostFrame-1)%20:
			t.Fatalf("%v after the loss the tile shows luma %d, want the last whole picture's (frame %d)",
				p.now.Sub(lossAt), lumaAt(v.enc.Input(), benchInW/2, benchInH/2), lostFrame-1)
		case s.picture.seq != stalled:
			recovered := p.now.Sub(lossAt)
			t.Logf("the tile moved again %v after the loss", recovered)
			if most := lostAfter + pathRTT + 3*time.Second/benchFPS; recovered > most {
				t.Errorf("the tile moved again %v after the loss, want at most %v", recovered, most)
			}
			if p.keyframes != 1 || shown != (p.frame-1)%20 {
				t.Errorf("%d key frames sent; the tile shows frame %d, want the newest, %d", p.keyframes, shown, (p.frame-1)%20)
			}
			requests := p.requests
			for range 2 * benchFPS {
				p.step()
			}
			if p.requests != requests {
				t.Errorf("the source asked for %d more key frames in the 2 s after the one it got", p.requests-requests)
			}
			return
		}
	}
	t.Fatalf("the tile still shows frame %d 2 s after the loss (%d key frame requests)", lostFrame-1, p.requests)
}

// A packet that NACK brings back within lostAfter costs no key frame:
// every frame is decoded, the ones after the hole as soon as it fills.
func TestRetransmissionNeedsNoKeyframe(t *testing.T) {
	s, _ := newTestSource(t)
	clip, keys := encodeCamera(t, 2, false), encodeCamera(t, 2, true)
	var p *lossyPath
	p = newLossyPath(s, clip, keys, func(try int) bool { return try == 0 && p.sent%40 == 0 })
	for p.frame < pathFrameCount {
		p.step()
	}
	s.mu.Lock()
	s.release(p.now.Add(maxPlayoutDelay)) // the frames still held play out
	s.mu.Unlock()
	if p.requests != 0 || s.picture.seq != pathFrameCount {
		t.Errorf("with every 40th packet a NACK interval late: %d key frame requests, %d of %d frames decoded; want none and all",
			p.requests, s.picture.seq, pathFrameCount)
	}
}
