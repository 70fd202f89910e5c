package mixer

import "time"

const (
	// jitterTarget is the fewest 20 ms frames a voice buffers before it
	// plays: the frame to play and the next, whose in-band FEC rebuilds
	// the first if it is lost.
	jitterTarget = 2
	// jitterMax bounds the delay: with more frames waiting, the oldest are
	// dropped so that latency cannot creep up.
	jitterMax = 6
	// jitterSlots holds jitterMax frames plus room for reordering.
	jitterSlots = 8
	// restartGap: a packet this far behind the playout point is no late
	// packet but a sender that started its sequence numbers again.
	restartGap = 64
	// maxOpusPacket is the largest Opus packet (RFC 6716, 3.4).
	maxOpusPacket = 1275
	// shrinkTicks: a buffer that held more frames than its target at
	// every tick this long (2 s) drops one, to bring the delay back down
	// after jitter eased.
	shrinkTicks = 100
)

// playout says what a playoutBuffer has for the current 20 ms.
type playout int

const (
	playoutPacket playout = iota // a packet to decode
	playoutLost                  // the frame is lost: later ones are here, too far ahead to wait for it
	playoutEmpty                 // nothing to play yet (not started, underrun, or a late packet waited for)
	playoutQuiet                 // a packet of silence: nothing to decode
)

// playoutBuffer is a voice's jitter buffer: Opus packets by RTP sequence
// number, played one per 20 ms tick. Every Opus packet is a whole frame,
// so nothing is assembled. Its depth follows the jitter the packets
// arrive with (jitterEstimate): it starts playing once target frames are
// buffered, and a missing frame is lost (concealed in its place, from the
// next packet's FEC when it is here) once target frames wait after it;
// before that it is late, and the buffer waits for it a tick, which
// deepens the delay to what the jitter needs. A packet that comes after
// its frame was played is dropped. pion's jitterbuffer would allocate a
// node per packet and keeps late packets forever, so this small ring
// serves instead.
type playoutBuffer struct {
	slots    [jitterSlots]opusPacket // by sequence number modulo jitterSlots
	jitter   jitterEstimate
	started  bool
	played   bool // a frame went out since the last restart
	playing  bool
	next     uint16 // sequence number of the frame to play next
	high     uint16 // highest sequence number buffered
	spare    int    // the fewest frames buffered beyond target at a tick, lately
	ticks    int    // ticks since spare was last reset
	late     int    // packets that came after their frame was played
	overruns int    // frames dropped to keep latency bounded
}

type opusPacket struct {
	data  [maxOpusPacket]byte
	n     int
	seq   uint16
	quiet bool // silence, by the sender's word (see voice.buffer)
}

// push buffers the packet with sequence number seq and RTP timestamp ts,
// which arrived at at and is silence if quiet; it reports false for a
// packet too late to be played. A sender in DTX sends a packet every
// 400 ms or so, with sequence numbers unbroken: the buffer runs dry
// between them, as it should, since no frame is lost.
func (b *playoutBuffer) push(seq uint16, ts uint32, at time.Time, data []byte, quiet bool) bool {
	if !b.started || int16(seq-b.next) < -restartGap {
		b.restart(seq)
	}
	b.jitter.add(ts, at)
	if int16(seq-b.next) < 0 {
		if b.played || int16(b.high-seq) >= jitterMax {
			b.late++
			return false
		}
		b.next = seq // reordered ahead of the very first: nothing played yet
	}
	if int16(seq-b.high) > 0 {
		b.high = seq
	}
	slot := &b.slots[seq%jitterSlots]
	slot.n, slot.seq, slot.quiet = copy(slot.data[:], data), seq, quiet
	b.trim()
	return true
}

func (b *playoutBuffer) restart(seq uint16) {
	for i := range b.slots {
		b.slots[i].n = 0
	}
	b.jitter = jitterEstimate{}
	b.started, b.played, b.playing, b.next, b.high = true, false, false, seq, seq
	b.spare, b.ticks = jitterMax, 0
}

// trim drops the oldest frames when more than jitterMax are waiting; after
// a jump in sequence numbers that is everything before the newest ones.
// Being over the budget, it also skips missing frames at the front rather
// than conceal them.
func (b *playoutBuffer) trim() {
	if b.depth() <= jitterMax {
		return
	}
	next := b.high - jitterMax + 1
	for i := range b.slots {
		if slot := &b.slots[i]; slot.n > 0 && int16(slot.seq-next) < 0 {
			slot.n = 0
			b.overruns++
		}
	}
	for next != b.high && !b.has(next) {
		next++
	}
	b.next = next
}

// depth is how many frames, present or missing, wait to be played.
func (b *playoutBuffer) depth() int {
	if !b.started {
		return 0
	}
	return int(int16(b.high-b.next)) + 1
}

func (b *playoutBuffer) has(seq uint16) bool {
	slot := &b.slots[seq%jitterSlots]
	return slot.n > 0 && slot.seq == seq
}

// pop takes the current frame's packet into dst. After an underrun it
// waits until the target depth is buffered again.
func (b *playoutBuffer) pop(dst []byte) (int, playout) {
	target := b.jitter.target()
	if !b.playing {
		if b.depth() < target {
			return 0, playoutEmpty
		}
		b.playing = true
	}
	if b.depth() <= 0 {
		b.playing = false
		return 0, playoutEmpty
	}
	b.shrink(target)
	if !b.has(b.next) && b.depth() < target {
		return 0, playoutEmpty // late, not lost yet: wait for it a tick
	}
	seq := b.next
	b.next++
	b.played = true
	if !b.has(seq) {
		return 0, playoutLost
	}
	slot := &b.slots[seq%jitterSlots]
	n := copy(dst, slot.data[:slot.n])
	slot.n = 0
	if slot.quiet {
		return n, playoutQuiet
	}
	return n, playoutPacket
}

// shrink drops the frame to play next if more than target frames were
// buffered at every tick for shrinkTicks: the delay a jitter spike built
// up goes once the jitter has eased.
func (b *playoutBuffer) shrink(target int) {
	b.spare = min(b.spare, b.depth()-target)
	if b.ticks++; b.ticks < shrinkTicks {
		return
	}
	if b.spare > 0 && b.has(b.next+1) {
		b.slots[b.next%jitterSlots].n = 0 // the slot holds next or nothing: fewer than jitterSlots wait
		b.next++
		b.overruns++
	}
	b.spare, b.ticks = jitterMax, 0
}

// peek copies the packet of the frame to play next into dst, if it is
// here: after a loss its in-band FEC can rebuild the lost frame.
func (b *playoutBuffer) peek(dst []byte) (int, bool) {
	if b.depth() <= 0 || !b.has(b.next) {
		return 0, false
	}
	slot := &b.slots[b.next%jitterSlots]
	return copy(dst, slot.data[:slot.n]), true
}

// jitterWindow is how many packets the jitter estimate looks back over:
// about 2.5 s of audio.
const jitterWindow = 128

// jitterEstimate follows how unevenly a voice's packets arrive: the
// spread of their transit times (arrival less RTP timestamp, against an
// arbitrary origin) over the last jitterWindow packets, and from it the
// frames to buffer: enough that a packet as late as any lately still
// arrives before its tick, and the next packet's FEC with it.
type jitterEstimate struct {
	transit [jitterWindow]time.Duration // a ring of the latest
	n, i    int
	origin  time.Time
	lastTS  uint32
	ts      int64 // the RTP timestamp of the last packet, unwrapped
	frames  int
}

func (j *jitterEstimate) add(ts uint32, at time.Time) {
	if j.n == 0 {
		j.origin, j.lastTS, j.ts = at, ts, 0
	}
	j.ts += int64(int32(ts - j.lastTS))
	j.lastTS = ts
	j.transit[j.i] = at.Sub(j.origin) - time.Duration(j.ts)*time.Millisecond/48 // Opus's RTP clock is 48 kHz
	j.i = (j.i + 1) % jitterWindow
	j.n = min(j.n+1, jitterWindow)
	lo, hi := j.transit[0], j.transit[0]
	for _, t := range j.transit[:j.n] {
		lo, hi = min(lo, t), max(hi, t)
	}
	j.frames = min(jitterMax, int((hi-lo+mixPeriod-1)/mixPeriod)+1)
}

// target is how many frames to buffer: at least jitterTarget.
func (j *jitterEstimate) target() int { return max(jitterTarget, j.frames) }
