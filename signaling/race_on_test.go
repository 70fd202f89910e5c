//go:build race

package signaling_test

// raceEnabled is set because the race detector slows decoding and
// composing several times over: a view then finds a tile's picture being
// decoded more often and keeps the last one, so fewer distinct frames
// reach a tile.
const raceEnabled = true
