package codec

// This file backs a design decision with numbers. The project's brief
// allowed github.com/pion/mediadevices v0.9.4 (pkg/codec/vpx) for VP8 or, if
// its per-frame copies and allocations cost too much, a thin cgo wrapper of
// our own over libvpx; we wrote our own (vp8.go). These benchmarks run both
// over the same libvpx on the same content and settings so the cost of each
// can be compared directly:
//
//	go test -run '^$' -bench 'MediaDevices|OwnVP8' -benchtime 100x -count 3 ./codec
//
// One op is one frame. Both encoders are fed at a real 15 fps: mediadevices
// derives its timestamps, and therefore libvpx's frame rate, per-frame bit
// budget and (with cpu-used left at its default) automatic speed selection,
// from the wall clock, so feeding it back to back would make it encode a
// different, far higher frame rate. The wait between frames, and a quality
// check that decodes each packet (reported as Y-PSNR), run with the timer
// stopped; the input pictures are drawn before the timer starts.

import (
	"bytes"
	"image"
	"io"
	"math"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// Settings shared by both sides of the encoder comparison.
const (
	cmpWidth, cmpHeight = 1280, 720
	cmpFPS              = 15
	cmpKbps             = 1200
	cmpKeyInterval      = 3000 // long enough that no periodic key frame falls in a run
	cmpFrames           = 60   // distinct pictures, cycled; consecutive ones always differ
)

// BenchmarkMediaDevicesVP8Encode1280x720 encodes through mediadevices'
// video.Reader / codec.ReadCloser pipeline. mediadevices' Params have no
// cpu-used field and it never calls vpx_codec_control, so libvpx keeps its
// default cpu-used 0, which in realtime mode is automatic speed selection.
func BenchmarkMediaDevicesVP8Encode1280x720(b *testing.B) {
	frames := cmpPatternFrames(cmpWidth, cmpHeight)
	imgs := make([]image.YCbCr, len(frames))
	for i, f := range frames {
		imgs[i] = ycbcrView(f)
	}

	params, err := vpx.NewVP8Params()
	if err != nil {
		b.Fatal(err)
	}
	params.Deadline = time.Microsecond // VPX_DL_REALTIME is 1 µs
	params.BitRate = cmpKbps * 1000
	params.KeyFrameInterval = cmpKeyInterval
	params.RateControlEndUsage = vpx.RateControlCBR
	params.LagInFrames = 0
	params.ErrorResilient = vpx.ErrorResilientDefault
	// The rest of the rate control that Params can express, set as ours is.
	params.RateControlMinQuantizer = 4
	params.RateControlMaxQuantizer = 56
	params.RateControlUndershootPercent = 95

	next := 0
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		img := &imgs[next%len(imgs)]
		next++
		return img, func() {}, nil
	})
	enc, err := params.BuildVideoEncoder(src, prop.Media{Video: prop.Video{
		Width: cmpWidth, Height: cmpHeight, FrameRate: cmpFPS,
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { enc.Close() })

	q := newQualityMeter(b, cmpWidth, cmpHeight)
	pace := newPacer(cmpFPS)
	pace.wait() // one frame interval after construction, as a camera would deliver
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pkt, release, err := enc.Read()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		q.add(pkt, frames[i%len(frames)])
		release()
		pace.wait()
		b.StartTimer()
	}
	q.report()
}

// BenchmarkOwnVP8Encode1280x720 is the same work through codec.VP8Encoder:
// the picture is copied into the encoder's C-side Input() and encoded into
// a reused packet buffer.
func BenchmarkOwnVP8Encode1280x720(b *testing.B) {
	frames := cmpPatternFrames(cmpWidth, cmpHeight)
	e, err := NewVP8Encoder(VP8EncoderParams{
		Width: cmpWidth, Height: cmpHeight, FPS: cmpFPS, BitrateKbps: cmpKbps,
		CPUUsed: -8, KeyframeInterval: cmpKeyInterval,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)

	pkt := make([]byte, 0, 1<<20)
	q := newQualityMeter(b, cmpWidth, cmpHeight)
	pace := newPacer(cmpFPS)
	pace.wait()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		f := frames[i%len(frames)]
		in := e.Input()
		copy(in.Y, f.Y)
		copy(in.U, f.U)
		copy(in.V, f.V)
		if pkt, _, err = e.Encode(pkt, false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		q.add(pkt, f)
		pace.wait()
		b.StartTimer()
	}
	q.report()
}

// BenchmarkMediaDevicesVP8Decode640x360 decodes through mediadevices'
// vpx.NewDecoder, which pulls one packet per io.Reader.Read into its own
// buffer and returns each picture as a newly allocated image.YCbCr.
func BenchmarkMediaDevicesVP8Decode640x360(b *testing.B) {
	const w, h = 640, 360
	stream := encodeStream(b, w, h, cmpFrames)
	r := &packetReader{pkts: stream}
	d, err := vpx.NewDecoder(r, prop.Media{Video: prop.Video{Width: w, Height: h}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })

	b.ReportAllocs()
	for b.Loop() {
		img, release, err := d.Read()
		if err != nil {
			b.Fatal(err)
		}
		if got := img.Bounds(); got.Dx() != w || got.Dy() != h {
			b.Fatalf("decoded %v, want %dx%d", got, w, h)
		}
		release()
	}
}

// BenchmarkOwnVP8Decode640x360 decodes the same stream with VP8Decoder into
// a reused Frame.
func BenchmarkOwnVP8Decode640x360(b *testing.B) {
	const w, h = 640, 360
	stream := encodeStream(b, w, h, cmpFrames)
	d := newTestDecoder(b)
	dst := NewFrame(w, h)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := d.Decode(stream[i%len(stream)], dst); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMediaDevicesDecoderMatchesOwn checks that the two decoders being
// compared produce the same pictures, so the decode benchmarks time the same
// work.
func TestMediaDevicesDecoderMatchesOwn(t *testing.T) {
	const w, h = 640, 360
	stream := encodeStream(t, w, h, 10)
	md, err := vpx.NewDecoder(&packetReader{pkts: stream}, prop.Media{Video: prop.Video{Width: w, Height: h}})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	own := newTestDecoder(t)
	dst := NewFrame(w, h)
	for i, pkt := range stream {
		if err := own.Decode(pkt, dst); err != nil {
			t.Fatalf("frame %d: own: %v", i, err)
		}
		img, release, err := md.Read()
		if err != nil {
			t.Fatalf("frame %d: mediadevices: %v", i, err)
		}
		y, ok := img.(*image.YCbCr)
		if !ok || y.YStride != w || y.CStride != w/2 ||
			!bytes.Equal(y.Y[:w*h], dst.Y) || !bytes.Equal(y.Cb[:w*h/4], dst.U) || !bytes.Equal(y.Cr[:w*h/4], dst.V) {
			t.Fatalf("frame %d: decoders disagree", i)
		}
		release()
	}
}

// cmpPatternFrames draws the moving test card (gradient, checkerboard and
// moving coloured blocks) for cmpFrames consecutive instants.
func cmpPatternFrames(w, h int) []*Frame {
	frames := make([]*Frame, cmpFrames)
	for i := range frames {
		frames[i] = patternFrame(w, h, i)
	}
	return frames
}

// ycbcrView wraps f's planes, without copying, as the I420 image.YCbCr a
// mediadevices video.Reader hands out.
func ycbcrView(f *Frame) image.YCbCr {
	return image.YCbCr{
		Y: f.Y, Cb: f.U, Cr: f.V,
		YStride: f.Width, CStride: f.ChromaWidth(),
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, f.Width, f.Height),
	}
}

// pacer spaces frames at a fixed rate on the wall clock.
type pacer struct {
	next     time.Time
	interval time.Duration
}

func newPacer(fps int) *pacer {
	return &pacer{next: time.Now(), interval: time.Second / time.Duration(fps)}
}

// wait sleeps until the next frame is due. If the caller has fallen behind,
// it returns at once, as a camera's queued frame would be ready.
func (p *pacer) wait() {
	p.next = p.next.Add(p.interval)
	time.Sleep(time.Until(p.next))
}

// qualityMeter decodes every packet and accumulates its size and luma PSNR
// against the source picture, so that encoder speeds are compared at a
// known output size and quality.
type qualityMeter struct {
	b      *testing.B
	d      *VP8Decoder
	out    *Frame
	frames int
	bytes  int
	psnr   float64
}

func newQualityMeter(b *testing.B, w, h int) *qualityMeter {
	return &qualityMeter{b: b, d: newTestDecoder(b), out: NewFrame(w, h)}
}

func (q *qualityMeter) add(pkt []byte, src *Frame) {
	if len(pkt) == 0 {
		q.b.Fatal("encoder dropped a frame")
	}
	if err := q.d.Decode(pkt, q.out); err != nil {
		q.b.Fatal(err)
	}
	var sse float64
	for i, v := range src.Y {
		d := float64(int(v) - int(q.out.Y[i]))
		sse += d * d
	}
	mse := max(sse/float64(len(src.Y)), 1e-3)
	q.psnr += 10 * math.Log10(255*255/mse)
	q.bytes += len(pkt)
	q.frames++
}

func (q *qualityMeter) report() {
	if q.frames == 0 {
		return
	}
	q.b.ReportMetric(float64(q.bytes)/float64(q.frames), "B/frame")
	q.b.ReportMetric(q.psnr/float64(q.frames), "Y-PSNR-dB")
}

// packetReader is the io.Reader mediadevices' decoder pulls from: each Read
// returns exactly one compressed frame, cycling through pkts.
type packetReader struct {
	pkts [][]byte
	i    int
}

func (r *packetReader) Read(p []byte) (int, error) {
	pkt := r.pkts[r.i%len(r.pkts)]
	r.i++
	if len(pkt) > len(p) {
		return 0, io.ErrShortBuffer
	}
	return copy(p, pkt), nil
}
