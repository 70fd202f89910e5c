package loadtest

import (
	"github.com/threeway-mcu/threeway/peer/netcond"
)

// perRole sums up, for each role with streams, what its parties saw
// between the hold and the end.
func perRole(streams []*stream, impair map[string]netcond.Conditions) map[string]RoleSummary {
	out := map[string]RoleSummary{}
	for _, role := range roles {
		var fps, tileFPS, lat []float64
		var due, concealed int
		sum := RoleSummary{Network: impair[role].String()}
		for _, s := range streams {
			start, end := s.held, s.end
			if s.role != role {
				// role's tile as another party of its call saw it
				before, after := start.TileUpdates[role], end.TileUpdates[role]
				if d := s.endAt.Sub(s.heldAt).Seconds(); d > 0 {
					tileFPS = append(tileFPS, float64(after.Count-before.Count)/d)
				}
				sum.Freezes += after.Freezes - before.Freezes
				continue
			}
			fps = append(fps, s.fps())
			lat = append(lat, s.latency...)
			sum.Freezes += end.Freezes - start.Freezes
			due += end.AudioFramesDue - start.AudioFramesDue
			concealed += end.AudioFramesConcealed - start.AudioFramesConcealed
			sum.NACKsSent += end.NACKsSent - start.NACKsSent
			sum.NACKsReceived += end.NACKsReceived - start.NACKsReceived
			sum.PLIsSent += end.PLIsSent - start.PLIsSent
			sum.PLIsReceived += end.PLIsReceived - start.PLIsReceived
			sum.Retransmissions += end.Retransmissions - start.Retransmissions
		}
		if len(fps) == 0 {
			continue
		}
		sum.FPSP50, sum.TileFPSP50 = percentile(fps, 50), percentile(tileFPS, 50)
		sum.LatencyMSP99 = percentile(lat, 99)
		sum.AudioConcealedRatio = ratio(concealed, due)
		out[role] = sum
	}
	return out
}
