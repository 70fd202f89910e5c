package mixer

import (
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
)

// The placeholder an SFUOutput sends while the other party's camera is off.
// The picture does not change, so a few frames a second at a low bitrate
// keep the receiver's decoder fed, and its freeze detection quiet, for
// little CPU.
const (
	placeholderFPS         = 5
	placeholderBitrateKbps = 100
	// placeholderW and placeholderH size the placeholder until the
	// sender's first key frame tells its camera's size.
	placeholderW, placeholderH = 640, 360
	// rtpMTU is the largest RTP packet the placeholder is cut into, as
	// pion's own sample tracks.
	rtpMTU = 1200
	// vp8ClockRate is the RTP clock of VP8.
	vp8ClockRate = 90000
)

// SFUOutputParams configures an SFUOutput.
type SFUOutputParams struct {
	Out      RTPWriter // the receiver's video track
	Logger   *slog.Logger
	Observer Observer // told about placeholder encoders; nil: NopObserver
	Clock    Clock    // times the stream and ticks the placeholder; nil: the wall clock
}

// SFUOutput is one receiver's video in the sfu mode: the other party's
// camera forwarded untranscoded while it is on, and while it is off a
// placeholder (the party's label on dark grey, as the mcu mode draws it)
// encoded here. Either way the switch happens at a key frame, and the
// outgoing stream's sequence numbers and timestamps run on without a jump,
// as one camera's would, so the receiver sees one continuous stream.
//
// Forwarded packets keep their sequence number and timestamp plus a fixed
// offset, fixed at the key frame that (re)starts forwarding: losses stay
// visible to the receiver as gaps it can NACK, and reordering survives.
type SFUOutput struct {
	out     RTPWriter
	log     *slog.Logger
	observe Observer
	clock   Clock

	mu          sync.Mutex
	label       string
	videoOn     bool   // the party's camera is on: forward it
	forwarding  bool   // a key frame came since videoOn: packets pass
	keyframe    func() // asks the sender for a key frame
	lastAsked   time.Time
	seqOffset   uint16 // out = in + offset, while forwarding
	tsOffset    uint32
	firstSeq    uint16 // of the key frame forwarding restarted at
	width       int    // of the sender's last key frame, 0 if none seen
	height      int
	placeholder *placeholderRun // running while the camera is off
	closed      bool
	runs        sync.WaitGroup // placeholder goroutines, stopped or not

	scratch rtp.Packet // the forwarded packet being written

	// The outgoing stream so far.
	started bool
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time // when lastTS went out
}

// NewSFUOutput returns an output that forwards nothing until SetSource.
func NewSFUOutput(p SFUOutputParams) *SFUOutput {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Observer == nil {
		p.Observer = NopObserver{}
	}
	if p.Clock == nil {
		p.Clock = wallClock{}
	}
	return &SFUOutput{out: p.Out, log: p.Logger, observe: p.Observer, clock: p.Clock}
}

// SetSource says whose camera this receiver sees (label is shown on the
// placeholder), whether it is on, and how to ask its sender for a key
// frame. Turning on keeps the placeholder until the sender's next key
// frame, which it asks for; turning off shows the placeholder at once.
func (o *SFUOutput) SetSource(label string, videoOn bool, keyframe func()) {
	o.mu.Lock()
	var ask keyframeAsk
	if !o.closed {
		o.label, o.keyframe = label, keyframe
		switch {
		case videoOn && !o.videoOn:
			o.videoOn, o.forwarding = true, false
			ask = o.askKeyframeLocked(true)
		case !videoOn:
			o.videoOn, o.forwarding = false, false
			if o.placeholder == nil {
				o.startPlaceholderLocked()
			}
		}
	}
	o.mu.Unlock()
	ask.send()
}

// WriteRTP takes one packet of the sender's camera (an RTPWriter for the
// Forwarder). It is dropped while the camera is off, and until a key frame
// after it came on.
func (o *SFUOutput) WriteRTP(pkt *rtp.Packet) error {
	o.mu.Lock()
	ask, err := o.forwardLocked(pkt)
	o.mu.Unlock()
	ask.send()
	return err
}

// forwardLocked sends pkt on if it may pass; it returns the key frame
// request to make (outside the lock) while waiting for one.
func (o *SFUOutput) forwardLocked(pkt *rtp.Packet) (keyframeAsk, error) {
	if o.closed || !o.videoOn {
		return nil, nil
	}
	w, h, key := vp8KeyframeStart(pkt.Payload)
	if key {
		o.width, o.height = (w+1)&^1, (h+1)&^1
	}
	if !o.forwarding {
		if !key {
			return o.askKeyframeLocked(false), nil
		}
		o.startForwardingLocked(pkt)
	}
	if int16(pkt.SequenceNumber-o.firstSeq) < 0 {
		return nil, nil // older than the key frame we switched at: its numbers are taken
	}
	// A copy, as the Forwarder may hand the same packet to others; kept in
	// the output so that forwarding allocates nothing.
	o.scratch = *pkt
	o.scratch.SequenceNumber += o.seqOffset
	o.scratch.Timestamp += o.tsOffset
	return nil, o.writeLocked(&o.scratch)
}

// startForwardingLocked fixes the offsets that continue the outgoing
// stream with key frame packet pkt, and stops the placeholder.
func (o *SFUOutput) startForwardingLocked(pkt *rtp.Packet) {
	o.forwarding = true
	o.firstSeq = pkt.SequenceNumber
	if o.started {
		o.seqOffset = o.lastSeq + 1 - pkt.SequenceNumber
		o.tsOffset = o.nextTimestampLocked(o.clock.Now()) - pkt.Timestamp
	}
	o.stopPlaceholderLocked()
}

// RequestKeyframe handles the receiver's PLI or FIR: the placeholder
// encodes a key frame; a forwarded camera's sender is asked for one.
func (o *SFUOutput) RequestKeyframe() {
	o.mu.Lock()
	var ask keyframeAsk
	if o.placeholder != nil {
		o.placeholder.forceKey = true
	}
	if o.videoOn {
		ask = o.askKeyframeLocked(true)
	}
	o.mu.Unlock()
	ask.send()
}

// Close stops the placeholder; nothing is sent afterwards.
func (o *SFUOutput) Close() {
	o.mu.Lock()
	o.closed = true
	o.stopPlaceholderLocked()
	o.mu.Unlock()
	o.runs.Wait()
}

// keyframeAsk is a key frame request to the sender, made once SFUOutput.mu
// is released, since it writes RTCP; nil asks nothing.
type keyframeAsk func()

func (ask keyframeAsk) send() {
	if ask != nil {
		ask()
	}
}

// askKeyframeLocked returns the sender's key frame request: always when
// now is set (the receiver asked, or the camera came on), else at most
// every keyframeRequestInterval (while waiting for one).
func (o *SFUOutput) askKeyframeLocked(now bool) keyframeAsk {
	at := o.clock.Now()
	if o.keyframe == nil || (!now && at.Sub(o.lastAsked) < keyframeRequestInterval) {
		return nil
	}
	o.lastAsked = at
	return o.keyframe
}

// writeLocked sends one packet and remembers where the stream is: the
// newest packet sent, so that a reordered or resent one never takes the
// stream back to numbers already used.
func (o *SFUOutput) writeLocked(pkt *rtp.Packet) error {
	if !o.started || int16(pkt.SequenceNumber-o.lastSeq) > 0 {
		o.started = true
		o.lastSeq, o.lastTS, o.lastAt = pkt.SequenceNumber, pkt.Timestamp, o.clock.Now()
	}
	return o.out.WriteRTP(pkt)
}

// nextTimestampLocked is the RTP time of a frame starting at now: the
// last one sent plus the time since, at least one tick later.
func (o *SFUOutput) nextTimestampLocked(now time.Time) uint32 {
	ticks := uint32(now.Sub(o.lastAt) * vp8ClockRate / time.Second)
	return o.lastTS + max(ticks, 1)
}

// placeholderRun is the goroutine encoding the placeholder while a camera
// is off.
type placeholderRun struct {
	forceKey bool // guarded by SFUOutput.mu
	done     chan struct{}
}

func (o *SFUOutput) startPlaceholderLocked() {
	w, h := o.width, o.height
	if w == 0 || h == 0 {
		w, h = placeholderW, placeholderH
	}
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{
		Width: w, Height: h, FPS: placeholderFPS, BitrateKbps: placeholderBitrateKbps,
	})
	if err != nil {
		o.log.Error("placeholder encoder", "err", err)
		return
	}
	run := &placeholderRun{forceKey: true, done: make(chan struct{})}
	o.placeholder = run
	o.observe.EncodersChanged(EncoderPlaceholder, 1)
	if !o.started {
		// Nothing went out yet: start the stream somewhere random, as a
		// sender would.
		o.started, o.lastSeq, o.lastTS, o.lastAt = true, uint16(rand.Uint32()), rand.Uint32(), o.clock.Now()
	}
	ticker := o.clock.NewTicker(time.Second / placeholderFPS)
	o.runs.Add(1)
	go o.runPlaceholder(run, enc, ticker)
}

// stopPlaceholderLocked ends the placeholder; its goroutine sends nothing
// more (it checks under the lock that it is still the current run).
func (o *SFUOutput) stopPlaceholderLocked() {
	if o.placeholder == nil {
		return
	}
	close(o.placeholder.done)
	o.placeholder = nil
	o.observe.EncodersChanged(EncoderPlaceholder, -1)
}

// runPlaceholder encodes and sends the placeholder now and then on every
// tick, placeholderFPS times a second, until stopped. It owns enc and
// ticker.
func (o *SFUOutput) runPlaceholder(run *placeholderRun, enc *codec.VP8Encoder, ticker Ticker) {
	defer o.runs.Done()
	defer enc.Close()
	defer ticker.Stop()
	payloader := &codecs.VP8Payloader{EnablePictureID: true}
	var (
		drawn   string
		drawnOK bool
		buf     []byte
	)
	for {
		o.mu.Lock()
		label, forceKey := o.label, run.forceKey
		run.forceKey = false
		o.mu.Unlock()
		if !drawnOK || label != drawn {
			renderPlaceholderInto(enc.Input(), label)
			drawn, drawnOK = label, true
		}
		out, _, err := enc.Encode(buf, forceKey)
		if err != nil {
			o.log.Warn("encode placeholder", "err", err)
		} else if len(out) > 0 {
			buf = out
			if !o.sendPlaceholder(run, payloader.Payload(rtpMTU, out)) {
				return
			}
		}
		select {
		case <-run.done:
			return
		case <-ticker.C():
		}
	}
}

// sendPlaceholder sends one encoded placeholder frame, cut into payloads,
// as the stream's next packets; false once the run was stopped.
func (o *SFUOutput) sendPlaceholder(run *placeholderRun, payloads [][]byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.placeholder != run {
		return false
	}
	ts := o.nextTimestampLocked(o.clock.Now())
	for i, payload := range payloads {
		pkt := &rtp.Packet{
			Header: rtp.Header{Version: 2, Marker: i == len(payloads)-1,
				SequenceNumber: o.lastSeq + 1, Timestamp: ts},
			Payload: payload,
		}
		_ = o.writeLocked(pkt) // a receiver gone is its own leg's business
	}
	return true
}

// renderPlaceholderInto draws label's placeholder on f.
func renderPlaceholderInto(f *codec.Frame, label string) {
	p := renderPlaceholder(label, f.Width, f.Height)
	p.CopyTo(f, 0, 0)
}
