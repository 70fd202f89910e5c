package mixer

import (
	"testing"
	"time"
)

// A view's render waits for a CPU slot while every slot is taken, and
// goes on when one frees; a source's decode never waits for one.
func TestViewsWaitForACPUSlotSourcesDoNot(t *testing.T) {
	v := newTestView(t, 320, 180)
	s, clock := newTestSource(t)
	frames := encodeFrames(t, 320, 180, 1)

	cpu := v.m.params.CPU
	for range cpu.N() {
		cpu.acquire()
	}
	s.decode(frames[0]) // would block the test if decodes took slots
	if s.picture.seq != 1 {
		t.Fatalf("%d pictures after the decode, want 1", s.picture.seq)
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
	cpu.release()
	<-rendered
	for range cpu.N() - 1 {
		cpu.release()
	}
	if len(v.out) == 0 {
		t.Error("the view encoded nothing once it had a slot")
	}
}
