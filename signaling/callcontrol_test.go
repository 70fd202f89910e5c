package signaling_test

import (
	"encoding/json"
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// offerTo waits for a help.offer at console p and returns its request id.
func offerTo(t *testing.T, p *peer.Peer, since time.Time) string {
	t.Helper()
	m, err := p.WaitFor(ctxFor(t, 10*time.Second), "help.offer", func(m peer.Message) bool { return m.At.After(since) })
	if err != nil {
		t.Fatalf("no help.offer: %v", err)
	}
	return field(m, "request")
}

// noOffer checks that console p got no help.offer since.
func noOffer(t *testing.T, name string, p *peer.Peer, since time.Time) {
	t.Helper()
	for _, m := range p.Messages() {
		if m.Type == "help.offer" && m.At.After(since) {
			t.Errorf("%s was offered the request: %s", name, m.Raw)
		}
	}
}

// Help from a queue goes to the idle agent with the skill who has been
// idle longest (never the requester, never one without the skill); after
// it accepts, its peer joins as the third party and the customer is told.
func TestHelpFromQueuePicksLongestIdleAgent(t *testing.T) {
	ts := startServer(t)
	bob := ts.console(t, "bob") // billing, idle first: longest idle
	<-time.After(20 * time.Millisecond)
	carol := ts.console(t, "carol") // billing, idle later
	dave := ts.console(t, "dave")   // tech-support only
	_, peers := ts.twoParty(t)

	asked := time.Now()
	if err := peers["agent"].Send(map[string]string{"type": "help.request", "mode": "queue", "queue": "billing"}); err != nil {
		t.Fatal(err)
	}
	req := offerTo(t, bob, asked)
	noOffer(t, "carol", carol, asked)
	noOffer(t, "dave", dave, asked)
	if _, err := peers["customer"].WaitFor(ctxFor(t, 5*time.Second), "help.progress", func(m peer.Message) bool {
		return field(m, "state") == "ringing"
	}); err != nil {
		t.Errorf("the customer is not told help is sought: %v", err)
	}

	if err := bob.Accept(ctxFor(t, 20*time.Second), req); err != nil {
		t.Fatalf("bob accepts: %v", err)
	}
	peers["third"] = bob
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
	if _, err := peers["customer"].WaitFor(ctxFor(t, 5*time.Second), "help.progress", func(m peer.Message) bool {
		return field(m, "state") == "accepted"
	}); err != nil {
		t.Errorf("the customer is not told help joined: %v", err)
	}
	noOffer(t, "carol", carol, asked)
}

// A reject moves a queue request to the next agent, who joins.
func TestRejectMovesToNextAgent(t *testing.T) {
	ts := startServer(t)
	bob := ts.console(t, "bob")
	<-time.After(20 * time.Millisecond)
	carol := ts.console(t, "carol")
	_, peers := ts.twoParty(t)

	asked := time.Now()
	if err := peers["agent"].Send(map[string]string{"type": "help.request", "mode": "queue", "queue": "billing"}); err != nil {
		t.Fatal(err)
	}
	req := offerTo(t, bob, asked)
	rejected := time.Now()
	if err := bob.Reject(ctxFor(t, 5*time.Second), req); err != nil {
		t.Fatalf("bob rejects: %v", err)
	}
	req2 := offerTo(t, carol, rejected)
	if req2 != req {
		t.Errorf("carol is offered request %s, want the same request %s", req2, req)
	}
	if err := carol.Accept(ctxFor(t, 20*time.Second), req2); err != nil {
		t.Fatalf("carol accepts: %v", err)
	}
	peers["third"] = carol
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
	// Nobody is left once everyone said no: the requester hears why.
	if _, err := bob.WaitFor(ctxFor(t, 5*time.Second), "presence", func(m peer.Message) bool {
		return field(m, "state") == "idle" && m.At.After(rejected)
	}); err != nil {
		t.Errorf("bob is not idle again after rejecting: %v", err)
	}
}

// A maximize by one viewer changes that viewer's picture only.
func TestMaximizeIsPerViewer(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	if err := peers["customer"].Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "agent"}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error { return largest(peers["customer"], "agent") }); err != nil {
		t.Errorf("customer after maximizing the agent: %v", err)
	}
	for _, role := range []string{"agent", "third"} {
		if err := equalTiles(peers[role], peer.Roles()...); err != nil {
			t.Errorf("%s, who did not maximize: %v", role, err)
		}
	}
	if err := peers["customer"].Send(map[string]string{"type": "layout.set", "mode": "equal"}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error { return equalTiles(peers["customer"], peer.Roles()...) }); err != nil {
		t.Errorf("customer back to equal: %v", err)
	}
}

// largest checks that role's colour is the largest region of p's picture
// and spans the maximized tile (960x540 on a 1280x720 canvas).
func largest(p *peer.Peer, role string) error {
	st := p.Stats()
	tile, ok := st.Tiles[role]
	if !ok {
		return fmt.Errorf("%s not seen", role)
	}
	for r, other := range st.Tiles {
		if r != role && other.Pixels >= tile.Pixels {
			return fmt.Errorf("%s (%d px) is not larger than %s (%d px)", role, tile.Pixels, r, other.Pixels)
		}
	}
	if !near(tile.Box, image.Rect(0, 90, 960, 630), boxSlackPx) {
		return fmt.Errorf("%s's tile is at %v, want the large tile %v", role, tile.Box, image.Rect(0, 90, 960, 630))
	}
	return nil
}

// Maximize and share need everyone's video in a three-party call: refused
// while the third party's video is off (naming it), accepted once it is on.
func TestMaximizeAndShareNeedEveryonesVideo(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	if err := peers["third"].SetVideo(false); err != nil {
		t.Fatal(err)
	}
	// Video off shows the placeholder at once, never a frozen frame.
	if err := waitFor(2*time.Second, func() error {
		if _, seen := peers["customer"].Stats().Tiles["third"]; seen {
			return errorf("the customer still sees the third party's picture")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}

	since := time.Now()
	if err := peers["customer"].Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "agent"}); err != nil {
		t.Fatal(err)
	}
	m, err := peers["customer"].WaitFor(ctxFor(t, 5*time.Second), "error", func(m peer.Message) bool { return m.At.After(since) })
	if err != nil {
		t.Fatal(err)
	}
	var refusal struct {
		Code    string   `json:"code"`
		Parties []string `json:"parties"`
	}
	_ = json.Unmarshal(m.Raw, &refusal)
	if refusal.Code != call.CodeVideoNotEnabledForAll || len(refusal.Parties) != 1 || refusal.Parties[0] != "third" {
		t.Errorf("maximize with the third's video off: %s, want video_not_enabled_for_all naming third", m.Raw)
	}
	err = peers["agent"].StartShare(ctxFor(t, 5*time.Second))
	if se, ok := err.(*peer.ServerError); !ok || se.Code != call.CodeVideoNotEnabledForAll {
		t.Errorf("share with the third's video off: %v, want video_not_enabled_for_all", err)
	}

	if err := peers["third"].SetVideo(true); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error { return equalTiles(peers["customer"], peer.Roles()...) }); err != nil {
		t.Fatalf("video back on: %v", err)
	}
	if err := peers["customer"].Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "agent"}); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error { return largest(peers["customer"], "agent") }); err != nil {
		t.Errorf("maximize with everyone's video on: %v", err)
	}
	if err := peers["agent"].StartShare(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("share with everyone's video on: %v", err)
	}
	for _, role := range []string{"customer", "third"} {
		if err := waitFor(10*time.Second, func() error { return largest(peers[role], "screen") }); err != nil {
			t.Errorf("%s while the agent shares: %v", role, err)
		}
	}
}

// When the customer hangs up, the agent and the third party keep seeing
// and hearing each other.
func TestCustomerHangsUpOthersContinue(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	if err := peers["customer"].Leave(); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"agent", "third"} {
		p := peers[role]
		if err := waitFor(3*time.Second, func() error { return equalTiles(p, "agent", "third") }); err != nil {
			t.Errorf("%s after the customer left: %v", role, err)
		}
	}
	delete(peers, "customer")
	// Each one's picture of the other keeps moving: frozen video would
	// keep the frame number read in the tile.
	watch := map[string][]string{"agent": {"third"}, "third": {"agent"}}
	before := tileFrames(peers, watch)
	for role, fps := range measureFPS(peers, 2*time.Second) {
		if fps < minFPS() {
			t.Errorf("%s receives %.1f fps after the customer left", role, fps)
		}
	}
	if err := advanced(before, tileFrames(peers, watch), 2*time.Second); err != nil {
		t.Errorf("after the customer left: %v", err)
	}
	for _, pair := range [][2]string{{"agent", "third"}, {"third", "agent"}} {
		p := peers[pair[0]]
		if err := waitFor(3*time.Second, func() error { return hears(p, pair[0], pair[1]) }); err != nil {
			t.Errorf("after the customer left: %v", err)
		}
	}
}

// In sfu mode two parties get each other's own media untranscoded, and a
// three-party request is refused with a clear code.
func TestSFUModeForwardsTwoPartiesAndRefusesThree(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.Calls.VideoMode = call.SFU })
	_, peers := ts.twoParty(t)
	for _, pair := range [][2]string{{"customer", "agent"}, {"agent", "customer"}} {
		p, other := peers[pair[0]], pair[1]
		if err := waitFor(15*time.Second, func() error {
			st := p.Stats()
			// The other party's own 640x360 picture, not a composed canvas.
			if st.Width != 640 || st.Height != 360 {
				return fmt.Errorf("%s receives %dx%d, want the other's own 640x360", pair[0], st.Width, st.Height)
			}
			if tile, ok := st.Tiles[other]; !ok || !near(tile.Box, image.Rect(0, 0, 640, 360), boxSlackPx) {
				return fmt.Errorf("%s sees %v, want %s full frame", pair[0], tileRoles(st.Tiles), other)
			}
			return hears(p, "", other)
		}); err != nil {
			t.Error(err)
		}
	}
	for role, fps := range measureFPS(peers, 2*time.Second) {
		if fps < minFPS() {
			t.Errorf("%s receives %.1f fps in sfu mode", role, fps)
		}
	}
	since := time.Now()
	if err := peers["agent"].Send(map[string]string{"type": "help.request", "mode": "queue", "queue": "billing"}); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(t, peers["agent"], since); code != call.CodeThreePartyUnsupportedInSFU {
		t.Errorf("three-party request in sfu mode: %s, want %s", code, call.CodeThreePartyUnsupportedInSFU)
	}
}

// Only the sharing party's screen track feeds the screen tile: a second
// video track from a party that does not share (here the customer's,
// carrying the third party's blue) is read and dropped, never shown.
func TestOnlyTheSharersScreenIsShown(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.twoParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	if err := peers["agent"].StartShare(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("the agent shares: %v", err)
	}
	for role, p := range peers {
		if err := waitFor(10*time.Second, func() error { return largest(p, "screen") }); err != nil {
			t.Fatalf("%s while the agent shares: %v", role, err)
		}
	}
	if err := peers["customer"].AddVideoTrack(ctxFor(t, 10*time.Second), "third"); err != nil {
		t.Fatalf("the customer adds a track: %v", err)
	}
	// Give the stray track time to take the screen's place, then check
	// that it did not, and that the agent's screen still moves.
	start := frameNumbers(peers, "screen")
	<-time.After(2 * time.Second)
	for role, p := range peers {
		if tile, seen := p.Stats().Tiles["third"]; seen {
			t.Errorf("%s sees the stray track's colour at %v", role, tile.Box)
		}
		if err := largest(p, "screen"); err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
	for role, n := range frameNumbers(peers, "screen") {
		if n < 0 || start[role] < 0 || n-start[role] < testFPS/2 {
			t.Errorf("%s's screen tile went from frame %d to %d in 2 s: not the agent's moving screen", role, start[role], n)
		}
	}
}

// frameNumbers reads the frame number each peer sees in role's tile, -1
// where it is not readable.
func frameNumbers(peers map[string]*peer.Peer, role string) map[string]int {
	out := map[string]int{}
	for r, p := range peers {
		out[r] = -1
		if tile, ok := p.Stats().Tiles[role]; ok {
			out[r] = tile.FrameNumber
		}
	}
	return out
}

// A queue request that nobody takes fails for everyone in the call with
// no_agent_available, whether every idle agent with the skill said no or
// nobody was idle; the call goes on as it was.
func TestQueueHelpFailsWhenNobodyTakesIt(t *testing.T) {
	for _, tt := range []struct {
		name     string
		consoles []string // signed in, idle
		reject   []string // who is offered the request and rejects it, in order
	}{
		{name: "everyone rejects", consoles: []string{"bob", "carol", "dave"}, reject: []string{"bob", "carol"}},
		{name: "nobody idle"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t)
			consoles := map[string]*peer.Peer{}
			for _, a := range tt.consoles {
				consoles[a] = ts.console(t, a)
				<-time.After(20 * time.Millisecond) // idle in this order
			}
			_, peers := ts.twoParty(t)
			asked := time.Now()
			if err := peers["agent"].Send(map[string]string{"type": "help.request", "mode": "queue", "queue": "billing"}); err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.reject {
				since := time.Now()
				req := offerTo(t, consoles[a], since.Add(-time.Second))
				if err := consoles[a].Reject(ctxFor(t, 5*time.Second), req); err != nil {
					t.Fatalf("%s rejects: %v", a, err)
				}
			}
			for _, role := range []string{"customer", "agent"} {
				m, err := peers[role].WaitFor(ctxFor(t, 5*time.Second), "help.failed", func(m peer.Message) bool { return m.At.After(asked) })
				if err != nil {
					t.Errorf("%s is not told help failed: %v", role, err)
					continue
				}
				if r := field(m, "reason"); r != call.CodeNoAgentAvailable || field(m, "request") == "" {
					t.Errorf("%s got %s, want help.failed no_agent_available naming the request", role, m.Raw)
				}
			}
			if dave := consoles["dave"]; dave != nil {
				noOffer(t, "dave (no billing skill)", dave, asked)
			}
			// The pair talks on, with no request pending.
			for role, p := range peers {
				if err := waitFor(5*time.Second, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
					t.Errorf("%s after help failed: %v", role, err)
				}
			}
			if n := ts.CallCount(); n != 1 {
				t.Errorf("%d calls after help failed, want the one call going on", n)
			}
			for role, p := range peers {
				if err := waitFor(5*time.Second, func() error { return noHelpPendingAfterFailure(p) }); err != nil {
					t.Errorf("%s: %v", role, err)
				}
			}
		})
	}
}

// noHelpPendingAfterFailure checks that a call.state after p's help.failed
// shows no request pending.
func noHelpPendingAfterFailure(p *peer.Peer) error {
	failed := false
	for _, m := range p.Messages() {
		switch {
		case m.Type == "help.failed":
			failed = true
		case m.Type == "call.state" && failed:
			var st struct {
				Help *json.RawMessage `json:"help"`
			}
			if m.Decode(&st) == nil && st.Help == nil {
				return nil
			}
		}
	}
	return fmt.Errorf("no call.state without a pending request after help.failed (failed: %v)", failed)
}

// tileFrames reads, for each viewer, the frame number shown in the tile
// of each role it watches (-1 where unreadable), keyed "viewer/role".
func tileFrames(peers map[string]*peer.Peer, watch map[string][]string) map[string]int {
	out := map[string]int{}
	for viewer, roles := range watch {
		st := peers[viewer].Stats()
		for _, role := range roles {
			n := -1
			if tile, ok := st.Tiles[role]; ok {
				n = tile.FrameNumber
			}
			out[viewer+"/"+role] = n
		}
	}
	return out
}

// advanced checks that every watched tile's frame number went up by at
// least half the frames sent in d: a picture that froze would not.
func advanced(before, after map[string]int, d time.Duration) error {
	want := int(d.Seconds() * testFPS / 2)
	for key, a := range after {
		b := before[key]
		if a < 0 || b < 0 || a-b < want {
			return fmt.Errorf("%s showed frame %d, then %d after %v: want both readable and at least %d apart", key, b, a, d, want)
		}
	}
	return nil
}

// A party whose uplink stalls (still connected, sending nothing) stalls
// no one else's picture or sound: the other two keep their frame rate,
// see each other move and hear each other; the stalled party's tile keeps
// its last frame; and it keeps receiving. When it resumes, its tile moves
// again.
func TestStalledPartyStallsNoOne(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	if err := peers["third"].Stall(true); err != nil {
		t.Fatal(err)
	}
	<-time.After(500 * time.Millisecond) // what was in flight has arrived
	frozen := tileFrames(peers, map[string][]string{"customer": {"third"}, "agent": {"third"}})
	moving := map[string][]string{"customer": {"agent"}, "agent": {"customer"}, "third": {"customer", "agent"}}
	before := tileFrames(peers, moving)
	for role, fps := range measureFPS(peers, 3*time.Second) {
		if fps < minFPS() {
			t.Errorf("%s receives %.1f fps while the third party stalls, want %.1f", role, fps, minFPS())
		}
	}
	if err := advanced(before, tileFrames(peers, moving), 3*time.Second); err != nil {
		t.Errorf("while the third party stalls: %v", err)
	}
	for _, role := range []string{"customer", "agent"} {
		if err := equalTiles(peers[role], peer.Roles()...); err != nil {
			t.Errorf("%s while the third party stalls: %v", role, err)
		}
	}
	for key, n := range tileFrames(peers, map[string][]string{"customer": {"third"}, "agent": {"third"}}) {
		if n != frozen[key] {
			t.Errorf("%s: the stalled party's tile went from frame %d to %d; it sends nothing", key, frozen[key], n)
		}
	}
	for _, pair := range [][2]string{{"customer", "agent"}, {"agent", "customer"}} {
		if err := hears(peers[pair[0]], pair[0], pair[1]); err != nil {
			t.Errorf("while the third party stalls: %v", err)
		}
	}

	if err := peers["third"].Stall(false); err != nil {
		t.Fatal(err)
	}
	resumed := map[string][]string{"customer": {"third"}, "agent": {"third"}}
	start := tileFrames(peers, resumed)
	if err := waitFor(5*time.Second, func() error { return advanced(start, tileFrames(peers, resumed), 2*time.Second) }); err != nil {
		t.Errorf("after the third party resumed: %v", err)
	}
}
