package signaling_test

import (
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// reception is what a peer received over a while.
type reception struct {
	fps     float64
	freezes int
}

// watchFrames samples every peer's decoded frames for d: its frame rate,
// and the gaps of more than peer.FreezeGap between two pictures.
func watchFrames(peers map[string]*peer.Peer, d time.Duration) map[string]reception {
	type track struct {
		start, last int
		changed     time.Time
		freezes     int
	}
	begin := time.Now()
	tracks := map[string]*track{}
	for role, p := range peers {
		n := p.Counters().FramesDecoded
		tracks[role] = &track{start: n, last: n, changed: begin}
	}
	sample := time.NewTicker(20 * time.Millisecond)
	defer sample.Stop()
	for now := range sample.C {
		for role, p := range peers {
			tr := tracks[role]
			if n := p.Counters().FramesDecoded; n != tr.last {
				if now.Sub(tr.changed) > peer.FreezeGap {
					tr.freezes++
				}
				tr.last, tr.changed = n, now
			}
		}
		if now.Sub(begin) >= d {
			break
		}
	}
	elapsed := time.Since(begin)
	out := map[string]reception{}
	for role, tr := range tracks {
		if time.Since(tr.changed) > peer.FreezeGap {
			tr.freezes++ // frozen at the end
		}
		out[role] = reception{fps: float64(tr.last-tr.start) / elapsed.Seconds(), freezes: tr.freezes}
	}
	return out
}

// traffic is the kbit/s the server sent a party and received from it.
type traffic struct{ down, up int }

// mediaPath waits until ICE has chosen a party's media path, and returns
// it as the server sees it.
func mediaPath(t *testing.T, ts *testServer, callID, role string) signaling.MediaPath {
	t.Helper()
	var path signaling.MediaPath
	err := waitFor(10*time.Second, func() (err error) {
		path, err = ts.PartyMediaPath(callID, role)
		return err
	})
	if err != nil {
		t.Fatalf("%s's media path: %v", role, err)
	}
	return path
}

// measureReception watches every peer of a call for d: what watchFrames
// sees, and the traffic between the server and each.
func measureReception(t *testing.T, ts *testServer, callID string, peers map[string]*peer.Peer, d time.Duration) (map[string]reception, map[string]traffic) {
	t.Helper()
	before := map[string]signaling.MediaPath{}
	for role := range peers {
		before[role] = mediaPath(t, ts, callID, role)
	}
	start := time.Now()
	got := watchFrames(peers, d)
	kbps := func(bytes uint64) int { return int(float64(bytes) * 8 / 1000 / time.Since(start).Seconds()) }
	out := map[string]traffic{}
	for role := range peers {
		after := mediaPath(t, ts, callID, role)
		out[role] = traffic{down: kbps(after.Sent - before[role].Sent), up: kbps(after.Received - before[role].Received)}
	}
	return got, out
}

// logReception logs what each party of a call received, and its view's
// bitrate.
func logReception(t *testing.T, ts *testServer, callID, when string, got map[string]reception, kbps map[string]traffic) {
	t.Helper()
	for _, role := range peer.Roles() {
		r, ok := got[role]
		if !ok {
			continue
		}
		view, split := ts.ViewerBitrate(callID, role)
		t.Logf("%s, the %s receives %.1f fps with %d freezes; the server sends it %d kbit/s and gets %d; its view is at %d kbit/s (split off: %v)",
			when, role, r.fps, r.freezes, kbps[role].down, kbps[role].up, view, split)
	}
}
