package loadtest

import (
	"github.com/threeway-mcu/threeway/peer/netcond"
)

// perRole sums up, for each role with streams, what its parties saw
// between the hold and the end. A party's tile is read, in each call, at
// the other party that saw it best (the most updates, the fewest
// freezes): trouble on a viewer's own downlink shows in that viewer's
// figures, not in the party's whose tile it is.
func perRole(streams []*stream, impair map[string]netcond.Conditions) map[string]RoleSummary {
	out := map[string]RoleSummary{}
	for _, role := range roles {
		var fps, tileFPS, lat []float64
		var due, concealed int
		sum := RoleSummary{Network: impair[role].String()}
		for _, s := range streams {
			if s.role != role {
				continue
			}
			start, end := s.held, s.end
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
			if rate, freezes, ok := bestTile(streams, s); ok {
				tileFPS = append(tileFPS, rate)
				sum.Freezes += freezes
			}
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

// bestTile reads own's tile at the other parties of its call and returns
// the best view of it: the highest rate of updates and the fewest
// freezes, each at whichever viewer had it.
func bestTile(streams []*stream, own *stream) (rate float64, freezes int, ok bool) {
	for _, v := range streams {
		if v.call != own.call || v == own {
			continue
		}
		d := v.endAt.Sub(v.heldAt).Seconds()
		if d <= 0 {
			continue
		}
		before, after := v.held.TileUpdates[own.role], v.end.TileUpdates[own.role]
		r, f := float64(after.Count-before.Count)/d, after.Freezes-before.Freezes
		if !ok || r > rate {
			rate = r
		}
		if !ok || f < freezes {
			freezes = f
		}
		ok = true
	}
	return rate, freezes, ok
}
