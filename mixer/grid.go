package mixer

import "time"

// A view shows a source's newest picture once per tick, and a sender's
// frames come as regularly as the ticks do, on the same machine clock. A
// source whose pictures land right at the ticks then loses one whenever
// two land on the same side of a tick, by a millisecond of scheduling
// either way: a clean party's tile was seen at 12.6 fps of 15 for a whole
// call, with one picture in six replaced before a view drew it. So the
// views of one mixer tick together, on its frameGrid, and a source that
// had a picture skipped plays its pictures out a little clear of the
// ticks for a while. Only then: a picture ready just before a tick, moved
// past it, waits a whole tick more, which a source that loses none need
// not pay.
const (
	// clearOfTicksFor is how long a skipped picture keeps its source
	// clear of the ticks.
	clearOfTicksFor = 30 * time.Second
	// beforeTick: a picture ready this close before a tick may still be
	// decoding, or not yet released, when the views read it.
	beforeTick = 10 * time.Millisecond
	// afterTick: a view's tick may come this late.
	afterTick = 5 * time.Millisecond
)

// frameGrid is when a mixer's views tick: epoch plus whole periods. Each
// mixer has its own epoch, so that calls' views do not all encode at
// once.
type frameGrid struct {
	epoch  time.Time
	period time.Duration
}

// next is the first tick after now.
func (g frameGrid) next(now time.Time) time.Time {
	if now.Before(g.epoch) {
		return g.epoch
	}
	return g.epoch.Add((now.Sub(g.epoch)/g.period + 1) * g.period)
}

// clear returns t, or, when a picture ready at t would be too close to a
// tick for every view to see it one tick apart from the next, the moment
// just after that tick. A zero grid moves nothing.
func (g frameGrid) clear(t time.Time) time.Time {
	if g.period == 0 {
		return t
	}
	before, after := min(beforeTick, g.period/6), min(afterTick, g.period/12)
	since := t.Sub(g.epoch) % g.period
	if since < 0 {
		since += g.period
	}
	switch {
	case since < after:
		return t.Add(after - since)
	case since > g.period-before:
		return t.Add(g.period - since + after)
	}
	return t
}

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
