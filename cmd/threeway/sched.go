package main

import (
	"os"
	"runtime"

	"github.com/threeway-mcu/threeway/mixer"
)

// startProcs is GOMAXPROCS as the process started, one per CPU it may
// use, before spareP raises it.
var startProcs = runtime.GOMAXPROCS(0)

// videoSlots are the CPU slots of a server or a bench: one per CPU the
// process may use, however often a test starts one.
func videoSlots() *mixer.CPUSlots { return mixer.NewCPUSlots(startProcs) }

// spareP gives the Go scheduler one P more than the CPUs the mixer's
// video work may use at once (its slots, one per CPU at start-up).
// While every slot is inside libvpx, the network and audio goroutines
// still find a P, instead of waiting for the scheduler to take one from a
// thread in C, which it does after 20 us with a kernel wakeup each time.
// Measured on 2 cores with 5 `mixed` calls: about 5 % less server CPU and
// a third fewer context switches. A GOMAXPROCS set in the environment is
// the operator's and stays as it is.
func spareP(slots *mixer.CPUSlots) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(slots.N() + 1)
	}
}

// freshTimeSlice starts the calling goroutine on a scheduler time slice of
// its own. mediabench's goroutines call it before each frame's decodes or
// encode, because they hand every frame to each other.
//
// Go counts goroutines that wake each other through a P's runnext slot (a
// channel send to a parked receiver) as one time slice, so goroutines that
// pass frames back and forth can share one slice for the whole run. Once a
// slice is 10 ms old, sysmon preempts whatever runs on it at every tick:
// a goroutine inside libvpx, which cannot be preempted, has its P taken
// and handed to another thread woken for it; one in Go code between calls
// gets a signal. Each time, sysmon goes back to polling every 20 µs.
// Yielding puts the goroutine through the global run queue, which starts a
// new slice, for well under a microsecond. In mediabench (360p equal) it
// took a run from about 1,200 sysmon wake-ups, 2,300 context switches and
// 22 preemption signals to 120, 940 and 8, and 4 % less CPU.
//
// A server's goroutines do not hand frames to each other (sources wake on
// packets, views on their tickers), and there the yield measured no
// better; under overload it was worse (20 `equal` calls: 23 and 74 freezes
// against 13), since a goroutine that yields waits behind the whole global
// queue. So the mixer does not yield; only this harness, whose hand-offs
// are its own, does.
func freshTimeSlice() { runtime.Gosched() }
