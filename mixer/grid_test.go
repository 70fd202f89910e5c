package mixer

import (
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// A picture ready too close to a tick moves to just after it; one well
// between two ticks stays where it is.
func TestGridKeepsPicturesClearOfTicks(t *testing.T) {
	epoch := time.Unix(1_700_000_000, 0)
	g := frameGrid{epoch: epoch, period: 60 * time.Millisecond}
	ms := func(n int) time.Time { return epoch.Add(time.Duration(n) * time.Millisecond) }
	for _, tt := range []struct{ at, want int }{
		{0, 5},     // on a tick
		{3, 5},     // just after one
		{5, 5},     // far enough after
		{30, 30},   // between two
		{50, 50},   // just far enough before the next
		{51, 65},   // too close before it
		{59, 65},   //
		{-1, 5},    // before the epoch, as after
		{121, 125}, // some periods on
	} {
		if got := g.clear(ms(tt.at)); !got.Equal(ms(tt.want)) {
			t.Errorf("a picture ready at %d ms plays at %v, want %d ms", tt.at, got.Sub(epoch), tt.want)
		}
	}
	if got := (frameGrid{}).clear(ms(1)); !got.Equal(ms(1)) {
		t.Errorf("a zero grid moved a picture to %v", got.Sub(epoch))
	}
}

// Views of one mixer tick at the same moments however long apart they
// were made: a view made 20 ms after another ticks with it.
func TestViewsOfAMixerTickTogether(t *testing.T) {
	m, clock, events := steppedMixer(t, 2)
	if err := m.SetViewer("agent", layout.Spec{Parties: []string{"customer"}, Mode: layout.Equal}, &countingSink{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(20 * time.Millisecond)
	if err := m.SetViewer("third", layout.Spec{Parties: []string{"agent"}, Mode: layout.Equal}, &countingSink{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second/15 - 20*time.Millisecond) // the first view's first tick
	receive(t, events.composed, "the first view's frame")
	receive(t, events.composed, "the second view's frame on the same tick")
}

// A wall-clock grid ticker whose first tick is already due fires at once
// and keeps ticking on the grid (under -race, this first tick once raced
// with the ticker's own making).
func TestWallGridTickerWithAFirstTickAlreadyDue(t *testing.T) {
	period := 20 * time.Millisecond
	first := time.Now().Add(-time.Millisecond)
	tk := wallClock{}.NewTickerFrom(first, period)
	defer tk.Stop()
	for i := range 3 {
		select {
		case <-tk.C():
		case <-time.After(time.Second):
			t.Fatalf("tick %d did not come", i)
		}
	}
}
