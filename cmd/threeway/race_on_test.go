//go:build race

package main

// raceEnabled is set because the race detector's instrumentation changes
// how goroutines are scheduled, which some tests here measure.
const raceEnabled = true
