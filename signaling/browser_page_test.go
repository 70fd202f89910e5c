package signaling_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// A page opened without a link says how to get one (and how the third
// party arrives) instead of a join form that can only be refused; it
// loads without a console error (no invalid pattern, no missing icon).
func TestBrowserBarePageGuides(t *testing.T) {
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t)
	page := openTab(t, browser, ts.http.URL+"/")
	pageHolds(t, page, 10*time.Second, `!document.getElementById("guide").hidden && document.getElementById("join").hidden`)
	guide, err := chromedp.Run(page, chromedp.Evaluate[string](`document.getElementById("guide").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"POST /api/calls", "--demo", "console", "Three-Party"} {
		if !strings.Contains(guide, want) {
			t.Errorf("the guide does not mention %q: %s", want, guide)
		}
	}
	// A call's link fills the join form, whose fields the browser checks
	// against their patterns.
	c := ts.createCall(t, "Ann", "alice")
	customer := openTab(t, browser, c.Customer.URL)
	pageHolds(t, customer, 10*time.Second, `document.getElementById("guide").hidden && !document.getElementById("join").hidden && document.getElementById("call").checkValidity()`)
	pageHolds(t, page, 5*time.Second, `document.querySelector('link[rel="icon"]') !== null`)
	if ok, err := chromedp.Run(page, chromedp.Evaluate[bool](`fetch("/favicon.ico").then(r => r.ok)`, chromedp.EvalAwaitPromise)); err != nil || !ok {
		t.Errorf("GET /favicon.ico: %v %v", ok, err)
	}
}

// pageText is an element's text.
func pageText(t *testing.T, tab context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return s
}

// bannerSays waits until the page's banner contains want, and checks the
// Events list recorded it too.
func bannerSays(t *testing.T, tab context.Context, want string) {
	t.Helper()
	js := strconv.Quote(want)
	pageHolds(t, tab, 10*time.Second, `document.getElementById("status").textContent.includes(`+js+`)`)
	pageHolds(t, tab, 2*time.Second, `Array.from(document.querySelectorAll("#log li"), li => li.textContent).some(s => s.includes(`+js+`))`)
}

// An agent works a call from its own link, which is also its console:
// the Three-Party dialog lists the queues with how many agents are idle
// and the agents with their presence, and help comes from a queue and
// from a named agent. The banner and the Events list follow the call
// (joins, leaves, a camera turned off, a share started and stopped), and
// what the rules would refuse is disabled with the reason as its tooltip.
func TestBrowserAgentWorksTheConsole(t *testing.T) {
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t)
	helpers := map[string]*peer.Peer{"bob": ts.console(t, "bob"), "carol": ts.console(t, "carol")}
	c := ts.createCall(t, "Ann", "alice")
	customer := ts.join(t, c.Call, "customer", c.Customer.Token)
	agent := openTab(t, browser, c.Agent.URL)
	pageHolds(t, agent, 10*time.Second, `threeway.presence !== null && threeway.directory !== null`)
	click(t, agent, "#joinButton")
	pageHolds(t, agent, 20*time.Second, `threeway.state !== null && threeway.state.parties.length === 2`)
	pageHolds(t, agent, 5*time.Second, `document.getElementById("join").hidden`)
	// The connection panel reads the composed picture's size and rate.
	pageHolds(t, agent, 10*time.Second, `threeway.stats && threeway.stats.size === "1280×720" && threeway.stats.fps >= 5 &&
		document.querySelector('[data-testid="stat-picture"]').textContent.startsWith("1280×720 at")`)

	click(t, agent, "#btn-three-party")
	options := func(id string) string {
		return pageText(t, agent, `Array.from(document.getElementById("`+id+`").options, o => o.textContent).join("|")`)
	}
	// Opening the dialog asks for the directory as it is now: alice is
	// busy in this call.
	for id, want := range map[string]string{
		"help-queue": "Billing (2 of 3 idle)|Tech support (2 of 3 idle)",
		"help-agent": "Alice Archer (busy)|Bob Baker|Carol Chen|Dave Diaz (offline)",
	} {
		if err := waitFor(5*time.Second, func() error {
			if got := options(id); got != want {
				return fmt.Errorf("%s offers %q, want %q", id, got, want)
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}

	// Help from a queue: whoever is offered it accepts.
	ask := func(mode, value string) {
		t.Helper()
		_, err := chromedp.Run(agent, chromedp.Evaluate[bool](`(() => {
			const mode = document.getElementById("help-mode");
			mode.value = "`+mode+`";
			mode.dispatchEvent(new Event("change"));
			document.getElementById("help-`+mode+`").value = "`+value+`";
			return true;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		click(t, agent, "#btn-help-request")
	}
	ask("queue", "billing")
	helper := acceptFirstOffer(t, helpers)
	bannerSays(t, agent, "The third party "+helper+" joined the call.")

	// A camera off disables what needs everyone's video, saying why.
	if err := customer.SetVideo(false); err != nil {
		t.Fatal(err)
	}
	bannerSays(t, agent, "turned their camera off.")
	pageHolds(t, agent, 5*time.Second, `(() => {
		const max = document.getElementById("btn-max-customer"), share = document.getElementById("btn-share");
		return max.disabled && max.title === "Enlarging a tile needs everyone's camera on, and the customer has it off." &&
			share.disabled && share.title.startsWith("Sharing the screen needs everyone's camera on");
	})()`)
	if err := customer.SetVideo(true); err != nil {
		t.Fatal(err)
	}
	pageHolds(t, agent, 5*time.Second, `!document.getElementById("btn-max-customer").disabled && document.getElementById("btn-max-customer").title === ""`)

	// A share is announced; while it lasts Equal is not lit and the share
	// button says who shares.
	if err := customer.StartShare(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	bannerSays(t, agent, "is sharing the screen.")
	pageHolds(t, agent, 5*time.Second, `!document.getElementById("btn-equal").classList.contains("active") &&
		document.getElementById("btn-share").title === "The customer is sharing the screen: one share at a time."`)
	if err := customer.StopShare(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	bannerSays(t, agent, "Screen share of the customer ended")
	pageHolds(t, agent, 5*time.Second, `document.getElementById("btn-equal").classList.contains("active")`)

	click(t, agent, "#btn-drop-third")
	bannerSays(t, agent, "The third party "+helper+" left the call.")

	// Help from a named agent.
	other := map[string]string{"Bob Baker": "carol", "Carol Chen": "bob"}[helper]
	click(t, agent, "#btn-three-party")
	ask("agent", other)
	named := acceptFirstOffer(t, map[string]*peer.Peer{other: helpers[other]})
	bannerSays(t, agent, "The third party "+named+" joined the call.")

	errs := pageText(t, agent, `Array.from(document.querySelectorAll("#log li.error"), li => li.textContent).join("; ")`)
	if errs != "" {
		t.Errorf("the agent's page logged errors: %s", errs)
	}
}

// acceptFirstOffer waits for a help offer at any of the consoles, has
// that agent accept it, and returns its name as the call shows it.
func acceptFirstOffer(t *testing.T, consoles map[string]*peer.Peer) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for id, p := range consoles {
			for _, m := range p.Messages() {
				if m.Type != "help.offer" {
					continue
				}
				if err := p.Accept(ctxFor(t, 20*time.Second), field(m, "request")); err != nil {
					t.Fatalf("%s accepts: %v", id, err)
				}
				return map[string]string{"bob": "Bob Baker", "carol": "Carol Chen"}[id]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no console was offered the request")
	return ""
}

// TestBrowserScreenshots writes the README's screenshots into the
// directory THREEWAY_SCREENSHOTS names (`make screenshots`): the agent's
// page with the Three-Party dialog, a help offer on another agent's
// console, and the customer's page in the three-party call.
func TestBrowserScreenshots(t *testing.T) {
	dir := os.Getenv("THREEWAY_SCREENSHOTS")
	if dir == "" {
		t.Skip("set THREEWAY_SCREENSHOTS to a directory to write the README's screenshots")
	}
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	shot := func(tab context.Context, name string) {
		t.Helper()
		time.Sleep(1500 * time.Millisecond) // the picture settles
		png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	open := func(url string) context.Context {
		tab := openTab(t, browser, url)
		if _, err := chromedp.Run(tab, chromedp.EmulateViewport(1280, 860)); err != nil {
			t.Fatal(err)
		}
		return tab
	}
	bob := open(ts.http.URL + "/?console=" + ts.consoleToken(t, "bob"))
	customer := open(c.Customer.URL)
	click(t, customer, "#joinButton")
	agent := open(c.Agent.URL)
	click(t, agent, "#joinButton")
	pageHolds(t, agent, 20*time.Second, `threeway.state !== null && threeway.state.parties.length === 2 && threeway.stats && threeway.stats.fps > 0`)
	click(t, agent, "#btn-three-party")
	pageHolds(t, agent, 5*time.Second, `document.getElementById("help-queue").options[0].textContent.includes("idle")`)
	shot(agent, "agent-console.png")
	click(t, agent, "#btn-help-request")
	pageHolds(t, bob, 10*time.Second, `document.querySelector("#offers button.accept") !== null`)
	shot(bob, "help-offer.png")
	click(t, bob, "#offers button.accept")
	pageHolds(t, customer, 20*time.Second, `threeway.state.parties.length === 3`)
	shot(customer, "customer-page.png")
}

// On a server in sfu mode the agent's page disables Three-Party, saying
// why, and offers no layout to pick: the picture is the other's camera.
func TestBrowserSFUDisablesWhatItCannotDo(t *testing.T) {
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(p *signaling.ServerParams) { p.Calls.VideoMode = call.SFU })
	c := ts.createCall(t, "Ann", "alice")
	ts.join(t, c.Call, "customer", c.Customer.Token)
	agent := openTab(t, browser, c.Agent.URL)
	click(t, agent, "#joinButton")
	pageHolds(t, agent, 20*time.Second, `threeway.state !== null && threeway.state.parties.length === 2 && !document.getElementById("controls").hidden`)
	pageHolds(t, agent, 5*time.Second, `(() => {
		const three = document.getElementById("btn-three-party");
		return three.disabled && three.title === "This server runs in sfu mode, which carries two parties only." &&
			["btn-equal", "btn-max-customer", "btn-max-agent", "btn-share"].every(id => document.getElementById(id).hidden);
	})()`)
}
