package mixer

import "runtime"

// cpuSlots bounds the goroutines doing video work (decoding, scaling,
// composing, encoding) at once to the CPUs this process may use. Every
// source and every view runs that work on its own goroutine, so a loaded
// server has many more threads inside libvpx than it has cores; the kernel
// then time-slices them, and the switches and the caches they cool cost
// about 3.5 % of the work (measured with mediabench's max3: three views
// and a decoder on two cores, against one encoding thread). A goroutine
// waiting for a slot is parked instead, and takes one in turn. Audio does
// not wait here: its 20 ms ticks are short and must keep time.
//
// There is one slot per CPU the process may use: GOMAXPROCS at start-up,
// which Go sets from the CPU affinity mask and the cgroup's quota. A
// command that raises GOMAXPROCS afterwards, to leave the scheduler a P
// while every slot is in C, leaves the slots as they are.
var cpuSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// CPUSlots is how many goroutines may do video work at once.
func CPUSlots() int { return cap(cpuSlots) }

func acquireCPU() { cpuSlots <- struct{}{} }

func releaseCPU() { <-cpuSlots }
