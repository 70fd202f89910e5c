package signaling_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/layout"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

type limits struct {
	Width, Height, FPS, Bitrate int
}

// lastLimits is the last send.limits p received since since.
func lastLimits(p *peer.Peer, since time.Time) (limits, bool) {
	var l limits
	found := false
	for _, m := range p.Messages() {
		if m.Type == "send.limits" && m.At.After(since) && m.Decode(&l) == nil {
			found = true
		}
	}
	return l, found
}

// waitLimits waits until p's last send.limits is want.
func waitLimits(t *testing.T, p *peer.Peer, who string, since time.Time, want limits) {
	t.Helper()
	if err := waitFor(5*time.Second, func() error {
		if got, ok := lastLimits(p, since); !ok || got != want {
			return fmt.Errorf("%s's send.limits %+v (%v), want %+v", who, got, ok, want)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// tileOf is party's tile in a viewer's layout on the test canvas.
func tileOf(t *testing.T, spec layout.Spec, party string) layout.Rect {
	t.Helper()
	tiles, err := layout.Tiles(canvasW, canvasH, spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tile := range tiles {
		if tile.Party == party {
			return tile.Rect
		}
	}
	t.Fatalf("%s has no tile in %+v", party, spec)
	return layout.Rect{}
}

func limitsFor(r layout.Rect) limits {
	bitrate := max(200_000, int(2*float64(r.W*r.H)/float64(canvasW*canvasH)*1200*1000))
	return limits{Width: r.W, Height: r.H, FPS: testFPS, Bitrate: bitrate}
}

// Each party is told the largest tile it is shown in: equal tiles for
// both in a two-party call; the customer's grows when the agent
// maximizes it, and shrinks back when the agent goes back to equal; the
// agent's stays what the customer's view shows.
func TestSendLimitsFollowTheLargestTile(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.twoParty(t)
	equal := limitsFor(tileOf(t, layout.Spec{Parties: []string{"customer", "agent"}, Mode: layout.Equal}, "customer"))
	for role, p := range peers {
		waitLimits(t, p, role, time.Time{}, equal)
	}
	since := time.Now()
	if err := peers["agent"].Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "customer"}); err != nil {
		t.Fatal(err)
	}
	big := limitsFor(tileOf(t, layout.Spec{Parties: []string{"customer", "agent"}, Mode: layout.Maximize, Focus: "customer"}, "customer"))
	waitLimits(t, peers["customer"], "customer", since, big)
	if _, ok := lastLimits(peers["agent"], since); ok {
		t.Error("the agent's limits changed, though the customer's view shows it as before")
	}
	since = time.Now()
	if err := peers["agent"].Send(map[string]string{"type": "layout.set", "mode": "equal"}); err != nil {
		t.Fatal(err)
	}
	waitLimits(t, peers["customer"], "customer", since, equal)
}

// --send-limits=false sends none.
func TestSendLimitsCanBeTurnedOff(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.NoSendLimits = true })
	_, peers := ts.twoParty(t)
	// Once pictures flow the room has applied the call's state, which is
	// when limits would have gone out.
	for role, p := range peers {
		if err := waitFor(10*time.Second, func() error {
			if p.Counters().FramesDecoded < 5 {
				return fmt.Errorf("%s decoded no pictures yet", role)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for role, p := range peers {
		if l, ok := lastLimits(p, time.Time{}); ok {
			t.Errorf("%s was sent limits %+v", role, l)
		}
	}
}

// A page whose camera captures 1280x720 sends what its tile needs: the
// size of an equal tile at the canvas's 15 fps, and a larger picture
// when the agent maximizes it.
func TestBrowserSendsWhatItsTileNeeds(t *testing.T) {
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t)
	c := ts.createCall(t, "Chromium", "alice")
	customer := openTab(t, browser, c.Customer.URL)
	click(t, customer, "#joinButton")
	agent := ts.join(t, c.Call, "agent", c.Agent.Token)
	pageHolds(t, customer, 20*time.Second, `threeway.state !== null && threeway.state.parties.length === 2 && !!threeway.sendLimits`)
	sent := func(cond string) {
		t.Helper()
		var last string
		if err := waitFor(15*time.Second, func() error {
			got, err := chromedp.Run(customer, chromedp.Evaluate[string](`threeway.outboundVideo().then(s => JSON.stringify(s))`, chromedp.EvalAwaitPromise))
			last = got
			if err != nil {
				return err
			}
			ok, err := chromedp.Run(customer, chromedp.Evaluate[bool](`(s => s !== null && s.capture.width === 1280 && `+cond+`)(`+got+`)`))
			if err != nil || !ok {
				return fmt.Errorf("the page sends %s, want %s", got, cond)
			}
			return nil
		}); err != nil {
			t.Fatalf("%v (last %s)", err, last)
		}
	}
	sent(`s.width === 640 && s.height === 360 && s.fps <= 16`)
	if err := agent.Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "customer"}); err != nil {
		t.Fatal(err)
	}
	sent(`s.width > 640 && s.height > 360`)

	// A smaller window gets a smaller picture: the page reports the size
	// it shows it at, and the server composes at a canvas that covers it.
	if _, err := chromedp.Run(customer, chromedp.EmulateViewport(900, 700)); err != nil {
		t.Fatal(err)
	}
	pageHolds(t, customer, 10*time.Second, `threeway.stats && (threeway.stats.size === "640×360" || threeway.stats.size === "960×540")`)
}

// A synthetic party whose camera is 1280x720 at 30 fps sends what its
// tile needs once told (its key frames on the wire are 640x360), and the
// call still shows every tile moving; one told to ignore the limits
// sends its camera as configured.
func TestPeerScalesItsCameraToTheLimits(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	big := func(fps int, ignore bool) func(*peer.Config) {
		return func(cfg *peer.Config) { cfg.Width, cfg.Height, cfg.FPS, cfg.IgnoreSendLimits = 1280, 720, fps, ignore }
	}
	customer := ts.join(t, c.Call, "customer", c.Customer.Token, big(30, false))
	// The camera that ignores the limits sends 720p at the canvas's rate:
	// at 30 fps its decode alone starved the views under the race
	// detector on two cores (CI saw 8 fps).
	agent := ts.join(t, c.Call, "agent", c.Agent.Token, big(testFPS, true))
	sends := func(p *peer.Peer, who string, w, h int) {
		t.Helper()
		if err := waitFor(10*time.Second, func() error {
			if s := p.Counters(); s.SentWidth != w || s.SentHeight != h {
				return fmt.Errorf("%s sends %dx%d, want %dx%d", who, s.SentWidth, s.SentHeight, w, h)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
	sends(customer, "the customer", 640, 360)
	sends(agent, "the agent, ignoring the limits", 1280, 720)
	peers := map[string]*peer.Peer{"customer": customer, "agent": agent}
	for role, fps := range measureFPS(peers, 3*time.Second) {
		if fps < minFPS() {
			t.Errorf("%s receives %.1f fps, want ≥ %.1f", role, fps, minFPS())
		}
	}
}

// In sfu mode a camera is told the size the other party shows it at:
// the canvas size until that party sends view.size, then that size; a
// bad view.size is refused.
func TestSFUSendLimitsFollowTheReceiversWindow(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.Calls.VideoMode = call.SFU })
	_, peers := ts.twoParty(t)
	full := limits{Width: canvasW, Height: canvasH, FPS: 30, Bitrate: 1200 * 1000}
	for role, p := range peers {
		waitLimits(t, p, role, time.Time{}, full)
	}
	since := time.Now()
	if err := peers["customer"].Send(map[string]any{"type": "view.size", "width": 640, "height": 360}); err != nil {
		t.Fatal(err)
	}
	waitLimits(t, peers["agent"], "agent", since, limits{Width: 640, Height: 360, FPS: 30, Bitrate: 300_000})
	if _, ok := lastLimits(peers["customer"], since); ok {
		t.Error("the customer's limits changed with its own window")
	}
	since = time.Now()
	if err := peers["customer"].Send(map[string]any{"type": "view.size", "width": 0, "height": 360}); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(t, peers["customer"], since); code != "invalid_field" {
		t.Errorf("view.size 0x360: %q, want invalid_field", code)
	}
}

// A viewer that shows the picture at 640x360 (view.size) is sent a
// 640x360 picture, with every tile in it, while the others keep the full
// canvas; the tiles it shows small ask their cameras for less only if no
// one else shows them larger.
func TestViewerGetsAPictureTheSizeOfItsScreen(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t)
	if err := peers["third"].Send(map[string]any{"type": "view.size", "width": 600, "height": 340}); err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string][2]int{"third": {640, 360}, "customer": {canvasW, canvasH}, "agent": {canvasW, canvasH}} {
		if err := waitFor(10*time.Second, func() error {
			s := peers[role].Counters()
			if s.Width != want[0] || s.Height != want[1] || len(s.Tiles) < 3 {
				return fmt.Errorf("%s receives %dx%d with tiles %v, want %dx%d with three", role, s.Width, s.Height, s.Tiles, want[0], want[1])
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
}
