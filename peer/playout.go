package peer

import (
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

const (
	// playoutDelay is how long after its earliest possible arrival a
	// received audio frame is played: a small fixed jitter buffer.
	playoutDelay = 60 * time.Millisecond
	// playoutFrame is one received audio frame, 20 ms of Opus.
	playoutFrame     = 20 * time.Millisecond
	playoutFrameTick = codec.FrameSamples // in 48 kHz RTP time
	// playoutWindow is how many frames' arrivals are remembered.
	playoutWindow = 512
)

// playout judges, for each 20 ms frame of a received audio stream,
// whether a receiver playing it with a small jitter buffer would have had
// to conceal it. Frame k (RTP time first + 960k) plays at base + 20 ms·k.
// base follows the fastest path: it moves earlier whenever a frame
// arrives more than playoutDelay before its play time (so the buffer
// holds playoutDelay above the earliest arrival), and later when the
// buffer runs dry: a frame that arrives after its play time is waited
// for, each 20 ms of the wait concealed, and played on arrival, the later
// frames with it (a sender whose clock falls behind costs a frame per 20
// ms it falls, not every frame after). Frame k is heard if its packet
// arrived by its play time, or rebuilt if packet k+1 did and carries
// in-band FEC (Opus LBRR, opusLBRR); otherwise it is concealed. A frame
// is judged once its play time has passed, as a later packet arrives
// (until then it counts in neither figure). Only its receive loop uses
// it.
type playout struct {
	started   bool
	first     uint32    // RTP time of frame 0
	base      time.Time // when frame 0 plays
	next      int       // the first frame not judged yet
	arrivals  [playoutWindow]frameArrival
	due       int // frames played: judged, and concealed waits
	concealed int // of those, concealed
	rebuilt   int // of those, rebuilt from the next packet's FEC
	lastSeq   uint16
	lastFrame int
}

// frameArrival is when a frame's packet arrived and whether it carried
// the frame before it (FEC).
type frameArrival struct {
	frame int
	at    time.Time
	fec   bool
	dtx   bool // no packet was sent for it: the sender was in DTX
}

// packet notes an audio packet of RTP time ts arriving at at, with in-band
// FEC for the frame before it if fec, and judges the frames whose play
// time has passed by then.
func (p *playout) packet(seq uint16, ts uint32, at time.Time, fec bool) {
	if !p.started {
		p.started, p.first, p.base = true, ts, at.Add(playoutDelay)
		p.lastSeq, p.lastFrame = seq-1, -1
	}
	k := int(int32(ts-p.first)) / playoutFrameTick
	if k < p.next {
		return // too late: judged already
	}
	// More RTP time passed than sequence numbers: the frames between
	// that no lost packet accounts for were not sent (DTX), and a
	// receiver plays comfort noise for them, not concealment. The lost
	// are taken to be the ones just before k, a talkspurt's first.
	lostPackets, missing := int(int16(seq-p.lastSeq))-1, k-p.lastFrame-1
	afterDTX := lostPackets >= 0 && missing > lostPackets
	if afterDTX {
		for j := max(p.lastFrame+1, p.next, k-playoutWindow+1); j < k-lostPackets; j++ {
			p.arrivals[j%playoutWindow] = frameArrival{frame: j, dtx: true}
		}
	}
	if int16(seq-p.lastSeq) > 0 {
		p.lastSeq, p.lastFrame = seq, k
	}
	for k-p.next >= playoutWindow-1 {
		p.judge(p.next) // so far behind that its slot is needed
	}
	p.arrivals[k%playoutWindow] = frameArrival{frame: k, at: at, fec: fec}
	if b := at.Add(playoutDelay - time.Duration(k)*playoutFrame); b.Before(p.base) {
		p.base = b
	}
	for p.next < k && !p.playsAt(p.next).After(at) {
		p.judge(p.next)
	}
	if p.next == k && p.playsAt(k).Before(at) {
		// The buffer ran dry waiting for k: conceal the wait, play k now.
		// After DTX the wait is comfort noise, as before it.
		wait := int((at.Sub(p.playsAt(k)) + playoutFrame - 1) / playoutFrame)
		if !afterDTX {
			p.due += wait
			p.concealed += wait
		}
		p.base = p.base.Add(time.Duration(wait) * playoutFrame)
	}
}

// playsAt is when frame k plays.
func (p *playout) playsAt(k int) time.Time {
	return p.base.Add(time.Duration(k) * playoutFrame)
}

// judge decides frame k, the next to judge.
func (p *playout) judge(k int) {
	deadline := p.playsAt(k)
	own, next := p.arrivals[k%playoutWindow], p.arrivals[(k+1)%playoutWindow]
	heard := own.frame == k && !own.at.IsZero() && !own.at.After(deadline)
	rebuilt := next.frame == k+1 && !next.at.IsZero() && next.fec && !next.at.After(deadline)
	switch {
	case own.frame == k && own.dtx:
		p.next = k + 1
		return // not sent: nothing to play or conceal
	case heard:
	case rebuilt:
		p.rebuilt++
	default:
		p.concealed++
	}
	p.due++
	p.next = k + 1
}

// opusLBRR reports whether an Opus packet carries in-band FEC for the
// frame before it (RFC 6716, 4.2.3-4.2.4): its SILK layer's LBRR flag,
// which follows one voice activity flag per SILK frame at the start of
// the range coder. Those flags are coded with probability 1/2 each, so
// they are the first bits of the frame's data. Only packets of one
// frame, or two of equal size, are looked into (what WebRTC's 20 ms
// packets are); CELT-only packets carry no FEC.
func opusLBRR(pkt []byte) bool {
	if len(pkt) < 2 || pkt[0]&3 > 1 {
		return false
	}
	config := int(pkt[0] >> 3)
	var silkFrames int
	switch {
	case config < 12: // SILK: 10, 20, 40 or 60 ms of 20 ms SILK frames
		silkFrames = []int{1, 1, 2, 3}[config%4]
	case config < 16: // hybrid: one 10 or 20 ms SILK frame
		silkFrames = 1
	default:
		return false
	}
	bit := func(i int) bool { return pkt[1]&(0x80>>i) != 0 }
	if bit(silkFrames) { // mid (or mono) channel
		return true
	}
	stereo := pkt[0]&4 != 0
	return stereo && 2*silkFrames+1 < 8 && bit(2*silkFrames+1)
}
