package mixer

import (
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// frameBuilder is pion's sample builder, released early. On its own the
// builder keeps a complete frame until the next frame's first packet
// arrives (to learn the frame's duration): a whole frame interval of
// delay, 67 ms at 15 fps, that a mixer cannot afford. So when a frame's
// last packet is in, every packet of the frame arrived in order, and
// everything before it has already left the builder, the frame is flushed
// at once. After loss or reordering the builder's own rules apply until it
// has caught up, so retransmissions still fill holes.
//
// Only frames of one packet are flushed. The builder's Flush mishandles a
// frame of several (pion v4.2): after building the sample it goes over
// the frame's later packets again, counts them as dropped, and can leave
// its place past the next frame, which it then drops unseen. A source
// takes dropped packets for loss and waits for a key frame, so every
// camera frame of more than one packet stopped the picture. Frames of
// several packets therefore leave when the next frame's first packet
// comes, a frame interval later.
type frameBuilder struct {
	builder   *samplebuilder.SampleBuilder
	packets   *packetPool
	endsFrame func(*rtp.Packet) bool // the frame's last packet

	started      bool
	prev         uint16 // last sequence number pushed
	frameStart   uint16 // first sequence number of the frame being built
	contiguous   bool   // its packets so far came in order
	lastReleased uint16 // the builder let go of everything up to here
	released     bool
}

func newFrameBuilder(maxLate uint16, d rtp.Depacketizer, clockRate uint32, packets *packetPool,
	endsFrame func(*rtp.Packet) bool) *frameBuilder {
	b := &frameBuilder{packets: packets, endsFrame: endsFrame}
	b.builder = samplebuilder.New(maxLate, d, clockRate, samplebuilder.WithPacketReleaseHandler(b.release))
	return b
}

// push hands a packet to the builder; pop then returns what completed.
func (b *frameBuilder) push(pkt *rtp.Packet) {
	seq, last := pkt.SequenceNumber, b.endsFrame(pkt)
	switch {
	case !b.started:
		b.started, b.frameStart, b.contiguous = true, seq, true
		b.lastReleased, b.released = seq-1, true
	case seq == b.prev+1:
	default:
		b.contiguous = false
	}
	b.prev = seq
	b.builder.Push(pkt) // pkt may be released (and reused) from here on
	if last {
		if seq == b.frameStart && b.released && b.lastReleased == b.frameStart-1 {
			b.builder.Flush()
		}
		b.frameStart, b.contiguous = seq+1, true
	}
}

func (b *frameBuilder) pop() *media.Sample { return b.builder.Pop() }

func (b *frameBuilder) release(p *rtp.Packet) {
	if !b.released || int16(p.SequenceNumber-b.lastReleased) > 0 {
		b.lastReleased, b.released = p.SequenceNumber, true
	}
	b.packets.put(p)
}

// lastOfVideoFrame: the RTP marker bit ends a video frame (RFC 7741).
func lastOfVideoFrame(p *rtp.Packet) bool { return p.Marker }
