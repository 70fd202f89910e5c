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
// video work may use at once (its slots, one per CPU at start-up), so that
// while every slot is inside libvpx the network and audio goroutines still
// find a P instead of waiting for sysmon to take one from a thread in C.
// A GOMAXPROCS set in the environment is the operator's and stays as it is.
func spareP(slots *mixer.CPUSlots) {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(slots.N() + 1)
	}
}

// freshTimeSlice starts the calling goroutine on a scheduler time slice of
// its own. mediabench's goroutines hand every frame to each other, which Go
// counts as one slice that sysmon preempts at every tick once it is 10 ms
// old; yielding before each frame's work starts a new one. The mixer does
// not yield: its goroutines wake on packets and tickers, not on each other,
// and under overload a yield waits behind the whole global run queue.
func freshTimeSlice() { runtime.Gosched() }
