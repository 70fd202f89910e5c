package mixer

import (
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// frameBuilder turns a video track's packets into frames as soon as each
// frame is whole. Packets that come in order, frame after frame, are
// joined here the moment a frame's last packet is in. After a gap or a
// packet out of order, pion's sample builder takes over, so that
// retransmissions fill holes and what never comes is counted as dropped,
// until a whole frame again follows everything before it.
//
// Pion's builder alone would hold each complete frame until the next
// frame's first packet arrives (to learn its duration), a frame interval
// of delay that a mixer cannot afford, and its Flush mishandles a frame
// of several packets; so it is flushed only to hand back over, and then
// replaced.
type frameBuilder struct {
	maxLate   uint16
	depack    rtp.Depacketizer
	clockRate uint32
	packets   *packetPool
	endsFrame func(*rtp.Packet) bool // the frame's last packet

	builder *samplebuilder.SampleBuilder // nil while packets come in order

	started    bool
	prev       uint16        // last sequence number pushed
	frameStart uint16        // first sequence number of the frame being built
	contiguous bool          // its packets so far came in order
	prevEndTS  uint32        // timestamp of the frame that ends at frameStart-1
	prevOut    bool          // that frame, and all before it, has left
	frame      []*rtp.Packet // in order: the frame being built
	ready      []*media.Sample
	sample     media.Sample // the last frame joined here, reused
	data       []byte       // its bytes, reused
	dropped    uint16       // packets dropped here since the last sample
}

func newFrameBuilder(maxLate uint16, d rtp.Depacketizer, clockRate uint32, packets *packetPool,
	endsFrame func(*rtp.Packet) bool) *frameBuilder {
	return &frameBuilder{maxLate: maxLate, depack: d, clockRate: clockRate, packets: packets, endsFrame: endsFrame}
}

// push takes a packet; pop then returns what completed. A sample is valid
// until the next push.
func (b *frameBuilder) push(pkt *rtp.Packet) {
	seq, prev := pkt.SequenceNumber, b.prev
	inOrder := !b.started || seq == prev+1
	if !b.started || seq-prev < 0x8000 { // newer than anything so far
		b.prev = seq
	}
	b.started = true
	if b.builder == nil && inOrder && len(pkt.Payload) == 0 {
		// Padding (a sender probing bandwidth): it only takes a sequence
		// number, and in a frame it would look like one with no start.
		b.packets.put(pkt)
		return
	}
	if b.builder == nil && (!inOrder || b.cannotTake(pkt)) {
		b.handOver(prev)
	}
	if b.builder != nil {
		b.pushToPion(pkt, inOrder)
		return
	}
	b.frame = append(b.frame, pkt)
	if b.endsFrame(pkt) {
		b.join()
	}
}

// cannotTake reports whether pkt cannot belong to the frame being built,
// as its picture is another or the frame is already as long as a builder
// waits: its end was never marked. Pion's builder then bounds it, and
// ends frames where their timestamps change.
func (b *frameBuilder) cannotTake(pkt *rtp.Packet) bool {
	return len(b.frame) > 0 && (pkt.Timestamp != b.frame[0].Timestamp || len(b.frame) >= int(b.maxLate))
}

// join makes a sample of the frame's packets, which came in order after
// everything before them.
func (b *frameBuilder) join() {
	b.data = b.data[:0]
	ok := b.depack.IsPartitionHead(b.frame[0].Payload)
	for _, p := range b.frame {
		payload, err := b.depack.Unmarshal(p.Payload)
		ok = ok && err == nil
		b.data = append(b.data, payload...)
	}
	if ok {
		b.sample = media.Sample{Data: b.data, PacketTimestamp: b.frame[0].Timestamp, PrevDroppedPackets: b.dropped}
		b.ready = append(b.ready, &b.sample)
		b.dropped = 0
	} else {
		b.dropped += uint16(len(b.frame)) // the frame's start was lost before the stream reached us
	}
	b.releaseFrame()
}

func (b *frameBuilder) releaseFrame() {
	for i, p := range b.frame {
		b.packets.put(p)
		b.frame[i] = nil
	}
	b.frame = b.frame[:0]
}

// handOver gives the frame being built to a new pion builder, which takes
// the packets from here on. Everything up to the frame (or, between
// frames, up to prev) has left already, joined or dropped here.
func (b *frameBuilder) handOver(prev uint16) {
	b.builder = samplebuilder.New(b.maxLate, b.depack, b.clockRate, samplebuilder.WithPacketReleaseHandler(b.release))
	b.frameStart, b.contiguous = prev+1, true
	if len(b.frame) > 0 {
		b.frameStart = b.frame[0].SequenceNumber
	}
	b.prevOut = true
	for i, p := range b.frame {
		b.builder.Push(p)
		b.frame[i] = nil
	}
	b.frame = b.frame[:0]
}

// pushToPion feeds pion's builder, and takes the packets back once a whole
// frame follows everything pion has given out. (Pion lets go of the
// packets it has given out lazily, one per push, so what it has released
// says nothing of that: after a burst it stays behind for good.)
func (b *frameBuilder) pushToPion(pkt *rtp.Packet, inOrder bool) {
	seq, ts := pkt.SequenceNumber, pkt.Timestamp
	if !inOrder {
		b.contiguous = false
	}
	last := b.endsFrame(pkt)
	b.builder.Push(pkt) // pkt may be released (and reused) from here on
	b.takeFromPion()
	if !last {
		return
	}
	if b.contiguous && b.prevOut {
		// Caught up: this frame follows everything given out. Flush gives
		// it out; the builder, confused by Flush, is dropped, and what it
		// counted as dropped since that frame with it.
		b.builder.Flush()
		b.takeFromPion()
		b.builder = nil
		return
	}
	b.frameStart, b.contiguous = seq+1, true
	b.prevEndTS, b.prevOut = ts, false
}

// takeFromPion queues the frames pion's builder has finished. Pion gives
// frames out in order, so once the frame before the one being built is
// out, everything before that is out or dropped.
func (b *frameBuilder) takeFromPion() {
	for s := b.builder.Pop(); s != nil; s = b.builder.Pop() {
		b.ready = append(b.ready, s)
		if s.PacketTimestamp == b.prevEndTS {
			b.prevOut = true
		}
	}
}

func (b *frameBuilder) pop() *media.Sample {
	if len(b.ready) == 0 {
		return nil
	}
	s := b.ready[0]
	n := copy(b.ready, b.ready[1:])
	b.ready[n] = nil
	b.ready = b.ready[:n]
	return s
}

func (b *frameBuilder) release(p *rtp.Packet) { b.packets.put(p) }

// lastOfVideoFrame: the RTP marker bit ends a video frame (RFC 7741).
func lastOfVideoFrame(p *rtp.Packet) bool { return p.Marker }
