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
// and the gaps of more than freezeGap between two pictures.
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
				if now.Sub(tr.changed) > freezeGap {
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
		if time.Since(tr.changed) > freezeGap {
			tr.freezes++ // frozen at the end
		}
		out[role] = reception{fps: float64(tr.last-tr.start) / elapsed.Seconds(), freezes: tr.freezes}
	}
	return out
}

// partyAddr waits until the server has chosen where to send a party's
// media.
func partyAddr(t *testing.T, ts *testServer, callID, role string) string {
	t.Helper()
	var addr string
	err := waitFor(10*time.Second, func() (err error) {
		addr, err = ts.PartyAddr(callID, role)
		return err
	})
	if err != nil {
		t.Fatalf("%s's address: %v", role, err)
	}
	return addr
}

// measureReception watches every peer for d: what watchFrames sees and
// the kbit/s the server sent each.
func measureReception(peers map[string]*peer.Peer, shaped *shapedNet, addrs map[string]string, d time.Duration) (map[string]reception, map[string]int) {
	before := map[string]int{}
	for role, a := range addrs {
		before[role] = shaped.sentTo(a)
	}
	start := time.Now()
	got := watchFrames(peers, d)
	kbps := map[string]int{}
	for role, a := range addrs {
		kbps[role] = int(float64(shaped.sentTo(a)-before[role]) * 8 / 1000 / time.Since(start).Seconds())
	}
	return got, kbps
}

// A viewer whose downlink takes only 400 kbit/s keeps a moving picture
// and the others keep theirs: congestion control finds the cap, and the
// viewer's picture is encoded for it on a view split off from the
// others'. The synthetic parties' flat pictures need about 250 kbit/s
// with their sound at 15 fps, which a 400 kbit/s path holds whole; at 30
// fps they need about 450, so that without congestion control the path
// loses most of the packets and the picture freezes.
func TestCappedViewerKeepsAMovingPicture(t *testing.T) {
	const (
		fps     = 30
		capKbps = 400
	)
	shaped := newShapedNet(t)
	ts := startServer(t, func(p *signaling.ServerParams) {
		p.ICE.Net = shaped
		p.Media.FPS = fps
	})
	at30 := func(c *peer.Config) { c.FPS = fps }
	c := ts.createCall(t, "Ann", "alice")
	peers := map[string]*peer.Peer{
		"customer": ts.join(t, c.Call, "customer", c.Customer.Token, at30),
		"agent":    ts.join(t, c.Call, "agent", c.Agent.Token, at30),
	}
	bob := ts.console(t, "bob", at30)
	if err := peers["agent"].Send(map[string]string{"type": "help.request", "mode": "agent", "agent": "bob"}); err != nil {
		t.Fatal(err)
	}
	offer, err := bob.WaitFor(ctxFor(t, 10*time.Second), "help.offer", nil)
	if err != nil {
		t.Fatalf("bob is not offered the help request: %v", err)
	}
	if err := bob.Accept(ctxFor(t, 20*time.Second), field(offer, "request")); err != nil {
		t.Fatalf("bob accepts: %v", err)
	}
	peers["third"] = bob
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	addrs := map[string]string{}
	for role := range peers {
		addrs[role] = partyAddr(t, ts, c.Call, role)
	}
	before, baseline := measureReception(peers, shaped, addrs, 2*time.Second)
	t.Logf("uncapped, the parties receive %v kbit/s", baseline)

	shaped.limit(addrs["customer"], capKbps, 300*time.Millisecond)
	<-time.After(5 * time.Second) // the estimate finds the cap; a split waits 2 s
	st0 := peers["customer"].Counters()
	got, kbps := measureReception(peers, shaped, addrs, 8*time.Second)
	st1 := peers["customer"].Counters()
	t.Logf("customer: %d PLIs sent, %d of %d video packets lost", st1.PLIsSent-st0.PLIsSent,
		st1.VideoPacketsLost-st0.VideoPacketsLost, st1.VideoPackets-st0.VideoPackets)
	for role, r := range got {
		view, split := ts.ViewerBitrate(c.Call, role)
		t.Logf("%s receives %.1f fps (%.1f before the cap), %d freezes, %d kbit/s; its view at %d kbps (split off: %v)",
			role, r.fps, before[role].fps, r.freezes, kbps[role], view, split)
	}
	// Frame rates are compared with what this machine delivers the others
	// at the same time: on a loaded machine every party gets fewer.
	others := (got["agent"].fps + got["third"].fps) / 2
	if r := got["customer"]; r.fps < 0.8*others || r.freezes > 1 {
		t.Errorf("capped at %d kbit/s the customer receives %.1f fps with %d freezes, want at least 80%% of the others' %.1f and at most one",
			capKbps, r.fps, r.freezes, others)
	}
	if _, split := ts.ViewerBitrate(c.Call, "customer"); !split {
		t.Errorf("the capped customer was not split off: the others' picture is encoded for its path")
	}
	for _, role := range []string{"agent", "third"} {
		if r := got[role]; r.fps < 0.9*before[role].fps || r.freezes > 0 {
			t.Errorf("%s receives %.1f fps with %d freezes, want at least 90%% of its %.1f before the cap and none",
				role, r.fps, r.freezes, before[role].fps)
		}
	}
}
