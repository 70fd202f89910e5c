package mixer

import (
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
}

func newStepClock() *stepClock { return &stepClock{now: time.Unix(1_700_000_000, 0)} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) NewTicker(d time.Duration) Ticker {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &stepTicker{clock: c, period: d, next: c.now.Add(d), c: make(chan time.Time, 1)}
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
}

// running is how many tickers have not been stopped.
func (c *stepClock) running() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tickers)
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
