package mixer

import (
	"time"

	"github.com/pion/rtp"
)

const (
	// reorderSlots is how far past a missing packet the frame builder
	// keeps packets waiting for it: 512 packets, about 8 s of a 600 kbps
	// camera and 1.5 s of a 4 Mbps screen, far longer than lostAfter.
	reorderSlots = 512
	// lostAfter is how long packets wait for a missing one before it is
	// lost for good. Pion's NACK generator asks for a missing packet
	// every 100 ms, so 300 ms leave room for two asks and their
	// retransmissions on a path whose round trip is under 100 ms; past
	// that, a key frame (one round trip away) is the quicker repair.
	lostAfter = 300 * time.Millisecond
	// staleHole is the most media a hole may span and still be waited
	// for: the frames a repair would bring back after an outage are
	// older than the key frame one round trip away, and showing them
	// would put the tile seconds behind.
	staleHole = 500 * time.Millisecond
)

// waitingPacket is a packet that came after a missing one, and when it
// arrived.
type waitingPacket struct {
	pkt     *rtp.Packet
	arrived time.Time
}

// reorder takes a packet that does not simply follow the last one taken:
// one after a hole, a retransmission filling one, a duplicate, or a
// sender's sequence numbers starting again.
func (b *frameBuilder) reorder(pkt *rtp.Packet) {
	seq := pkt.SequenceNumber
	ahead := seq - b.next
	switch {
	case ahead >= 0x8000 && -ahead <= reorderSlots:
		b.packets.put(pkt) // a duplicate, or too late: its hole was given up
		return
	case ahead >= 0x8000:
		b.restart(seq)
	case ahead >= reorderSlots: // the oldest holes are given up to make room
		for b.held > 0 && seq-b.next >= reorderSlots {
			b.skipTo(b.firstHeld())
			b.drain()
		}
		if seq-b.next >= reorderSlots {
			b.skipTo(seq - reorderSlots + 1)
		}
	}
	if b.hold(pkt) {
		b.drain()
		if start, ok := b.keyframeAfterHole(seq); ok {
			b.skipTo(start) // nothing before a whole key frame is needed
			b.drain()
		}
		if b.held > 0 && b.spansStale(pkt.Timestamp) && b.spansStale(b.heldAt(b.firstHeld()).Timestamp) {
			b.skipTo(b.firstHeld())
			b.drain()
		}
	}
	for b.held > 0 && b.now().Sub(b.since) >= lostAfter {
		b.skipTo(b.firstHeld())
		b.drain()
	}
}

// spansStale reports whether a hole ending at media timestamp ts spans
// more than staleHole since the last packet taken.
func (b *frameBuilder) spansStale(ts uint32) bool {
	const staleTicks = int32(staleHole * videoClockRate / time.Second)
	return b.timed && int32(ts-b.lastTimestamp) > staleTicks
}

// hold keeps pkt waiting in its slot; false if it was there already.
func (b *frameBuilder) hold(pkt *rtp.Packet) bool {
	slot := &b.waiting[pkt.SequenceNumber%reorderSlots]
	if slot.pkt != nil { // the slots hold only next to next+reorderSlots-1: the same packet
		b.packets.put(pkt)
		return false
	}
	slot.pkt, slot.arrived = pkt, b.now()
	if b.held == 0 || slot.arrived.Before(b.since) {
		b.since = slot.arrived
	}
	b.held++
	return true
}

// heldAt is the packet waiting with sequence number seq, or nil.
func (b *frameBuilder) heldAt(seq uint16) *rtp.Packet {
	p := b.waiting[seq%reorderSlots].pkt
	if p == nil || p.SequenceNumber != seq {
		return nil
	}
	return p
}

// drain takes the packets waiting that now follow everything taken.
func (b *frameBuilder) drain() {
	filled := false
	for b.held > 0 {
		slot := &b.waiting[b.next%reorderSlots]
		if slot.pkt == nil {
			break
		}
		p := slot.pkt
		slot.pkt, filled = nil, true
		b.held--
		b.next++
		b.take(p)
	}
	if filled && b.held > 0 {
		b.since = b.oldestArrival()
	}
}

// skipTo gives up every sequence number before to: the packets waiting
// there are dropped, as is the frame they or the missing ones belong to.
func (b *frameBuilder) skipTo(to uint16) {
	b.dropped += int(to - b.next)
	for ; b.held > 0 && b.next != to; b.next++ {
		if slot := &b.waiting[b.next%reorderSlots]; slot.pkt != nil {
			b.packets.put(slot.pkt)
			slot.pkt = nil
			b.held--
		}
	}
	b.next = to
	b.breakFrame()
	if b.held > 0 {
		b.since = b.oldestArrival()
	}
}

// restart gives up every packet waiting, and the frame being built, for
// a sender whose sequence numbers started again far behind.
func (b *frameBuilder) restart(seq uint16) {
	for i := range b.waiting {
		if slot := &b.waiting[i]; slot.pkt != nil {
			b.packets.put(slot.pkt)
			slot.pkt = nil
			b.dropped++
		}
	}
	b.held = 0
	b.next = seq
	b.timed = false
	b.breakFrame()
}

// firstHeld is the sequence number of the first packet waiting; there is
// one.
func (b *frameBuilder) firstHeld() uint16 {
	seq := b.next
	for b.heldAt(seq) == nil {
		seq++
	}
	return seq
}

// oldestArrival is when the packet that has waited longest arrived: the
// hole before it has been known since.
func (b *frameBuilder) oldestArrival() time.Time {
	var oldest time.Time
	for i := range b.waiting {
		if w := &b.waiting[i]; w.pkt != nil && (oldest.IsZero() || w.arrived.Before(oldest)) {
			oldest = w.arrived
		}
	}
	return oldest
}

// keyframeAfterHole reports whether the packet waiting with sequence
// number seq completes a whole key frame, and where that frame starts.
func (b *frameBuilder) keyframeAfterHole(seq uint16) (start uint16, ok bool) {
	p := b.heldAt(seq)
	if p == nil {
		return 0, false
	}
	start = seq
	for q := p; !b.depack.IsPartitionHead(q.Payload); start-- {
		if q = b.heldAt(start - 1); q == nil || q.Timestamp != p.Timestamp {
			return 0, false
		}
	}
	if !b.startsKeyframe(b.heldAt(start).Payload) {
		return 0, false
	}
	for end := seq; ; end++ {
		q := b.heldAt(end)
		switch {
		case q == nil || q.Timestamp != p.Timestamp:
			return 0, false
		case b.endsFrame(q):
			return start, true
		}
	}
}
