package mixer

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"
)

// opusClockRate is Opus's RTP clock (RFC 7587).
const opusClockRate = 48000

// OpusOutput puts a listener's 20 ms Opus mixes on an RTP track, one
// packet each, and lets RTP time pass over the frames DTX leaves unsent
// with sequence numbers unbroken, so a receiver sees silence, not loss.
// pion's TrackLocalStaticSample can only skip time by skipping sequence
// numbers too. A talkspurt's first packet carries the marker bit (RFC
// 3551, 4.1).
type OpusOutput struct {
	out RTPWriter

	mu       sync.Mutex
	packet   rtp.Packet
	skipped  bool // time passed with nothing sent since the last packet
	started  bool
	sequence uint16
	time     uint32
}

// NewOpusOutput writes to out, a pion TrackLocalStaticRTP, which sets
// the SSRC and payload type of each binding.
func NewOpusOutput(out RTPWriter) *OpusOutput {
	return &OpusOutput{out: out, sequence: uint16(rand.Uint32()), time: rand.Uint32()}
}

// WriteSample sends one Opus packet lasting s.Duration.
func (o *OpusOutput) WriteSample(s media.Sample) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.packet.Header = rtp.Header{
		Version:        2,
		Marker:         o.skipped || !o.started,
		SequenceNumber: o.sequence,
		Timestamp:      o.time,
	}
	o.packet.Payload = s.Data
	o.sequence++
	o.time += ticksOf(s.Duration)
	o.skipped, o.started = false, true
	return o.out.WriteRTP(&o.packet)
}

// Skip lets d of RTP time pass with nothing sent.
func (o *OpusOutput) Skip(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.time += ticksOf(d)
	o.skipped = true
}

func ticksOf(d time.Duration) uint32 {
	return uint32(d * opusClockRate / time.Second)
}
