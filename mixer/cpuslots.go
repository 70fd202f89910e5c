package mixer

import "runtime"

// CPUSlots bound the views composing and encoding at once to the CPUs
// this process may use; a server's mixers share one set (Params.CPU).
// More threads inside libvpx than cores only buys context switches and
// cold caches, so a view waits its turn for a slot instead, and a view
// made late skips the frames it missed: overload lowers the frame rate,
// not the latency.
//
// Sources and audio take no slot: a decode must keep up with every frame,
// and one queued behind encodes would make every later picture later
// still.
//
// The right count is GOMAXPROCS at start-up, which Go sets from the CPU
// affinity mask and the cgroup's quota; a command that raises GOMAXPROCS
// afterwards, to leave the scheduler a P while every slot is in C, makes
// its slots first.
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
