package mixer

import (
	"log/slog"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// A view's render waits for a CPU slot while every slot is taken, and
// goes on when one frees; a source's decode never waits for one.
func TestViewsWaitForACPUSlotSourcesDoNot(t *testing.T) {
	m, err := newMixer(Params{Width: 320, Height: 180, FPS: 15, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v, err := newView(m, "test", layout.Spec{Parties: []string{"customer"}, Mode: layout.Equal})
	if err != nil {
		t.Fatal(err)
	}
	defer v.enc.Close()
	s, clock := newTestSource(t)
	frames := encodeFrames(t, 320, 180, 1)

	for range cap(cpuSlots) {
		acquireCPU()
	}
	s.decode(frames[0]) // would block the test if decodes took slots
	if s.seq != 1 {
		t.Fatalf("%d pictures after the decode, want 1", s.seq)
	}
	rendered := make(chan struct{})
	go func() {
		v.render(*clock)
		close(rendered)
	}()
	select {
	case <-rendered:
		t.Fatal("a view rendered while every CPU slot was taken")
	case <-time.After(100 * time.Millisecond):
	}
	releaseCPU()
	<-rendered
	for range cap(cpuSlots) - 1 {
		releaseCPU()
	}
	if len(v.out) == 0 {
		t.Error("the view encoded nothing once it had a slot")
	}
}
