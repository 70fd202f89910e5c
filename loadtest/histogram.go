package loadtest

import (
	"math"
	"slices"
)

// bucketCounts is a Prometheus histogram as scraped: the cumulative count
// of observations by bucket upper bound (math.Inf(1) included).
type bucketCounts map[float64]float64

// quantileSince is the q-quantile (0 < q <= 1) of the observations made
// since earlier, interpolated linearly inside its bucket as Prometheus's
// histogram_quantile does. It is 0 when there were none, and the largest
// finite bound when the quantile lies beyond it.
func (b bucketCounts) quantileSince(earlier bucketCounts, q float64) float64 {
	bounds := make([]float64, 0, len(b))
	for le := range b {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	total := b[math.Inf(1)] - earlier[math.Inf(1)]
	if total <= 0 {
		return 0
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for _, le := range bounds {
		count := b[le] - earlier[le]
		if count >= rank {
			if math.IsInf(le, 1) {
				return lower
			}
			return lower + (le-lower)*(rank-below)/(count-below)
		}
		lower, below = le, count
	}
	return lower
}
