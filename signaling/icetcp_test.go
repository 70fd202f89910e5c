package signaling_test

import (
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/peer/netcond"
)

// A party whose UDP is blocked reaches the server over ICE-TCP, on the
// server's one TCP port, and receives the composed picture at the full
// frame rate without freezes; the other party, on UDP, is unaffected.
func TestUDPBlockedPartyConnectsOverTCP(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	udpOff := func(cfg *peer.Config) { cfg.Network = netcond.Conditions{UDPOff: true} }
	peers := map[string]*peer.Peer{
		"customer": ts.join(t, c.Call, "customer", c.Customer.Token, udpOff),
		"agent":    ts.join(t, c.Call, "agent", c.Agent.Token),
	}
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	for role, want := range map[string]string{"customer": "tcp", "agent": "udp"} {
		if got := mediaPath(t, ts, c.Call, role).Protocol; got != want {
			t.Fatalf("the %s's media goes over %s, want %s", role, got, want)
		}
	}

	got, kbps := measureReception(t, ts, c.Call, peers, 5*time.Second)
	logReception(t, ts, c.Call, "with the customer's UDP blocked", got, kbps)
	if r := got["customer"]; r.fps < 0.8*testFPS || r.freezes > 0 {
		t.Errorf("over TCP the customer receives %.1f fps with %d freezes, want at least %.0f and none", r.fps, r.freezes, 0.8*testFPS)
	}
	if r := got["agent"]; r.fps < minFPS() || r.freezes > 0 {
		t.Errorf("the agent receives %.1f fps with %d freezes, want at least %.1f and none", r.fps, r.freezes, minFPS())
	}
}
