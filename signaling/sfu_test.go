package signaling_test

import (
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// sfuServer is a server in sfu video mode, with metrics.
func sfuServer(t *testing.T) *testServer {
	return startServer(t, func(p *signaling.ServerParams) {
		p.Calls.VideoMode = call.SFU
		p.Metrics = metrics.New()
	})
}

// seesCamera checks that p receives other's own 640x360 camera, full frame.
func seesCamera(p *peer.Peer, other string) error {
	st := p.Stats()
	if st.Width != 640 || st.Height != 360 {
		return fmt.Errorf("receives %dx%d, want the other's own 640x360", st.Width, st.Height)
	}
	if tile, ok := st.Tiles[other]; !ok || !near(tile.Box, image.Rect(0, 0, 640, 360), boxSlackPx) {
		return fmt.Errorf("sees %v, want %s full frame", tileRoles(st.Tiles), other)
	}
	return nil
}

// placeholderLuma bounds the mean brightness of a placeholder picture:
// dark grey (40) with the label in light grey.
const placeholderLuma = 64

// seesPlaceholder checks that p's picture shows no role's colour and is
// dark: the placeholder, not a frozen camera picture.
func seesPlaceholder(p *peer.Peer) error {
	st := p.Stats()
	if len(st.Tiles) != 0 {
		return fmt.Errorf("still sees %v", tileRoles(st.Tiles))
	}
	if st.MeanLuma >= placeholderLuma {
		return fmt.Errorf("picture brightness %.0f, want a dark placeholder under %d", st.MeanLuma, placeholderLuma)
	}
	return nil
}

// framesIn counts the pictures p decodes over d.
func framesIn(p *peer.Peer, d time.Duration) int {
	n := p.Stats().FramesDecoded
	<-time.After(d)
	return p.Stats().FramesDecoded - n
}

// In sfu mode, a party turning its video off shows the other the
// placeholder within a second (no frozen last frame) while pictures keep
// arriving; turning it on brings the camera back.
func TestSFUVideoOffShowsPlaceholder(t *testing.T) {
	ts := sfuServer(t)
	_, peers := ts.twoParty(t)
	customer, agent := peers["customer"], peers["agent"]
	if err := waitFor(15*time.Second, func() error { return seesCamera(agent, "customer") }); err != nil {
		t.Fatalf("agent: %v", err)
	}

	if err := customer.SetVideo(false); err != nil {
		t.Fatal(err)
	}
	off := time.Now()
	if err := waitFor(time.Second, func() error { return seesPlaceholder(agent) }); err != nil {
		t.Fatalf("agent, %v after the customer turned video off: %v", time.Since(off).Round(time.Millisecond), err)
	}
	if n := framesIn(agent, time.Second); n < 3 {
		t.Errorf("agent decodes %d pictures a second of the placeholder, want it to keep arriving (about 5)", n)
	}
	if err := seesPlaceholder(agent); err != nil {
		t.Errorf("agent a second later: %v", err)
	}
	if got := scrape(t, ts)[`threeway_video_encoders{kind="placeholder"}`]; got != 1 {
		t.Errorf("%v placeholder encoders while one camera is off, want 1", got)
	}
	// The customer still sees the agent's camera.
	if err := seesCamera(customer, "agent"); err != nil {
		t.Errorf("customer: %v", err)
	}

	if err := customer.SetVideo(true); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(2*time.Second, func() error { return seesCamera(agent, "customer") }); err != nil {
		t.Fatalf("agent after the customer turned video on: %v", err)
	}
	if fps := measureFPS(map[string]*peer.Peer{"agent": agent}, 2*time.Second)["agent"]; fps < minFPS() {
		t.Errorf("agent receives %.1f fps of the customer's camera again, want %d", fps, testFPS)
	}
	if got := scrape(t, ts)[`threeway_video_encoders{kind="placeholder"}`]; got != 0 {
		t.Errorf("%v placeholder encoders with every camera on, want 0", got)
	}
}

// In sfu mode a receiver's key frame request (PLI) reaches the sender of
// the camera it receives.
func TestSFUPassesKeyframeRequestsToTheSender(t *testing.T) {
	ts := sfuServer(t)
	_, peers := ts.twoParty(t)
	customer, agent := peers["customer"], peers["agent"]
	if err := waitFor(15*time.Second, func() error { return seesCamera(agent, "customer") }); err != nil {
		t.Fatalf("agent: %v", err)
	}
	// Start from quiet: the requests of the call's start are over.
	var base int
	if err := waitFor(10*time.Second, func() error {
		before := customer.Stats().PLIsReceived
		<-time.After(time.Second)
		if base = customer.Stats().PLIsReceived; base != before {
			return fmt.Errorf("the customer still gets key frame requests (%d → %d)", before, base)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const asks = 3
	for range asks {
		if err := agent.RequestKeyframe(); err != nil {
			t.Fatal(err)
		}
		<-time.After(600 * time.Millisecond) // the peer sends one PLI per 500 ms
	}
	if err := waitFor(2*time.Second, func() error {
		if got := customer.Stats().PLIsReceived - base; got < asks {
			return fmt.Errorf("the agent asked %d times, the customer got %d requests", asks, got)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// In sfu mode the server answers a receiver's NACKs from its own send
// buffer: a receiver losing 10% of its packets keeps its frame rate, and
// the sender is not asked to resend.
func TestSFUAnswersNACKsFromItsSendBuffer(t *testing.T) {
	ts := sfuServer(t)
	_, peers := ts.twoParty(t)
	customer, agent := peers["customer"], peers["agent"]
	if err := waitFor(15*time.Second, func() error { return seesCamera(agent, "customer") }); err != nil {
		t.Fatalf("agent: %v", err)
	}
	before := scrape(t, ts)
	if err := agent.SetInboundLoss(0.1); err != nil {
		t.Fatal(err)
	}
	skipped := agent.Stats().FramesSkipped
	// About 45 video packets a second: 5 s at 10 % loses 22 or so.
	fps := measureFPS(map[string]*peer.Peer{"agent": agent}, 5*time.Second)["agent"]
	after := scrape(t, ts)
	st := agent.Stats()
	t.Logf("agent lost %d packets, skipped %d frames, received %.1f fps", st.InboundDropped, st.FramesSkipped-skipped, fps)
	if st.InboundDropped < 8 {
		t.Fatalf("the agent lost only %d packets: the test did not test", st.InboundDropped)
	}
	if fps < minFPS() {
		t.Errorf("agent receives %.1f fps while losing 10%% of its packets, want %.1f (losses resent)", fps, minFPS())
	}
	nacks := after[`threeway_rtcp_received_total{type="nack"}`] - before[`threeway_rtcp_received_total{type="nack"}`]
	if nacks == 0 {
		t.Error("the server got no NACK from the agent")
	}
	if n := customer.Stats().NACKsReceived; n != 0 {
		t.Errorf("the customer got %d NACKs: the server should answer them itself", n)
	}
}

// In sfu mode a party that reloads reaches the other as its placeholder
// while it reconnects (no frozen frame), and its camera again once its
// page has joined back.
func TestSFUReloadShowsPlaceholderMeanwhile(t *testing.T) {
	ts := sfuServer(t)
	c, peers := ts.twoParty(t)
	agent := peers["agent"]
	if err := waitFor(15*time.Second, func() error { return seesCamera(agent, "customer") }); err != nil {
		t.Fatalf("agent: %v", err)
	}
	if err := peers["customer"].Close(); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(3*time.Second, func() error { return seesPlaceholder(agent) }); err != nil {
		t.Fatalf("agent while the customer reconnects: %v", err)
	}
	ts.join(t, c.Call, "customer", c.Customer.Token)
	if err := waitFor(10*time.Second, func() error { return seesCamera(agent, "customer") }); err != nil {
		t.Errorf("agent once the customer is back: %v", err)
	}
}
