package codec

/*
#include "vp8.h"
*/
import "C"

import "time"

// libvpxTime is a codec's CPU time inside libvpx, counted in C on the
// threads that call it (tw_cpu), for benchmarks.
type libvpxTime struct {
	count *C.tw_cpu     // in the codec's C memory; nil once closed
	total time.Duration // the whole count, once closed
}

// TimeCPU makes the codec count the CPU time of its libvpx frame calls
// too, for CPUTime. It costs two clock reads a frame; benchmarks turn it on.
func (t *libvpxTime) TimeCPU() {
	if t.count != nil {
		t.count.timed = 1
	}
}

// CPUTime is the CPU time spent inside libvpx creating the codec, in its
// frame calls since TimeCPU, and, once closed, freeing it. Read it when no
// frame is being coded.
func (t *libvpxTime) CPUTime() time.Duration {
	if t.count == nil {
		return t.total
	}
	return time.Duration(t.count.ns)
}

// closed keeps the whole count a close wrapper returned, its C memory gone.
func (t *libvpxTime) closed(total C.int64_t) {
	t.count, t.total = nil, time.Duration(total)
}
