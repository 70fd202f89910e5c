package cluster

import (
	"math"
	"testing"
)

// Headroom follows the node's measured CPU per call, counts a call just
// placed at no less than firstCallCPU, and stops at --max-calls.
func TestHeadroom(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    Node
		want float64
	}{
		{"empty", Node{Cores: 2}, 16},                                          // 1.6 cores at 0.1
		{"measured 0.2 a call", Node{Cores: 2, Calls: 4, CPU: 0.8}, 4},         // (1.6-0.8)/0.2
		{"idle calls cost the floor", Node{Cores: 2, Calls: 4, CPU: 0.04}, 12}, // (1.6-0.4)/0.1
		{"max calls", Node{Cores: 2, Calls: 3, MaxCalls: 4, CPU: 0.3}, 1},
		{"full", Node{Cores: 2, Calls: 4, MaxCalls: 4}, 0},
		{"over its CPU", Node{Cores: 2, Calls: 10, CPU: 2}, -2},
	} {
		if got := tc.n.Headroom(); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: headroom %.2f, want %.2f", tc.name, got, tc.want)
		}
	}
}
