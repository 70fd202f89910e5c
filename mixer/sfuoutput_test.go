package mixer

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
)

// rtpRecorder keeps copies of the packets written to it, and reports
// every placeholder frame (one the output encodes, not the camera's) as
// its last packet goes out. A frame it has no room to report is counted,
// not waited for (the output's lock is held), and fails the test.
type rtpRecorder struct {
	mu           sync.Mutex
	pkts         []rtp.Packet
	placeholders chan struct{}
	unreported   int
}

func newRTPRecorder(t *testing.T) *rtpRecorder {
	r := &rtpRecorder{placeholders: make(chan struct{}, 64)}
	t.Cleanup(func() { // after the test's deferred Close: nothing more comes
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.unreported > 0 {
			t.Errorf("%d placeholder frames more than the recorder had room for", r.unreported)
		}
	})
	return r
}

func (r *rtpRecorder) WriteRTP(p *rtp.Packet) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := *p
	c.Payload = append([]byte(nil), p.Payload...)
	r.pkts = append(r.pkts, c)
	if p.Marker && p.PayloadType != cameraPT {
		select {
		case r.placeholders <- struct{}{}:
		default:
			r.unreported++
		}
	}
	return nil
}

// waitPlaceholder waits for the next placeholder frame to go out.
func (r *rtpRecorder) waitPlaceholder(t *testing.T) {
	t.Helper()
	receive(t, r.placeholders, "placeholder frame")
}

// cameraPT is the payload type of the camera's packets; the output leaves
// the placeholder's at zero, for pion to set.
const cameraPT = 96

func (r *rtpRecorder) packets() []rtp.Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rtp.Packet(nil), r.pkts...)
}

// camera is a sender's VP8 camera in RTP: a solid colour per frame.
type camera struct {
	t   *testing.T
	enc *codec.VP8Encoder
	pkt rtp.Packetizer
	buf []byte
}

func newCamera(t *testing.T) *camera {
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: 640, Height: 360, FPS: 15, BitrateKbps: 500})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(enc.Close)
	return &camera{t: t, enc: enc,
		pkt: rtp.NewPacketizer(rtpMTU, cameraPT, 1234, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), vp8ClockRate)}
}

// frame encodes one red frame and returns its packets.
func (c *camera) frame(key bool) []*rtp.Packet {
	c.enc.Input().Fill(81, 90, 240)
	out, _, err := c.enc.Encode(c.buf, key)
	if err != nil || len(out) == 0 {
		c.t.Fatalf("camera encode: %v (%d bytes)", err, len(out))
	}
	c.buf = out
	return c.pkt.Packetize(out, vp8ClockRate/15)
}

func (c *camera) send(o *SFUOutput, key bool) {
	for _, p := range c.frame(key) {
		if err := o.WriteRTP(p); err != nil {
			c.t.Fatal(err)
		}
	}
}

// decodedFrame is one picture the receiver decoded, with its mean luma and
// chroma.
type decodedFrame struct{ y, u, v float64 }

// decodeStream decodes an RTP stream as a receiver would: frames by
// marker bit, in order; it fails on a gap in sequence numbers, time
// running backwards, or a frame that does not decode.
func decodeStream(t *testing.T, pkts []rtp.Packet) []decodedFrame {
	t.Helper()
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var (
		out   []decodedFrame
		frame []byte
		pic   codec.Frame
	)
	for i, p := range pkts {
		if i > 0 {
			prev := pkts[i-1]
			if p.SequenceNumber != prev.SequenceNumber+1 {
				t.Fatalf("packet %d: sequence %d after %d", i, p.SequenceNumber, prev.SequenceNumber)
			}
			if int32(p.Timestamp-prev.Timestamp) < 0 {
				t.Fatalf("packet %d: timestamp %d after %d", i, p.Timestamp, prev.Timestamp)
			}
		}
		var d codecs.VP8Packet
		payload, err := d.Unmarshal(p.Payload)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		frame = append(frame, payload...)
		if !p.Marker {
			continue
		}
		if err := dec.Decode(frame, &pic); err != nil {
			t.Fatalf("frame ending at packet %d does not decode: %v", i, err)
		}
		out = append(out, decodedFrame{mean(pic.Y), mean(pic.U), mean(pic.V)})
		frame = frame[:0]
	}
	return out
}

func mean(b []byte) float64 {
	sum := 0
	for _, x := range b {
		sum += int(x)
	}
	return float64(sum) / float64(len(b))
}

func isRed(f decodedFrame) bool { return f.v > 200 }
func isPlaceholder(f decodedFrame) bool {
	return f.y < 60 && f.u > 118 && f.u < 138 && f.v > 118 && f.v < 138
}

// A receiver in sfu mode sees the camera while it is on and the
// placeholder while it is off, in one stream a decoder takes without a
// hitch: forwarding starts at key frames only (asking the sender for one),
// and sequence numbers and time run on across every switch.
func TestSFUOutputSwitchesBetweenCameraAndPlaceholder(t *testing.T) {
	rec := newRTPRecorder(t)
	var obs encoderCounter
	clock := newStepClock()
	o := NewSFUOutput(SFUOutputParams{Out: rec, Logger: slog.New(slog.DiscardHandler), Observer: &obs,
		Clock: clock})
	defer o.Close()
	cam := newCamera(t)
	var asked int
	ask := func() { asked++ }

	o.SetSource("customer: Ann", true, ask)
	if asked != 1 {
		t.Errorf("the camera came on: %d key frame requests, want 1", asked)
	}
	cam.send(o, true) // the first frame is a key frame anyway
	cam.send(o, false)
	cam.send(o, false)
	onFrames := len(rec.packets())
	if onFrames == 0 {
		t.Fatal("nothing forwarded from a key frame on")
	}

	// Off: the placeholder at once; the camera's packets no longer pass.
	o.SetSource("customer: Ann", false, ask)
	rec.waitPlaceholder(t)
	if n := obs.get(); n != 1 {
		t.Errorf("%d placeholder encoders while the camera is off, want 1", n)
	}
	if n := clock.running(); n != 1 {
		t.Errorf("%d tickers run on the output's clock while the camera is off, want the placeholder's one", n)
	}
	before := len(rec.packets())
	cam.send(o, true)
	for _, p := range rec.packets()[before:] {
		if p.PayloadType == cameraPT {
			t.Fatal("a camera packet passed while the camera is off")
		}
	}

	// On again: the placeholder until the sender's key frame, which is asked for.
	asked = 0
	o.SetSource("customer: Ann", true, ask)
	if asked != 1 {
		t.Errorf("the camera came back on: %d key frame requests, want 1", asked)
	}
	before = len(rec.packets())
	cam.send(o, false) // a delta frame cannot start a picture: dropped
	for _, p := range rec.packets()[before:] {
		if p.PayloadType == cameraPT {
			t.Fatal("forwarding restarted at a delta frame, which the receiver cannot decode")
		}
	}
	cam.send(o, true)
	cam.send(o, false)
	if n := obs.get(); n != 0 {
		t.Errorf("%d placeholder encoders once the camera is forwarded again, want 0", n)
	}
	o.runs.Wait() // the stopped placeholder's goroutine ends
	if n := clock.running(); n != 0 {
		t.Errorf("%d tickers still run once the camera is forwarded again, want 0", n)
	}

	frames := decodeStream(t, rec.packets())
	var pattern []string
	for _, f := range frames {
		switch {
		case isRed(f):
			if len(pattern) == 0 || pattern[len(pattern)-1] != "camera" {
				pattern = append(pattern, "camera")
			}
		case isPlaceholder(f):
			if len(pattern) == 0 || pattern[len(pattern)-1] != "placeholder" {
				pattern = append(pattern, "placeholder")
			}
		default:
			t.Errorf("a frame that is neither the camera nor the placeholder: %+v", f)
		}
	}
	if want := []string{"camera", "placeholder", "camera"}; len(pattern) != 3 || pattern[0] != want[0] ||
		pattern[1] != want[1] || pattern[2] != want[2] {
		t.Errorf("the receiver saw %v, want %v", pattern, want)
	}
	if last := frames[len(frames)-1]; !isRed(last) {
		t.Errorf("last frame %+v is not the camera", last)
	}
}

// A packet resent after newer ones (a NACK answered) does not take the
// stream back: when the camera then goes off, the placeholder continues
// after the newest number sent, never reusing one.
func TestSFUOutputResentPacketDoesNotRewindTheStream(t *testing.T) {
	rec := newRTPRecorder(t)
	o := NewSFUOutput(SFUOutputParams{Out: rec, Logger: slog.New(slog.DiscardHandler), Clock: newStepClock()})
	defer o.Close()
	cam := newCamera(t)
	o.SetSource("customer: Ann", true, func() {})
	first := cam.frame(true)
	for _, p := range append(first, cam.frame(false)...) {
		if err := o.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.WriteRTP(first[0]); err != nil { // resent
		t.Fatal(err)
	}
	sent := rec.packets()
	newest := sent[len(sent)-2].SequenceNumber

	o.SetSource("customer: Ann", false, func() {})
	rec.waitPlaceholder(t)
	if got := rec.packets()[len(sent)].SequenceNumber; got != newest+1 {
		t.Errorf("the placeholder starts at sequence %d, want %d (after the newest sent)", got, newest+1)
	}
}

// The placeholder's frames are timed by the output's clock, on VP8's
// 90 kHz RTP clock: frames a second apart are 90000 apart.
func TestSFUOutputPlaceholderTimestampsFollowItsClock(t *testing.T) {
	rec := newRTPRecorder(t)
	clock := newStepClock()
	o := NewSFUOutput(SFUOutputParams{Out: rec, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	defer o.Close()
	o.SetSource("agent", false, nil)
	rec.waitPlaceholder(t)
	clock.Advance(time.Second)
	rec.waitPlaceholder(t)
	pkts := rec.packets()
	first, last := pkts[0], pkts[len(pkts)-1] // of the first frame and the second
	if d := last.Timestamp - first.Timestamp; d != vp8ClockRate {
		t.Errorf("placeholder frames a second apart are %d apart in RTP time, want %d", d, vp8ClockRate)
	}
}

// A receiver's PLI reaches the sender while its camera is forwarded, and
// forces a key frame of the placeholder while it is off.
func TestSFUOutputKeyframeRequests(t *testing.T) {
	rec := newRTPRecorder(t)
	clock := newStepClock()
	o := NewSFUOutput(SFUOutputParams{Out: rec, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	defer o.Close()
	var asked int
	o.SetSource("agent", true, func() { asked++ })
	o.RequestKeyframe()
	if asked != 2 {
		t.Errorf("after the receiver's PLI: %d requests to the sender, want 2", asked)
	}
	o.SetSource("agent", false, func() { asked++ })
	rec.waitPlaceholder(t) // the first, a key frame
	o.RequestKeyframe()
	if asked != 2 {
		t.Errorf("a PLI while the camera is off went to the sender")
	}
	clock.Advance(time.Second / placeholderFPS)
	rec.waitPlaceholder(t)
	keys := 0
	for _, p := range rec.packets() {
		if _, _, k := vp8KeyframeStart(p.Payload); k {
			keys++
		}
	}
	if keys != 2 {
		t.Errorf("%d placeholder key frames after a PLI, want 2 (the first and the asked one)", keys)
	}
}

// encoderCounter is an Observer counting placeholder encoders.
type encoderCounter struct {
	NopObserver
	mu sync.Mutex
	n  int
}

func (c *encoderCounter) EncodersChanged(kind string, delta int) {
	if kind == EncoderPlaceholder {
		c.mu.Lock()
		c.n += delta
		c.mu.Unlock()
	}
}

func (c *encoderCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
