package mixer

import (
	"math"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"
)

// maxFramePackets bounds one frame: a frame whose end never comes is
// dropped past it. 512 packets hold a 600 KB frame, more than a 4K
// screen's key frame.
const maxFramePackets = 512

// frameBuilder turns a video track's packets into frames as soon as each
// frame is whole. Packets that come in order are joined the moment a
// frame's last packet is in. A packet after a missing one waits, in a
// buffer kept for the source's life (reorder.go), for the missing one:
// a retransmission that fills the hole lets everything after it through
// at once. A hole is lost for good once the packets after it have waited
// lostAfter, or when a newer packet would not fit the buffer, or when a
// whole key frame waits after it, or at once when it spans over staleHole
// of media (an outage, whose repair would be stale): the frame it broke
// is dropped and the packets after it go on, so the source asks for a
// key frame at once.
//
// Pion's sample builder cannot give a hole up early without losing the
// whole frames after it, holds every frame until the next one starts,
// and is 1 MiB to make anew: see docs/performance.md.
type frameBuilder struct {
	depack         rtp.Depacketizer
	packets        *packetPool
	endsFrame      func(*rtp.Packet) bool // the frame's last packet
	startsKeyframe func(payload []byte) bool
	now            func() time.Time // when packets arrive, to time a hole's wait

	// Reordering (reorder.go).
	started bool
	next    uint16 // the sequence number the frame being built takes next
	waiting [reorderSlots]waitingPacket
	held    int       // packets waiting
	since   time.Time // when the oldest packet waiting arrived
	// The media timestamp of the last packet taken, to tell a hole's
	// span; timed once one was.
	lastTimestamp uint32
	timed         bool

	// Joining.
	frame   []*rtp.Packet // in order: the frame being built
	broken  bool          // a packet of the frame being built was given up
	dropped int           // packets given up since the last frame out
	ready   []media.Sample
	bufs    [][]byte // the ready frames' bytes, reused
	popped  int
}

func newFrameBuilder(d rtp.Depacketizer, packets *packetPool, endsFrame func(*rtp.Packet) bool,
	startsKeyframe func([]byte) bool, now func() time.Time) *frameBuilder {
	return &frameBuilder{depack: d, packets: packets, endsFrame: endsFrame, startsKeyframe: startsKeyframe, now: now}
}

// push takes a packet; pop then returns the frames completed, in order,
// and news of packets given up (a sample with PrevDroppedPackets set and
// maybe no data). A sample is valid until the next push after pop has
// returned nil.
func (b *frameBuilder) push(pkt *rtp.Packet) {
	if b.popped == len(b.ready) {
		b.ready, b.popped = b.ready[:0], 0
	}
	if !b.started {
		b.started, b.next = true, pkt.SequenceNumber
	}
	if pkt.SequenceNumber == b.next && b.held == 0 {
		b.next++
		b.take(pkt)
	} else {
		b.reorder(pkt)
	}
	if b.dropped > 0 {
		// News of the loss now, not with the next whole frame: the
		// source asks for a key frame at once.
		b.ready = append(b.ready, media.Sample{PrevDroppedPackets: b.takeDropped()})
	}
}

func (b *frameBuilder) pop() *media.Sample {
	if b.popped == len(b.ready) {
		return nil
	}
	b.popped++
	return &b.ready[b.popped-1]
}

// take adds the packet that follows everything taken so far (or a gap
// breakFrame was told of) to the frame being built.
func (b *frameBuilder) take(p *rtp.Packet) {
	if len(p.Payload) == 0 {
		// Padding (a sender probing bandwidth): it only takes a sequence
		// number, and in a frame it would look like one with no start.
		b.packets.put(p)
		return
	}
	b.lastTimestamp, b.timed = p.Timestamp, true
	if len(b.frame) > 0 && p.Timestamp != b.frame[0].Timestamp {
		b.endFrame() // its end was never marked: the next picture shows where it was
	}
	if len(b.frame) == maxFramePackets {
		b.broken = true
		b.endFrame()
	}
	b.frame = append(b.frame, p)
	if b.endsFrame(p) {
		b.endFrame()
	}
}

// breakFrame tells the joining that packets were given up after the
// frame being built: it cannot be whole.
func (b *frameBuilder) breakFrame() {
	if len(b.frame) > 0 {
		b.broken = true
	}
}

// endFrame gives the frame being built out, or drops it if a packet of it
// was given up or its start never came.
func (b *frameBuilder) endFrame() {
	defer b.releaseFrame()
	if b.broken || !b.depack.IsPartitionHead(b.frame[0].Payload) {
		b.broken = false
		b.dropped += len(b.frame)
		return
	}
	i := len(b.ready)
	if i == len(b.bufs) {
		b.bufs = append(b.bufs, nil)
	}
	data := b.bufs[i][:0]
	for _, p := range b.frame {
		payload, err := b.depack.Unmarshal(p.Payload)
		if err != nil {
			b.dropped += len(b.frame)
			return
		}
		data = append(data, payload...)
	}
	b.bufs[i] = data
	b.ready = append(b.ready, media.Sample{Data: data, PacketTimestamp: b.frame[0].Timestamp,
		PrevDroppedPackets: b.takeDropped()})
}

func (b *frameBuilder) releaseFrame() {
	for i, p := range b.frame {
		b.packets.put(p)
		b.frame[i] = nil
	}
	b.frame = b.frame[:0]
}

func (b *frameBuilder) takeDropped() uint16 {
	n := uint16(min(b.dropped, math.MaxUint16))
	b.dropped = 0
	return n
}

// lastOfVideoFrame: the RTP marker bit ends a video frame (RFC 7741).
func lastOfVideoFrame(p *rtp.Packet) bool { return p.Marker }

// startsVP8Keyframe reports whether an RTP payload of VP8 starts a key
// frame.
func startsVP8Keyframe(payload []byte) bool {
	_, _, key := vp8KeyframeStart(payload)
	return key
}
