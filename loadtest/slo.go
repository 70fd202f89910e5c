package loadtest

import "fmt"

// checkSLOs sets SLOPass and names every objective missed. Calls that
// could not be set up miss the run's objective too.
func (r *runner) checkSLOs(res *Result) {
	p := r.params
	s := res.Summary
	if p.SLOFPS > 0 && s.FPSMin < p.SLOFPS*float64(p.FPS) {
		res.SLOMissed = append(res.SLOMissed,
			fmt.Sprintf("slo-fps: the slowest stream got %.1f fps, under %.0f%% of %d", s.FPSMin, 100*p.SLOFPS, p.FPS))
	}
	if p.SLOLatencyP99 > 0 && s.LatencyMSP99 > ms(p.SLOLatencyP99) {
		res.SLOMissed = append(res.SLOMissed,
			fmt.Sprintf("slo-latency-p99: %.0f ms, over %v", s.LatencyMSP99, p.SLOLatencyP99))
	}
	if n := res.Calls - res.Up; n > 0 {
		res.SLOMissed = append(res.SLOMissed, fmt.Sprintf("calls: %d of %d calls did not come up (%v refused, %d failed)",
			n, res.Calls, res.Refused, len(res.Failed)))
	}
	res.SLOPass = len(res.SLOMissed) == 0
}
