package mixer

import "time"

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
