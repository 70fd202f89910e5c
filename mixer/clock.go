package mixer

import (
	"sync"
	"time"
)

// Clock tells the time and ticks. Views, the audio mix and the sfu
// placeholder tick on one, and key frame requests and the sizes views show
// are timed by it, so that tests can step time by hand (Params.Clock,
// SFUOutputParams.Clock). How long media work took, as the Observer hears
// it, is measured on the wall clock whatever the Clock: it times the CPU,
// not the schedule.
type Clock interface {
	Now() time.Time
	// NewTicker ticks every d from now on, dropping ticks a slow receiver
	// missed, as time.NewTicker does.
	NewTicker(d time.Duration) Ticker
	// NewTickerFrom ticks at first, or now if that has passed, and
	// every d after.
	NewTickerFrom(first time.Time, d time.Duration) Ticker
	// NewTimer fires once, d from now, as time.NewTimer does.
	NewTimer(d time.Duration) Timer
}

// Timer is a running NewTimer.
type Timer interface {
	// C delivers the one tick.
	C() <-chan time.Time
	// Reset makes the timer fire d from now instead, dropping a tick
	// not yet read, as time.Timer's Reset does.
	Reset(d time.Duration)
	// Stop ends the timer.
	Stop()
}

// Ticker is a running NewTicker.
type Ticker interface {
	// C delivers the ticks.
	C() <-chan time.Time
	// Stop ends the ticks.
	Stop()
}

// wallClock is the real clock, the default.
type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTicker(d time.Duration) Ticker { return wallTicker{time.NewTicker(d)} }

type wallTicker struct{ t *time.Ticker }

func (w wallTicker) C() <-chan time.Time { return w.t.C }

func (w wallTicker) Stop() { w.t.Stop() }

// NewTickerFrom sets a timer for each tick in turn, each for its exact
// time: a late wake-up delays one tick, never the ones after it, which
// a time.Ticker started late would all be.
func (wallClock) NewTickerFrom(first time.Time, d time.Duration) Ticker {
	t := &wallGridTicker{c: make(chan time.Time, 1), next: first, period: d}
	// A first tick already due fires at once: it must find the timer set.
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timer = time.AfterFunc(time.Until(first), t.tick)
	return t
}

// wallGridTicker is a wall clock's NewTickerFrom.
type wallGridTicker struct {
	c      chan time.Time
	period time.Duration

	mu      sync.Mutex
	next    time.Time // the tick the timer is set for
	timer   *time.Timer
	stopped bool
}

func (t *wallGridTicker) C() <-chan time.Time { return t.c }

// tick delivers a tick, dropped if the last is unread, and sets the timer
// for the next one still ahead.
func (t *wallGridTicker) tick() {
	now := time.Now()
	select {
	case t.c <- now:
	default:
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	for !t.next.After(now) {
		t.next = t.next.Add(t.period)
	}
	t.timer.Reset(t.next.Sub(now))
}

func (t *wallGridTicker) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.timer.Stop()
}

func (wallClock) NewTimer(d time.Duration) Timer { return wallTimer{time.NewTimer(d)} }

type wallTimer struct{ t *time.Timer }

func (w wallTimer) C() <-chan time.Time { return w.t.C }

func (w wallTimer) Reset(d time.Duration) { w.t.Reset(d) }

func (w wallTimer) Stop() { w.t.Stop() }

// drivenClock is the clock of media driven by hand (Offline, tests): it
// reads the driver's time, and its timers never fire, as frames held for
// their time are released by the next frame's push.
type drivenClock func() time.Time

func (f drivenClock) Now() time.Time { return f() }

func (drivenClock) NewTicker(time.Duration) Ticker { return idleTimer{} }

func (drivenClock) NewTickerFrom(time.Time, time.Duration) Ticker { return idleTimer{} }

func (drivenClock) NewTimer(time.Duration) Timer { return idleTimer{} }

// idleTimer never fires.
type idleTimer struct{}

func (idleTimer) C() <-chan time.Time { return nil }

func (idleTimer) Reset(time.Duration) {}

func (idleTimer) Stop() {}
