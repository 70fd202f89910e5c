package signaling

import (
	"testing"

	"github.com/pion/interceptor/pkg/cc"
)

// gccStats is a GCC estimator that says what a test sets.
type gccStats struct {
	cc.BandwidthEstimator
	loss                  float64
	lossBased, delayBased int
}

func (g *gccStats) GetStats() map[string]any {
	return map[string]any{"averageLoss": g.loss, "lossTargetBitrate": g.lossBased, "delayTargetBitrate": g.delayBased}
}

func (g *gccStats) GetTargetBitrate() int { return min(g.lossBased, g.delayBased) }

// A viewer that loses a steady 5% at random keeps the delay-based
// estimate while GCC's loss controller ratchets down; one that loses 20%
// takes GCC's estimate within a few seconds; a short burst of loss moves
// nothing.
func TestPathEstimateHoldsThroughRandomLoss(t *testing.T) {
	polls := func(p *pathEstimate, g *gccStats, n int) (got int) {
		for range n {
			got = p.bitrate(g)
		}
		return got
	}
	var p pathEstimate
	g := &gccStats{loss: 0.05, lossBased: 460_000, delayBased: 1_240_000}
	if got := polls(&p, g, 80); got != 1_240_000 {
		t.Errorf("at 5%% loss the viewer takes %d bit/s, want the delay-based 1240000", got)
	}
	g.loss = 0.3 // one poll of a burst
	if got := polls(&p, g, 1); got != 1_240_000 {
		t.Errorf("after one poll of 30%% loss the viewer takes %d bit/s, want the delay-based 1240000", got)
	}
	g.loss = 0.2
	if got := polls(&p, g, 12); got != 460_000 { // 3 s
		t.Errorf("after 3 s of 20%% loss the viewer takes %d bit/s, want GCC's 460000", got)
	}
}
