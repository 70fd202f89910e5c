package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"

	"github.com/threeway-mcu/threeway/mixer"
)

// spareP gives the Go scheduler one P more than the CPUs the mixer's
// video work may use at once (its CPU slots, one per CPU at start-up).
// While every slot is inside libvpx, the network and audio goroutines
// still find a P, instead of waiting for the scheduler to take one from a
// thread in C, which it does after 20 us with a kernel wakeup each time.
// Measured on 2 cores with 5 `mixed` calls: about 5 % less server CPU and
// a third fewer context switches. A GOMAXPROCS set in the environment is
// the operator's and stays as it is.
func spareP() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(mixer.CPUSlots() + 1)
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

// sysmonAwake is the GODEBUG setting that keeps the runtime's sysmon
// thread from sleeping deeply whenever every P is idle.
//
// A server at a few calls goes idle between packets and frames hundreds of
// times a second. Each time, sysmon sleeps deeply, the next syscall or cgo
// call wakes it, and it restarts its polling at every 20 µs: 3,600 wake-ups
// a second with 4 `equal` calls here, each a timer and a context switch on
// a VM, 7.6 % of the server's CPU in perf. Go has no setting for that; a
// schedule trace, though, keeps sysmon from sleeping deeply so that it can
// print on time, and then, while it finds nothing to retake, it backs off
// to polling every 10 ms. Measured with 4 `equal` calls: 0.114 to 0.098
// CPU-s per call-second, context switches 93,000 to 40,000 in 12 s; 3 %
// with 4 `mixed` calls, which leave fewer idle spells.
//
// The price: the trace is a "SCHED" line on stderr every 24.9 days, the
// longest period there is, the first once the host has been up that long
// (at start-up on an older host); an idle server's sysmon wakes every
// 10 ms instead of sleeping; and a fatal error prints the scheduler's full
// state before its traceback, which needs the scheduler's lock, so a
// runtime throw while holding that lock would hang instead of exiting.
const sysmonAwake = "schedtrace=2147483647"

// keepSysmonAwake re-executes this process (Linux's /proc/self/exe, same
// arguments and PID) with sysmonAwake in GODEBUG, which the runtime reads
// only at start-up. It returns if there is nothing to do (GODEBUG already
// sets schedtrace, the operator's choice), or after telling warn that
// exec failed: the process then goes on as it is.
func keepSysmonAwake(warn io.Writer) {
	env, changed := withSysmonAwake(os.Environ())
	if !changed {
		return
	}
	err := syscall.Exec("/proc/self/exe", os.Args, env)
	fmt.Fprintf(warn, "threeway: going on without GODEBUG=%s: %v\n", sysmonAwake, err)
}

// withSysmonAwake returns env with sysmonAwake added to its GODEBUG, and
// whether it added it. Like the runtime, it reads the first GODEBUG and
// takes setting names as written.
func withSysmonAwake(env []string) ([]string, bool) {
	out := make([]string, 0, len(env)+1)
	var godebug string
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if !found {
				godebug, found = v, true
			}
			continue
		}
		out = append(out, kv)
	}
	for _, setting := range strings.Split(godebug, ",") {
		if key, _, _ := strings.Cut(setting, "="); key == "schedtrace" {
			return env, false
		}
	}
	if godebug != "" {
		godebug += ","
	}
	return append(out, "GODEBUG="+godebug+sysmonAwake), true
}
