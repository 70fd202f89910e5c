package signaling_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

// A reload in a two-party call is not a hang-up: the customer's page goes
// away (its socket and PeerConnection close, no leave), the agent sees it
// reconnecting, and the page's join with its token puts it back in its
// seat, with its layout, the call never having ended; both see each other
// move again at 80 % of the frame rate or more.
func TestReloadInTwoPartyCall(t *testing.T) {
	ts := startServer(t)
	c, peers := ts.twoParty(t)
	customer, agent := peers["customer"], peers["agent"]
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	if err := customer.Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "agent"}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error { return maximizes(customer, "agent") }); err != nil {
		t.Fatal(err)
	}

	reload := time.Now()
	if err := customer.Close(); err != nil { // the page goes, without a leave
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error { return showsReconnecting(agent, "customer") }); err != nil {
		t.Fatalf("the agent after the customer's page went: %v", err)
	}
	if err := waitFor(3*time.Second, func() error { return noColour(agent, "customer") }); err != nil {
		t.Errorf("the agent's picture while the customer reconnects: %v", err)
	}

	back := ts.join(t, c.Call, "customer", c.Customer.Token)
	t.Logf("back in the seat %v after the reload", time.Since(reload).Round(time.Millisecond))
	if err := maximizes(back, "agent"); err != nil {
		t.Errorf("the customer back in its seat: %v", err)
	}
	if err := waitFor(5*time.Second, func() error { return showsReconnecting(agent) }); err != nil {
		t.Errorf("the agent once the customer is back: %v", err)
	}
	for _, typ := range messagesSince(agent, reload) {
		if typ == "left" {
			t.Errorf("the agent was told left while the customer reloaded (%v)", messagesSince(agent, reload))
		}
	}
	if n := ts.CallCount(); n != 1 {
		t.Errorf("%d calls open after the reload, want the one", n)
	}

	viewers := map[string]*peer.Peer{"customer": back, "agent": agent}
	for name, p := range viewers {
		if err := waitFor(10*time.Second, func() error { return seesBoth(p) }); err != nil {
			t.Fatalf("%s after the reload: %v", name, err)
		}
	}
	seen := watch(viewers, []string{"customer", "agent"}, 3*time.Second)
	for viewer, other := range map[string]string{"customer": "agent", "agent": "customer"} {
		w := seen[viewer]
		t.Logf("%s: %.1f fps, %s's tile %.1f fps, longest freeze %v", viewer, w.fps, other, w.tileFPS[other], w.maxGap)
		if w.tileFPS[other] < minTileFPS() || w.fps < 0.8*testFPS {
			t.Errorf("%s sees %.1f fps, the %s's tile at %.1f fps, want at least %.1f and %.1f", viewer, w.fps, other, w.tileFPS[other],
				0.8*testFPS, minTileFPS())
		}
	}
}

// A party whose media path dies for 3 s: within about a second the others
// see its tile turn to the reconnecting placeholder (and call.state says
// so), their own pictures never freezing; when the path comes back its
// media resumes within a second, with no new join.
func TestOutageOfThreeSeconds(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	third := peers["third"]
	watchers := map[string]*peer.Peer{"customer": peers["customer"], "agent": peers["agent"]}
	seen := make(chan map[string]watched, 1)
	go func() { seen <- watch(watchers, nil, 6*time.Second) }()

	start := time.Now()
	if err := third.Silence(true); err != nil {
		t.Fatal(err)
	}
	for name, p := range watchers {
		if err := waitFor(3*time.Second, func() error { return noColour(p, "third") }); err != nil {
			t.Fatalf("%s, %v into the outage: %v", name, time.Since(start).Round(time.Millisecond), err)
		}
		took := time.Since(start)
		t.Logf("%s sees the third's placeholder %v into the outage", name, took.Round(time.Millisecond))
		if took > 1800*time.Millisecond+raceSlack() {
			t.Errorf("%s saw the third's placeholder %v into the outage, want about 1 s", name, took.Round(time.Millisecond))
		}
		if err := showsReconnecting(p, "third"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	<-time.After(3*time.Second - time.Since(start))
	if err := third.Silence(false); err != nil {
		t.Fatal(err)
	}
	// The placeholder gives way only to a picture newer than the third's
	// last: its colour back is its media back.
	back := time.Now()
	for name, p := range watchers {
		if err := waitFor(3*time.Second, func() error { return seesColour(p, "third") }); err != nil {
			t.Fatalf("%s, %v after the path came back: %v", name, time.Since(back).Round(time.Millisecond), err)
		}
		took := time.Since(back)
		t.Logf("%s sees the third again %v after the path came back", name, took.Round(time.Millisecond))
		if took > time.Second {
			t.Errorf("%s saw the third again %v after the path came back, want within 1 s", name, took.Round(time.Millisecond))
		}
	}
	for name, p := range watchers {
		if err := waitFor(2*time.Second, func() error { return showsReconnecting(p) }); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if err := resumesInTile(p, "third", holeWait); err != nil {
			t.Errorf("%s after the outage: %v", name, err)
		}
	}
	decoded := third.Counters().FramesDecoded
	if err := waitFor(2*time.Second, func() error {
		if n := third.Counters().FramesDecoded; n < decoded+testFPS/2 {
			return errorf("the third decoded %d pictures since the path came back", n-decoded)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if got := messagesSince(third, start); slices.Contains(got, "joined") || slices.Contains(got, "left") {
		t.Errorf("the third was sent %v during the outage, want no new leg", got)
	}
	for name, w := range <-seen {
		t.Logf("%s through the outage: %.1f fps, longest freeze %v", name, w.fps, w.maxGap)
		if w.maxGap > 600*time.Millisecond || w.fps < minFPS() {
			t.Errorf("%s through the third's outage: %.1f fps, a freeze of %v; want at least %.1f fps, none over 600 ms",
				name, w.fps, w.maxGap, minFPS())
		}
	}
}

// An 8 s outage in a two-party call: the call survives (nobody is told
// left, the call stays open), and the media resumes both ways, the
// customer's tile from the reconnecting placeholder.
func TestOutageOfEightSecondsInTwoPartyCall(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.twoParty(t)
	customer, agent := peers["customer"], peers["agent"]
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	start := time.Now()
	if err := customer.Silence(true); err != nil {
		t.Fatal(err)
	}
	frames := map[string]int{}
	if err := waitFor(3*time.Second, func() error {
		if t, ok := agent.Counters().Tiles["customer"]; ok {
			frames["agent"] = t.FrameNumber
		}
		return errors.Join(noColour(agent, "customer"), showsReconnecting(agent, "customer"))
	}); err != nil {
		t.Errorf("the agent during the outage: %v", err)
	}
	<-time.After(8*time.Second - time.Since(start))
	frames["customer"] = customer.Counters().Tiles["agent"].FrameNumber // frozen: nothing arrives
	if err := customer.Silence(false); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	// Each sees the other move again within a second: the hole the outage
	// left in a stream is given up, and a key frame asked for, at once.
	for viewer, other := range map[string]string{"customer": "agent", "agent": "customer"} {
		p := peers[viewer]
		if err := waitFor(time.Second+raceSlack(), func() error { return movesPast(p, other, frames[viewer]) }); err != nil {
			t.Fatalf("%s, %v after the path came back: %v", viewer, time.Since(back).Round(time.Millisecond), err)
		}
		t.Logf("%s sees the %s move again %v after the path came back", viewer, other, time.Since(back).Round(time.Millisecond))
	}
	for name, p := range peers {
		if got := messagesSince(p, start); slices.Contains(got, "left") || slices.Contains(got, "joined") {
			t.Errorf("the %s was sent %v during the outage, want the call to go on", name, got)
		}
	}
	if n := ts.CallCount(); n != 1 {
		t.Errorf("%d calls open after the outage, want the one", n)
	}
	if err := waitFor(3*time.Second, func() error { return showsReconnecting(agent) }); err != nil {
		t.Error(err)
	}
	for viewer, other := range map[string]string{"customer": "agent", "agent": "customer"} {
		if err := resumesInTile(peers[viewer], other, holeWait); err != nil {
			t.Errorf("after the outage, the %s: %v", viewer, err)
		}
	}
}

// A party whose media is lost while its socket stays open (half open, as
// after a network change) can rejoin from a new socket: the new one takes
// the seat over and the old one hears left (rejoined). A party whose media
// is live cannot be displaced: role_taken.
func TestRejoinTakesOverALostLeg(t *testing.T) {
	ts := startServer(t)
	c, peers := ts.twoParty(t)
	customer, agent := peers["customer"], peers["agent"]
	if err := waitFor(15*time.Second, func() error { return equalTiles(agent, "customer", "agent") }); err != nil {
		t.Fatal(err)
	}
	cfg := peer.Config{URL: ts.ws, Call: c.Call, Role: "customer", Name: "Ann", Token: c.Customer.Token, Loopback: true}
	_, err := peer.Join(ctxFor(t, 10*time.Second), cfg)
	var serr *peer.ServerError
	if !errors.As(err, &serr) || serr.Code != "role_taken" {
		t.Fatalf("a second customer beside a live one: %v, want role_taken", err)
	}

	if err := customer.Silence(true); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(3*time.Second, func() error { return showsReconnecting(agent, "customer") }); err != nil {
		t.Fatal(err)
	}
	ts.join(t, c.Call, "customer", c.Customer.Token)
	m, err := customer.WaitFor(ctxFor(t, 5*time.Second), "left", nil)
	if err != nil || field(m, "reason") != "rejoined" {
		t.Errorf("the old socket got %s (%v), want left: rejoined", m.Raw, err)
	}
	if err := waitFor(10*time.Second, func() error { return showsReconnecting(agent) }); err != nil {
		t.Error(err)
	}
	if err := waitFor(10*time.Second, func() error { return seesBoth(agent) }); err != nil {
		t.Errorf("the agent after the customer came back on a new socket: %v", err)
	}
}

// Peers with Config.Reconnect come back on their own when their sockets
// drop: each dials again and takes its seat back (the third with the
// token its `joined` gave it), with its flags, and the call goes on.
func TestPeersReconnectOnTheirOwn(t *testing.T) {
	ts := startServer(t)
	proxy := startProxy(t, strings.TrimPrefix(ts.http.URL, "http://"))
	viaProxy := func(cfg *peer.Config) { cfg.URL, cfg.Reconnect = proxy.url(), true }
	c := ts.createCall(t, "Ann", "alice")
	customer := ts.join(t, c.Call, "customer", c.Customer.Token, viaProxy)
	agent := ts.join(t, c.Call, "agent", c.Agent.Token)
	bob := ts.console(t, "bob", viaProxy)
	if err := agent.Send(map[string]string{"type": "help.request", "mode": "agent", "agent": "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := bob.Accept(ctxFor(t, 20*time.Second), offerTo(t, bob, time.Time{})); err != nil {
		t.Fatalf("bob accepts: %v", err)
	}
	if err := customer.SetAudio(false); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(15*time.Second, func() error { return equalTiles(agent, peer.Roles()...) }); err != nil {
		t.Fatal(err)
	}

	cut := time.Now()
	proxy.cut()
	for name, p := range map[string]*peer.Peer{"customer": customer, "third": bob} {
		if _, err := p.WaitFor(ctxFor(t, 10*time.Second), "joined", func(m peer.Message) bool { return m.At.After(cut) }); err != nil {
			t.Fatalf("the %s did not come back: %v", name, err)
		}
	}
	t.Logf("both back %v after the cut", time.Since(cut).Round(time.Millisecond))
	if err := waitFor(15*time.Second, func() error { return equalTiles(agent, peer.Roles()...) }); err != nil {
		t.Errorf("the agent after both came back: %v", err)
	}
	if err := waitFor(5*time.Second, func() error { return showsReconnecting(agent) }); err != nil {
		t.Error(err)
	}
	// The old legs' media is closed: what moves now is the new legs'.
	// Their first half-second is the streams' start (key frames, ICE
	// and DTLS on a busy machine), at 8-12 fps under load: the steady
	// rate is read after it.
	time.Sleep(time.Second)
	viewers := map[string]*peer.Peer{"agent": agent, "customer": customer, "third": bob}
	for viewer, w := range watch(viewers, peer.Roles(), 2*time.Second) {
		for _, role := range others(viewer) {
			if w.tileFPS[role] < minTileFPS() {
				t.Errorf("after the rejoins the %s sees the %s's tile at %.1f fps, want at least %.1f", viewer, role, w.tileFPS[role], minTileFPS())
			}
		}
	}
	st, err := lastState(agent)
	if err != nil || len(st.Parties) != 3 || st.Parties[0].Audio {
		t.Errorf("the agent's call.state after the rejoins: %+v (%v), want three parties, the customer muted", st, err)
	}
	if _, err := bob.WaitFor(ctxFor(t, 5*time.Second), "presence", func(m peer.Message) bool { return m.At.After(cut) }); err != nil {
		t.Errorf("bob's console was not signed in again: %v", err)
	}
}
