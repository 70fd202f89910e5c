package signaling_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

// A drain turns /readyz to 503 and refuses new calls at once, tells every
// party and console `server_shutdown` with the time left, keeps the call
// running meanwhile, and then ends it with `left: server_shutdown` for
// both parties, never `call_ended`.
func TestDrainKeepsCallsThenEndsThemAsAShutdown(t *testing.T) {
	const drain = 1500 * time.Millisecond
	ts := startServer(t)
	_, peers := ts.twoParty(t)
	console := ts.console(t, "bob")
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	start := time.Now()
	drained := make(chan error, 1)
	go func() { drained <- ts.Drain(ctxFor(t, 20*time.Second), drain) }()

	for name, p := range map[string]*peer.Peer{"customer": peers["customer"], "agent": peers["agent"], "console": console} {
		m, err := p.WaitFor(ctxFor(t, 5*time.Second), "server_shutdown", nil)
		if err != nil {
			t.Fatalf("the %s was not told server_shutdown: %v", name, err)
		}
		var body struct {
			InMS int64 `json:"in_ms"`
		}
		if json.Unmarshal(m.Raw, &body) != nil || body.InMS != drain.Milliseconds() {
			t.Errorf("the %s's server_shutdown %s, want in_ms %d", name, m.Raw, drain.Milliseconds())
		}
	}
	resp, err := http.Get(ts.http.URL + "/readyz")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %v %v, want 503", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	if code := ts.api(t, "POST", "/api/calls", map[string]string{"customer": "Bo", "agent": "carol"}, nil); code != http.StatusServiceUnavailable {
		t.Errorf("POST /api/calls while draining: %d, want 503", code)
	}
	if fps := measureFPS(map[string]*peer.Peer{"agent": peers["agent"]}, 500*time.Millisecond)["agent"]; fps < minFPS() {
		t.Errorf("the agent receives %.1f fps while the server drains, want the call going on", fps)
	}

	if err := <-drained; err != nil {
		t.Errorf("drain: %v", err)
	}
	if d := time.Since(start); d < drain {
		t.Errorf("the drain ended the call after %v, want the %v it was given", d, drain)
	}
	for role, p := range peers {
		m, err := p.WaitFor(ctxFor(t, 5*time.Second), "left", nil)
		if err != nil || field(m, "reason") != "server_shutdown" {
			t.Errorf("the %s after the drain: %s (%v), want left: server_shutdown", role, m.Raw, err)
		}
	}
}
