//go:build race

package mixer

// raceEnabled is set because sync.Pool randomly drops Puts under the race
// detector, which makes pool-reuse assertions meaningless.
const raceEnabled = true
