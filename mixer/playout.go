package mixer

import (
	"slices"
	"time"
)

// A view shows a source's latest picture once per tick, so two frames
// decoded within one tick show as one: a source whose frames come bunched,
// by network jitter or behind a packet NACK had to fetch again, loses
// pictures at every viewer although none was lost. The playout schedule
// decodes each frame at the time its RTP timestamp says, behind the time
// frames have lately taken to come by a delay that covers most of them
// (as a browser's video jitter buffer does), so that frames reach the
// views one frame interval apart.
const (
	// maxPlayoutDelay bounds the delay: a frame later than this behind
	// the fastest decodes as it comes, a picture lost rather than every
	// picture late.
	maxPlayoutDelay = 200 * time.Millisecond
	// playoutWindow frames (about 4 s at 15 fps) set the delay, which
	// covers playoutQuantile of them.
	playoutWindow   = 64
	playoutQuantile = 0.98
	// playoutDrain is how much the delay comes down by per frame once
	// the frames it covered have left the window: a step down would
	// bunch the frames it spans.
	playoutDrain      = 2 * time.Millisecond
	playoutDrainShare = 16
	// playoutWarmup: a source's first second of frames decodes as it
	// comes and sets no delay. They often come late, behind the
	// connection's set-up: a schedule started from them held every frame
	// after up to 170 ms, for the seconds its delay took to come down.
	playoutWarmup = time.Second
	// playoutResync: a frame this far off the schedule means the
	// sender's timestamps started again; the schedule does too.
	playoutResync = time.Second
	// playoutSlack: a frame due this soon decodes at once, on the
	// ingest goroutine, as every frame on a clean path does.
	playoutSlack = 4 * time.Millisecond
	// maxHeldFrames bounds the frames held (maxPlayoutDelay needs
	// about 4 at 15 fps; a screen share's bursts may need more).
	maxHeldFrames = 32
)

// videoClockRate is VP8's RTP clock (RFC 7741).
const videoClockRate = 90000

// playoutSchedule says when each of a source's frames is due. A frame's
// transit is when it came less when its timestamp says it was taken, both
// counted from the source's first frame; a frame is due at its timestamp's
// time plus the delay, which is the transit playoutQuantile of the recent
// frames kept to, so those decode on time and in step with their
// timestamps whenever they came.
type playoutSchedule struct {
	started  bool
	warm     bool          // past playoutWarmup
	origin   time.Time     // when the first frame came
	lastTS   uint32        // the last frame's RTP timestamp
	elapsed  time.Duration // RTP time from the first frame to the last
	delay    time.Duration // the current delay
	lastDue  time.Time
	transits [playoutWindow]time.Duration // a ring of the recent frames'
	n, next  int
	sorted   [playoutWindow]time.Duration // scratch for the quantile
}

// due returns when a frame stamped ts that came at arrival is due.
func (p *playoutSchedule) due(arrival time.Time, ts uint32) time.Time {
	if !p.started {
		p.restart(arrival, ts)
	}
	p.elapsed += time.Duration(int32(ts-p.lastTS)) * time.Second / videoClockRate
	p.lastTS = ts
	if !p.warm {
		if p.elapsed < playoutWarmup {
			p.lastDue = later(p.lastDue, arrival)
			return p.lastDue
		}
		p.restart(arrival, ts)
		p.warm = true
	}
	transit := arrival.Sub(p.origin) - p.elapsed
	if d := transit - p.delay; d > playoutResync || d < -playoutResync {
		p.restart(arrival, ts)
		transit = 0
	}
	p.record(transit)
	p.follow(p.target())
	due := p.origin.Add(p.elapsed + p.delay)
	if due.Before(p.lastDue) {
		due = p.lastDue // frames decode in order
	}
	p.lastDue = due
	return due
}

// restart makes the frame stamped ts, come at arrival, the schedule's
// first.
func (p *playoutSchedule) restart(arrival time.Time, ts uint32) {
	*p = playoutSchedule{started: true, origin: arrival, lastTS: ts, lastDue: p.lastDue}
}

func (p *playoutSchedule) record(transit time.Duration) {
	p.transits[p.next] = transit
	p.next = (p.next + 1) % playoutWindow
	p.n = min(p.n+1, playoutWindow)
}

// target is the delay that the recent frames ask for: their quantile's
// transit, at most maxPlayoutDelay behind the fastest of them.
func (p *playoutSchedule) target() time.Duration {
	recent := p.sorted[:p.n]
	copy(recent, p.transits[:p.n])
	slices.Sort(recent)
	q := recent[int(playoutQuantile*float64(p.n-1))]
	return min(q, recent[0]+maxPlayoutDelay)
}

// follow moves the delay to target: up at once, so that the frames that
// asked for it are on time, and down by a sixteenth of the way a frame,
// at least playoutDrain.
func (p *playoutSchedule) follow(target time.Duration) {
	if target >= p.delay {
		p.delay = target
		return
	}
	p.delay = max(target, p.delay-max(playoutDrain, (p.delay-target)/playoutDrainShare))
}

// heldFrame is a frame waiting for its time, or, with lost set, news that
// the frames after it follow a loss.
type heldFrame struct {
	due  time.Time
	data []byte
	lost bool
}

// heldFrames is a source's queue of frames not due yet, a ring. Frames
// are copied into buffers kept for reuse, last freed first, so that only
// as many are ever made as frames are held at once.
type heldFrames struct {
	ring       [maxHeldFrames]heldFrame
	head, size int
	spare      [][]byte
	largest    int // the largest frame held yet: a buffer made anew is made past it
}

func (q *heldFrames) empty() bool { return q.size == 0 }

func (q *heldFrames) full() bool { return q.size == maxHeldFrames }

// push copies a frame (nil data: a loss) in at the tail. q must not be full.
func (q *heldFrames) push(due time.Time, data []byte, lost bool) {
	var buf []byte
	if n := len(q.spare); n > 0 {
		buf, q.spare = q.spare[n-1], q.spare[:n-1]
	}
	q.largest = max(q.largest, len(data))
	if cap(buf) < len(data) {
		buf = make([]byte, 0, q.largest*5/4)
	}
	f := &q.ring[(q.head+q.size)%maxHeldFrames]
	f.due, f.data, f.lost = due, append(buf[:0], data...), lost
	q.size++
}

// first is the frame at the head, valid until pop. q must not be empty.
func (q *heldFrames) first() *heldFrame { return &q.ring[q.head] }

func (q *heldFrames) pop() {
	f := &q.ring[q.head]
	q.spare = append(q.spare, f.data)
	f.data = nil
	q.head = (q.head + 1) % maxHeldFrames
	q.size--
}
