package mixer

import (
	"testing"
	"time"
)

// A source's decode (as a view's render, through the same slots) waits
// for a CPU slot while every slot is taken, and goes on when one frees.
func TestVideoWorkWaitsForACPUSlot(t *testing.T) {
	s, _ := newTestSource(t)
	frames := encodeFrames(t, 320, 180, 1)
	for range cap(cpuSlots) {
		acquireCPU()
	}
	decoded := make(chan struct{})
	go func() {
		s.decode(frames[0])
		close(decoded)
	}()
	select {
	case <-decoded:
		t.Fatal("a decode ran while every CPU slot was taken")
	case <-time.After(100 * time.Millisecond):
	}
	releaseCPU()
	<-decoded
	for range cap(cpuSlots) - 1 {
		releaseCPU()
	}
	if s.seq != 1 {
		t.Errorf("%d pictures after the decode, want 1", s.seq)
	}
}
