package mixer

import "time"

// stopwatch reads a clock for timing media work. The default is wall
// time; the benchmarks substitute the thread's CPU time, which a noisy
// machine does not inflate.
type stopwatch func() time.Duration

var processStart = time.Now()

func wallStopwatch() time.Duration { return time.Since(processStart) }
