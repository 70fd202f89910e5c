package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/threeway-mcu/threeway/peer"
)

// chromiumPath finds Debian's Chromium. The test fails without it (make
// test installs it); THREEWAY_SKIP_BROWSER=1 skips it on a machine that
// cannot have one.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if os.Getenv("THREEWAY_SKIP_BROWSER") != "" {
		t.Skip("THREEWAY_SKIP_BROWSER is set")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatal("Chromium not found: apt-get install chromium (or set THREEWAY_SKIP_BROWSER=1)")
	return ""
}

// startBrowser starts headless Chromium with a fake camera and microphone,
// its network limited to what this machine's loopback offers.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if raceEnabled {
		// The detector slows the server's Go code several times over,
		// and Chromium takes a core of its own: the page then plays 7-8
		// fps at the parent commit too, which measures the detector.
		// The plain pass runs these tests.
		t.Skip("browser tests measure real-time playback: run without -race")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Wide enough that the page shows the picture at the full canvas
		// (its view.size), which the tests' tile checks expect.
		chromedp.WindowSize(1920, 1080),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// mixStats is what the page's composed video element reports.
type mixStats struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Frames int    `json:"frames"`
	Status string `json:"status"`
}

const readMixStats = `(() => {
	const v = document.getElementById("mix");
	const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
	return {width: v.videoWidth, height: v.videoHeight, frames: q.totalVideoFrames,
		status: document.getElementById("status").textContent};
})()`

// The test page in a real browser joins a call with two synthetic peers:
// it plays the composed 1280x720 picture at the call's frame rate, and the
// peers see its camera in the customer's tile next to their own.
func TestBrowserJoinsCall(t *testing.T) {
	ctx := startBrowser(t)
	ts := startServer(t)
	c := ts.createCall(t, "Chromium", "alice")

	// The first run starts the browser, whose life is that context's: no
	// timeout on it (chromedp.Run's rule); later steps get their own.
	failOnConsoleErrors(t, ctx, c.Customer.URL)
	if err := chromedp.Do(ctx, chromedp.Navigate(c.Customer.URL)); err != nil {
		t.Fatalf("open %s: %v", c.Customer.URL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#joinButton"))); err != nil {
		t.Fatalf("press Join: %v", err)
	}
	agent := ts.join(t, c.Call, "agent", c.Agent.Token)
	bob := ts.console(t, "bob")
	if err := agent.Send(map[string]string{"type": "help.request", "mode": "agent", "agent": "bob"}); err != nil {
		t.Fatal(err)
	}
	offer, err := bob.WaitFor(ctxFor(t, 10*time.Second), "help.offer", nil)
	if err != nil {
		t.Fatalf("bob is not offered help: %v", err)
	}
	if err := bob.Accept(ctxFor(t, 20*time.Second), field(offer, "request")); err != nil {
		t.Fatalf("bob accepts: %v", err)
	}

	var first mixStats
	if err := waitFor(20*time.Second, func() error {
		var err error
		if first, err = chromedp.Run(ctx, chromedp.Evaluate[mixStats](readMixStats)); err != nil {
			return err
		}
		if first.Width != canvasW || first.Height != canvasH || first.Frames < 5 {
			return fmt.Errorf("browser plays %dx%d, %d frames (status %q)", first.Width, first.Height, first.Frames, first.Status)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	<-time.After(3 * time.Second)
	last, err := chromedp.Run(ctx, chromedp.Evaluate[mixStats](readMixStats))
	if err != nil {
		t.Fatal(err)
	}
	fps := float64(last.Frames-first.Frames) / time.Since(start).Seconds()
	t.Logf("browser plays the mix at %.1f fps", fps)
	if fps < 0.8*testFPS {
		t.Errorf("browser plays %.1f fps, want at least %.1f", fps, 0.8*testFPS)
	}
	if path := os.Getenv("THREEWAY_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(path, png, 0o644)
		}
		if err != nil {
			t.Errorf("screenshot: %v", err)
		}
	}

	// The peers see the browser's camera: call.state says the customer has
	// video, and their own colours sit in the three-party tiles.
	if err := waitFor(10*time.Second, func() error { return customerHasVideo(agent) }); err != nil {
		t.Error(err)
	}
	want := map[string]image.Rectangle{"agent": equalRects[3][1], "third": equalRects[3][2]}
	for _, p := range []*peer.Peer{agent, bob} {
		if err := waitFor(5*time.Second, func() error { return tilesAt(p, want) }); err != nil {
			t.Error(err)
		}
	}
}

func customerHasVideo(p *peer.Peer) error {
	msgs := p.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Type != "call.state" {
			continue
		}
		var state struct {
			Parties []struct {
				Role  string `json:"role"`
				Video bool   `json:"video"`
			} `json:"parties"`
		}
		if err := json.Unmarshal(msgs[i].Raw, &state); err != nil {
			return err
		}
		for _, party := range state.Parties {
			if party.Role == "customer" && party.Video {
				return nil
			}
		}
		return fmt.Errorf("latest call.state has no customer with video: %s", msgs[i].Raw)
	}
	return fmt.Errorf("no call.state received")
}
