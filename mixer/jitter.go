package mixer

const (
	// jitterTarget is how many 20 ms frames a voice buffers before it
	// plays, and again after an underrun.
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
)

// playout says what a playoutBuffer has for the current 20 ms.
type playout int

const (
	playoutPacket playout = iota // a packet to decode
	playoutLost                  // the frame is missing but later ones are here: conceal it
	playoutEmpty                 // nothing buffered (underrun or not started)
)

// playoutBuffer is a voice's jitter buffer: Opus packets by RTP sequence
// number, played one per 20 ms tick. Every Opus packet is a whole frame,
// so nothing is assembled; a missing frame is reported in its place
// (playoutLost) as soon as a later one is buffered, instead of holding
// the later ones back, and a packet that comes after its frame was played
// is dropped. pion's jitterbuffer would allocate a node per packet and
// keeps late packets forever, so this small ring serves instead.
type playoutBuffer struct {
	slots    [jitterSlots]opusPacket // by sequence number modulo jitterSlots
	started  bool
	played   bool // a frame went out since the last restart
	playing  bool
	next     uint16 // sequence number of the frame to play next
	high     uint16 // highest sequence number buffered
	late     int    // packets that came after their frame was played
	overruns int    // frames dropped to keep latency bounded
}

type opusPacket struct {
	data [maxOpusPacket]byte
	n    int
	seq  uint16
}

// push buffers the packet with sequence number seq; it reports false for a
// packet too late to be played.
func (b *playoutBuffer) push(seq uint16, data []byte) bool {
	if !b.started || int16(seq-b.next) < -restartGap {
		b.restart(seq)
	}
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
	slot.n, slot.seq = copy(slot.data[:], data), seq
	b.trim()
	return true
}

func (b *playoutBuffer) restart(seq uint16) {
	for i := range b.slots {
		b.slots[i].n = 0
	}
	b.started, b.played, b.playing, b.next, b.high = true, false, false, seq, seq
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
// waits until jitterTarget frames are buffered again.
func (b *playoutBuffer) pop(dst []byte) (int, playout) {
	if !b.playing {
		if b.depth() < jitterTarget {
			return 0, playoutEmpty
		}
		b.playing = true
	}
	if b.depth() <= 0 {
		b.playing = false
		return 0, playoutEmpty
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
	return n, playoutPacket
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
