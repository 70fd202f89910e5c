package mixer

import (
	"encoding/binary"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

const (
	benchFPS       = 15
	benchInW       = 640
	benchInH       = 360
	benchLoopSecs  = 4 // one key frame per loop, as a steady stream has few
	benchInputKbps = 600
)

var benchParties = []string{"customer", "agent", "third"}

// inputClip is one party's encoded video: raw RTP packets per frame, with
// sequence numbers and timestamps rewritten as the clip loops so that the
// frame builder sees one endless stream.
type inputClip struct {
	frames  [][][]byte // frame → packets (marshalled RTP)
	encoded [][]byte   // frame → VP8 payload, for the libvpx-only baseline
	seq     uint16
	ts      uint32
	next    int
	pending [][]byte
}

// Read implements RTPReader over the current frame's packets.
func (c *inputClip) Read(b []byte) (int, interceptor.Attributes, error) {
	pkt := c.pending[0]
	c.pending = c.pending[1:]
	n := copy(b, pkt)
	binary.BigEndian.PutUint16(b[2:], c.seq)
	binary.BigEndian.PutUint32(b[4:], c.ts)
	c.seq++
	return n, nil, nil
}

// startFrame queues the next frame's packets and returns how many.
func (c *inputClip) startFrame() int {
	c.pending = c.frames[c.next]
	c.next = (c.next + 1) % len(c.frames)
	c.ts += 90000 / benchFPS
	return len(c.pending)
}

// makeClip encodes benchLoopSecs of a moving pattern, distinct per seed.
func makeClip(tb testing.TB, seed int) *inputClip {
	tb.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{
		Width: benchInW, Height: benchInH, FPS: benchFPS, BitrateKbps: benchInputKbps,
		KeyframeInterval: benchFPS * benchLoopSecs * 2,
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	packetizer := rtp.NewPacketizer(1200, 96, uint32(1000+seed), &codecs.VP8Payloader{},
		rtp.NewRandomSequencer(), 90000)
	clip := &inputClip{}
	for i := range benchFPS * benchLoopSecs {
		drawMovingPattern(enc.Input(), seed, i)
		data, _, err := enc.Encode(nil, i == 0)
		if err != nil {
			tb.Fatal(err)
		}
		clip.encoded = append(clip.encoded, data)
		var pkts [][]byte
		for _, p := range packetizer.Packetize(data, 90000/benchFPS) {
			raw, err := p.Marshal()
			if err != nil {
				tb.Fatal(err)
			}
			pkts = append(pkts, raw)
		}
		clip.frames = append(clip.frames, pkts)
	}
	return clip
}

// drawMovingPattern paints a camera-like picture: a gradient and a few
// moving blocks, so the encoder and decoder do real work.
func drawMovingPattern(f *codec.Frame, seed, i int) {
	f.Fill(0, 128, 128)
	for y := 0; y < f.Height; y++ {
		row := f.Y[y*f.Width : (y+1)*f.Width]
		for x := range row {
			row[x] = byte(40 + (x+y+seed*50)/8 + (x*y+i*7)%5)
		}
	}
	for k := range 4 {
		x := (i*(6+k*3) + k*150 + seed*40) % (f.Width - 80)
		y := (i*(4+k) + k*80) % (f.Height - 80)
		f.FillRect(x, y, 80, 80, byte(60+k*40), byte(80+seed*40), byte(200-k*30))
	}
}

type discardSink struct{ bytes int }

func (d *discardSink) WriteSample(s media.Sample) error {
	d.bytes += len(s.Data)
	return nil
}

// callBench is one call's video work driven by hand, without goroutines:
// three sources ingesting RTP and some views rendering.
type callBench struct {
	m       *Mixer
	clips   []*inputClip
	sources []*source
	views   []*view
	sink    discardSink
	now     time.Time
	paths   []*lossyPath // with newLossyCallBench: the sources' lossy networks
}

func newCallBench(tb testing.TB, specs []layout.Spec) *callBench {
	tb.Helper()
	m := New(Params{Width: 1280, Height: 720, FPS: benchFPS, VideoBitrateKbps: 1200,
		Logger: slog.New(slog.DiscardHandler)})
	cb := &callBench{m: m, now: time.Now()}
	for i, party := range benchParties {
		cb.clips = append(cb.clips, makeClip(tb, i))
		s, err := newSource(party, drivenClock(func() time.Time { return cb.now }), func() {}, NopObserver{}, m.log)
		if err != nil {
			tb.Fatal(err)
		}
		if err := m.addSource(s); err != nil {
			tb.Fatal(err)
		}
		s.picture.decoder.TimeCPU()
		cb.sources = append(cb.sources, s)
	}
	for _, spec := range specs {
		v, err := newView(m, ViewKey(spec), spec, Canvas{m.params.Width, m.params.Height})
		if err != nil {
			tb.Fatal(err)
		}
		v.subscribe(&cb.sink)
		v.enc.TimeCPU()
		cb.views = append(cb.views, v)
	}
	tb.Cleanup(func() {
		for _, v := range cb.views {
			v.enc.Close()
		}
		for _, s := range cb.sources {
			s.close()
		}
		m.Close()
	})
	return cb
}

// newLossyCallBench is newCallBench with each party's camera sent through
// a lossyPath that loses what lossOf(party index) says, NACK repairing
// what it can and the sender answering key frame requests.
func newLossyCallBench(tb testing.TB, specs []layout.Spec, lossOf func(int) func(int) bool) *callBench {
	tb.Helper()
	cb := newCallBench(tb, specs)
	for i, s := range cb.sources {
		cb.paths = append(cb.paths, newLossyPath(s, encodeCamera(tb, i, false), encodeCamera(tb, i, true), lossOf(i)))
	}
	cb.now = cb.paths[0].now
	return cb
}

// second runs one second of the call's video: every source's frames
// through RTP parsing, sample building and decoding, and every view
// composed and encoded at the output rate.
func (cb *callBench) second(tb testing.TB) {
	if cb.paths != nil {
		cb.lossySecond()
		return
	}
	for range benchFPS {
		for i, clip := range cb.clips {
			for n := clip.startFrame(); n > 0; n-- {
				pkt, err := cb.sources[i].packets.readPacket(clip, NopObserver{})
				if err != nil {
					tb.Fatal(err)
				}
				cb.sources[i].push(pkt)
			}
		}
		cb.now = cb.now.Add(time.Second / benchFPS)
		for _, v := range cb.views {
			v.render(cb.now)
		}
	}
}

// lossySecond is second through the sources' lossy paths, which move
// in step with the views' clock.
func (cb *callBench) lossySecond() {
	for range benchFPS {
		for _, p := range cb.paths {
			p.step()
		}
		cb.now = cb.paths[0].now
		for _, v := range cb.views {
			v.render(cb.now)
		}
	}
}

// libvpxTime is the CPU time spent inside libvpx so far, as the codecs
// count it: creating them, and every decode and encode since.
func (cb *callBench) libvpxTime() time.Duration {
	return libvpxTime(slices.Values(cb.sources), cb.views)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// threadCPUTime is the calling thread's CPU time.
func threadCPUTime() time.Duration {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// clockThreadCPUTimeID is Linux's CLOCK_THREAD_CPUTIME_ID.
const clockThreadCPUTimeID = 3

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCallMedia measures one call's video media work per second of
// media: three 640x360 VP8 inputs at 15 fps parsed from RTP, built into
// frames and decoded, composed on a 1280x720 canvas at 15 fps and encoded
// once per view. One op is one call-second. It reports process CPU per
// call-second (the whole process, garbage collection included), the part
// spent inside libvpx (decode and encode calls, as the codecs count it),
// what everything else on the working thread (RTP parsing, sample
// building, scaling, composition) adds to it in percent, and allocations
// per output frame.
func BenchmarkCallMedia(b *testing.B) {
	equal := layout.Spec{Parties: benchParties, Mode: layout.Equal}
	distinct := []layout.Spec{
		{Parties: benchParties, Mode: layout.Maximize, Focus: "customer"},
		{Parties: benchParties, Mode: layout.Maximize, Focus: "agent"},
		{Parties: benchParties, Mode: layout.Maximize, Focus: "third"},
	}
	for _, bc := range []struct {
		name  string
		specs []layout.Spec
		loss  float64 // of every camera's transmissions, NACK repairing
	}{
		{"shared-view", []layout.Spec{equal}, 0},
		{"three-views", distinct, 0},
		{"shared-view-loss=5%", []layout.Spec{equal}, 0.05},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// One thread does all the work, so its CPU clock times libvpx.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var cb *callBench
			if bc.loss > 0 {
				cb = newLossyCallBench(b, bc.specs, func(i int) func(int) bool { return randomLoss(bc.loss, uint64(i)+7) })
			} else {
				cb = newCallBench(b, bc.specs)
			}
			cb.second(b) // warm pools, caches and encoders
			libvpx0 := cb.libvpxTime()

			b.ReportAllocs()
			b.ResetTimer()
			cpu0, thread0 := cpuTime(), threadCPUTime()
			for b.Loop() {
				cb.second(b)
			}
			cpu, thread := cpuTime()-cpu0, threadCPUTime()-thread0
			libvpx := cb.libvpxTime() - libvpx0

			n := float64(b.N)
			b.ReportMetric(ms(cpu)/n, "cpu-ms/call-s")
			b.ReportMetric(ms(libvpx)/n, "libvpx-ms/call-s")
			b.ReportMetric(100*(ms(thread)-ms(libvpx))/ms(libvpx), "outside-libvpx-%")
			b.ReportMetric(float64(testing.AllocsPerRun(1, func() { cb.second(b) }))/benchFPS, "allocs/frame")
		})
	}
}

// TestCallMediaSteadyStateAllocations: the whole video path (RTP parsing,
// joining packets into frames, decode, scaling, composition, encode)
// allocates nothing per frame. (Loss and reordering allocate nothing
// either: TestLossySourceAllocations.)
func TestCallMediaSteadyStateAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes video")
	}
	if raceEnabled {
		t.Skip("sync.Pool drops frames at random under the race detector")
	}
	// Pools lose what sits in them through two collections, and a frame
	// made again then counts here; fewer collections keep the count to
	// what the code itself allocates.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	for name, specs := range map[string][]layout.Spec{
		"shared-view": {{Parties: benchParties, Mode: layout.Equal}},
		"three-views": {
			{Parties: benchParties, Mode: layout.Maximize, Focus: "customer"},
			{Parties: benchParties, Mode: layout.Maximize, Focus: "agent"},
			{Parties: benchParties, Mode: layout.Maximize, Focus: "third"},
		},
	} {
		cb := newCallBench(t, specs)
		cb.second(t)
		allocs := testing.AllocsPerRun(5, func() { cb.second(t) })
		if cb.sink.bytes == 0 {
			t.Fatal("views sent nothing")
		}
		t.Logf("%s: %.1f allocations per call-second", name, allocs)
		// A single allocation per output frame would be 15.
		if allocs > 3 {
			t.Errorf("%s: the video path allocates %.1f times per call-second (%.2f per output frame), want none",
				name, allocs, allocs/benchFPS)
		}
	}
}

// The whole video path allocates nothing per frame under loss either:
// every camera losing 5 % of its transmissions, NACK repairing them and
// key frames answering what NACK could not, the views composing and
// encoding at 15 fps.
func TestCallMediaUnderLossAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes video")
	}
	if raceEnabled {
		t.Skip("sync.Pool drops frames at random under the race detector")
	}
	defer debug.SetGCPercent(debug.SetGCPercent(800)) // as TestCallMediaSteadyStateAllocations
	cb := newLossyCallBench(t, []layout.Spec{{Parties: benchParties, Mode: layout.Equal}},
		func(i int) func(int) bool { return randomLoss(0.05, uint64(i)+7) })
	for range 3 * benchLoopSecs { // buffers grow to the largest frames and key frames
		cb.second(t)
	}
	decoded0 := cb.sources[0].picture.seq
	allocs := testing.AllocsPerRun(5, func() { cb.second(t) })
	if decoded := cb.sources[0].picture.seq - decoded0; decoded < 6*benchFPS*9/10 {
		t.Fatalf("%d frames decoded in 6 s at 5%% loss, want nearly all", decoded)
	}
	t.Logf("%.1f allocations per call-second at 5%% loss", allocs)
	if allocs > 3 { // one per output frame would be 15
		t.Errorf("the video path at 5%% loss allocates %.1f times per call-second (%.2f per output frame), want none",
			allocs, allocs/benchFPS)
	}
}
