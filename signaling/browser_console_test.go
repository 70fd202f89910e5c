package signaling_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/peer"
)

// grabMix draws the page's composed picture (#mix) at half size and
// returns it as "WxH:" + base64 of its RGBA pixels, or "" before the
// first frame.
const grabMix = `(() => {
	const v = document.getElementById("mix");
	if (!v.videoWidth) return "";
	const c = document.createElement("canvas");
	c.width = v.videoWidth / 2;
	c.height = v.videoHeight / 2;
	const g = c.getContext("2d");
	g.drawImage(v, 0, 0, c.width, c.height);
	const d = g.getImageData(0, 0, c.width, c.height).data;
	let s = "";
	for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
	return c.width + "x" + c.height + ":" + btoa(s);
})()`

// pageTiles finds the role colours in the picture a page shows, in
// full-size canvas coordinates.
func pageTiles(ctx context.Context) (map[string]peer.Tile, error) {
	grab, err := chromedp.Run(ctx, chromedp.Evaluate[string](grabMix))
	if err != nil {
		return nil, err
	}
	size, data, ok := strings.Cut(grab, ":")
	if !ok {
		return nil, fmt.Errorf("the page shows no picture yet")
	}
	var w, h int
	if _, err := fmt.Sscanf(size, "%dx%d", &w, &h); err != nil {
		return nil, fmt.Errorf("picture size %q: %w", size, err)
	}
	rgba, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, err
	}
	if len(rgba) != 4*w*h {
		return nil, fmt.Errorf("picture of %dx%d has %d bytes", w, h, len(rgba))
	}
	tiles := peer.FindTiles(rgbaToI420(rgba, w, h))
	for role, t := range tiles {
		t.Box = image.Rect(2*t.Box.Min.X, 2*t.Box.Min.Y, 2*t.Box.Max.X, 2*t.Box.Max.Y)
		t.Pixels *= 4
		tiles[role] = t
	}
	return tiles, nil
}

// rgbaToI420 converts with BT.601 studio swing, the inverse of what the
// browser used to show the VP8 picture.
func rgbaToI420(rgba []byte, w, h int) *codec.Frame {
	f := codec.NewFrame(w, h)
	for y := range h {
		for x := range w {
			r, g, b := float64(rgba[4*(y*w+x)]), float64(rgba[4*(y*w+x)+1]), float64(rgba[4*(y*w+x)+2])
			f.Y[y*w+x] = clampByte(16 + (65.481*r+128.553*g+24.966*b)/255)
			if x%2 == 0 && y%2 == 0 {
				c := (y/2)*f.ChromaWidth() + x/2
				f.U[c] = clampByte(128 + (-37.797*r-74.203*g+112*b)/255)
				f.V[c] = clampByte(128 + (112*r-93.786*g-18.214*b)/255)
			}
		}
	}
	return f
}

func clampByte(v float64) byte {
	return byte(min(255, max(0, v+0.5)))
}

// openTab opens url in a new tab of the browser that ctx belongs to.
func openTab(t *testing.T, browser context.Context, url string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	failOnConsoleErrors(t, tab, url)
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return tab
}

// click presses the element sel names, waiting for it to be visible.
func click(t *testing.T, tab context.Context, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("press %s: %v", sel, err)
	}
}

// pageHolds waits until the JavaScript condition cond is true on the page.
func pageHolds(t *testing.T, tab context.Context, d time.Duration, cond string) {
	t.Helper()
	var last string
	err := waitFor(d, func() error {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](cond))
		if err != nil || !ok {
			status, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
			last = status
			return fmt.Errorf("%s does not hold (page status %q, err %v)", cond, status, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v (last status %q)", err, last)
	}
}

// pageShows waits until the page's picture shows want's colours at their
// rectangles (other colours may show too: the browsers' own cameras are no
// role colour).
func pageShows(tab context.Context, d time.Duration, want map[string]image.Rectangle) error {
	return waitFor(d, func() error {
		tiles, err := pageTiles(tab)
		if err != nil {
			return err
		}
		for role, rect := range want {
			tile, ok := tiles[role]
			if !ok {
				return fmt.Errorf("the page's picture lacks %s's colour (has %v)", role, tileRoles(tiles))
			}
			if !near(tile.Box, rect, 2*boxSlackPx) {
				return fmt.Errorf("%s's tile is at %v on the page, want %v", role, tile.Box, rect)
			}
		}
		return nil
	})
}

// The agent console in a real browser: the call's agent (a browser tab)
// asks for a named agent with the Three-Party form; that agent's console
// (another tab) first rejects, then accepts and joins as the third party;
// then the agent presses "Customer large" and sees the customer's picture
// maximized, while the customer's own picture keeps equal tiles, and
// "Equal" brings the tiles back.
func TestBrowserAgentConsole(t *testing.T) {
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil { // starts the browser, for the life of the test
		t.Fatal(err)
	}
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	customer := ts.join(t, c.Call, "customer", c.Customer.Token)

	agent := openTab(t, browser, c.Agent.URL)
	click(t, agent, "#joinButton")
	pageHolds(t, agent, 20*time.Second, `threeway.state !== null && threeway.state.parties.length === 2`)

	bob := openTab(t, browser, "http://"+ts.http.Listener.Addr().String()+"/?console="+ts.consoleToken(t, "bob"))
	pageHolds(t, bob, 10*time.Second, `threeway.presence !== null && threeway.presence.state === "idle"`)

	askForBob := func() {
		click(t, agent, "#btn-three-party")
		_, err := chromedp.Run(agent, chromedp.Evaluate[bool](`(() => {
			const mode = document.getElementById("help-mode");
			mode.value = "agent";
			mode.dispatchEvent(new Event("change"));
			document.getElementById("help-agent").value = "bob";
			return document.getElementById("help-agent").value === "bob";
		})()`))
		if err != nil {
			t.Fatalf("fill the three-party form: %v", err)
		}
		click(t, agent, "#btn-help-request")
	}

	askForBob()
	pageHolds(t, bob, 10*time.Second, `document.querySelector("#offers button.reject") !== null`)
	click(t, bob, "#offers button.reject")
	pageHolds(t, agent, 10*time.Second, `threeway.messages.some(m => m.type === "help.failed" && m.reason === "rejected")`)

	askForBob()
	pageHolds(t, bob, 10*time.Second, `document.querySelector("#offers button.accept") !== null`)
	click(t, bob, "#offers button.accept")
	pageHolds(t, bob, 20*time.Second, `threeway.role === "third"`)
	pageHolds(t, agent, 20*time.Second, `threeway.state.parties.length === 3 && threeway.state.parties.every(p => p.video)`)

	tileOf := func(i int) map[string]image.Rectangle {
		return map[string]image.Rectangle{"customer": equalRects[3][i]}
	}
	if err := pageShows(agent, 10*time.Second, tileOf(0)); err != nil {
		t.Fatalf("before maximize: %v", err)
	}

	click(t, agent, "#btn-max-customer")
	pageHolds(t, agent, 5*time.Second, `threeway.state.layout.mode === "maximize" && threeway.state.layout.party === "customer"`)
	if err := pageShows(agent, 5*time.Second, map[string]image.Rectangle{"customer": image.Rect(0, 90, 960, 630)}); err != nil {
		t.Errorf("after Customer large: %v", err)
	}
	if err := waitFor(2*time.Second, func() error {
		return tilesAt(customer, map[string]image.Rectangle{"customer": equalRects[3][0]})
	}); err != nil {
		t.Errorf("the customer's own picture changed with the agent's layout: %v", err)
	}

	click(t, agent, "#btn-equal")
	if err := pageShows(agent, 5*time.Second, tileOf(0)); err != nil {
		t.Errorf("after Equal: %v", err)
	}

	for name, tab := range map[string]context.Context{"agent": agent, "bob": bob} {
		errs, err := chromedp.Run(tab, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("#log li.error"), li => li.textContent)`))
		if err != nil || len(errs) > 0 {
			t.Errorf("%s's page logged errors: %q %v", name, errs, err)
		}
	}
}

// failOnConsoleErrors fails the test, as it ends, with every error the
// page at url printed to its console or threw: an invalid pattern, a
// missing file, an uncaught exception.
func failOnConsoleErrors(t *testing.T, tab context.Context, url string) {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	err := chromedp.Listen(tab, func(ev any) {
		var text string
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				text = ev.Entry.Text + " " + ev.Entry.URL
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				for _, a := range ev.Args {
					text += string(a.Value) + a.Description + " "
				}
			}
		case *runtime.EventExceptionThrown:
			text = ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				text += " " + ev.ExceptionDetails.Exception.Description
			}
		}
		if text != "" {
			mu.Lock()
			errs = append(errs, text)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listen to %s's console: %v", url, err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			t.Errorf("the page %s printed errors: %q", url, errs)
		}
	})
}
