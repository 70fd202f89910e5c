package mixer

import "runtime"

// CPUSlots bound the views composing and encoding at once to the CPUs
// this process may use, so a server's mixers share one set (Params.CPU).
// Every view runs that work on its own goroutine, so a loaded server has
// many more threads inside libvpx than it has cores; the kernel then
// time-slices them, and the switches and the caches they cool cost about
// 3.5 % of the work (measured with mediabench's max3:
// three views and a decoder on two cores, against one encoding thread). A
// view waiting for a slot is parked instead, takes one in turn, and if it
// is late its clock skips the frames it missed: overload lowers the frame
// rate, not the latency.
//
// Sources do not wait here, nor does audio. A source must decode every
// frame to stay current, so a decode queued behind encodes makes every
// later picture later still: with decodes in the slots, 20 `equal` calls
// on two cores (overload) put latency p99 at 1.7 s; without, at 150 ms,
// with the frame rate down to 11 fps and every tone heard. Decodes served
// before views kept latency down too, but starved views into 105 freezes
// against 13. The price: a harness that decodes flat out beside two
// encodes (mediabench, 720p max3) runs three threads in libvpx on two
// cores, about 2.5 % dearer; a call's decodes are spread over its frame
// interval, and it measures the same either way.
//
// The right count is one slot per CPU the process may use: GOMAXPROCS at
// start-up, which Go sets from the CPU affinity mask and the cgroup's
// quota. A command that raises GOMAXPROCS afterwards, to leave the
// scheduler a P while every slot is in C, makes its slots first.
type CPUSlots struct {
	taken chan struct{}
}

// NewCPUSlots makes n slots; n < 1 means one per CPU the process may use,
// read as GOMAXPROCS now: before a command raises it.
func NewCPUSlots(n int) *CPUSlots {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	return &CPUSlots{taken: make(chan struct{}, n)}
}

// N is how many views may compose and encode at once.
func (c *CPUSlots) N() int { return cap(c.taken) }

func (c *CPUSlots) acquire() { c.taken <- struct{}{} }

func (c *CPUSlots) release() { <-c.taken }
