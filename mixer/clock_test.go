package mixer

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds a wait for something the code must do: a failing
// test ends with a message rather than hanging.
const testTimeout = 10 * time.Second

// stepClock is a Clock that moves only when the test advances it.
type stepClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*stepTicker
	timers  []*stepTimer
}

func newStepClock() *stepClock { return &stepClock{now: time.Unix(1_700_000_000, 0)} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) NewTicker(d time.Duration) Ticker {
	return c.NewTickerFrom(c.Now().Add(d), d)
}

func (c *stepClock) NewTickerFrom(first time.Time, d time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &stepTicker{clock: c, period: d, next: first, c: make(chan time.Time, 1)}
	c.tickers = append(c.tickers, t)
	return t
}

// Advance moves the clock on by d. A ticker due ticks once, however many of
// its periods d spans, and drops the tick if the last one is still
// unread, as time.Ticker does.
func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		if c.now.Before(t.next) {
			continue
		}
		select {
		case t.c <- c.now:
		default:
		}
		for !c.now.Before(t.next) {
			t.next = t.next.Add(t.period)
		}
	}
	for _, t := range c.timers {
		if t.armed && !c.now.Before(t.at) {
			t.armed = false
			select {
			case t.c <- c.now:
			default:
			}
		}
	}
}

func (c *stepClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &stepTimer{clock: c, at: c.now.Add(d), armed: true, c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	return t
}

// stepTimer is a stepClock's Timer: it fires as Advance passes its time.
type stepTimer struct {
	clock *stepClock
	at    time.Time // guarded by clock.mu, as is armed
	armed bool
	c     chan time.Time
}

func (t *stepTimer) C() <-chan time.Time { return t.c }

func (t *stepTimer) Reset(d time.Duration) {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-t.c:
	default:
	}
	t.at, t.armed = c.now.Add(d), true
}

func (t *stepTimer) Stop() {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	t.armed = false
	c.timers = slices.DeleteFunc(c.timers, func(other *stepTimer) bool { return other == t })
}

// running is how many tickers and timers have not been stopped.
func (c *stepClock) running() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tickers) + len(c.timers)
}

type stepTicker struct {
	clock  *stepClock
	period time.Duration
	next   time.Time // guarded by clock.mu
	c      chan time.Time
}

func (t *stepTicker) C() <-chan time.Time { return t.c }

func (t *stepTicker) Stop() {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, other := range c.tickers {
		if other == t {
			c.tickers = append(c.tickers[:i], c.tickers[i+1:]...)
			return
		}
	}
}

// receive returns the next value from ch, failing the test if none comes
// within testTimeout.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("no %s within %v", what, testTimeout)
		var none T
		return none
	}
}
