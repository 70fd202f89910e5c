package signaling_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/threeway-mcu/threeway/peer"
)

// A customer in a real browser reloads its page in a two-party call: the
// page joins its seat back by itself (nothing is pressed), with the layout
// it had chosen; the agent saw it reconnecting and never left, and the
// page plays the call's picture again, the agent in it. The same when the
// network drops the page's socket.
func TestBrowserReloadRejoins(t *testing.T) {
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil { // starts the browser, for the life of the test
		t.Fatal(err)
	}
	ts := startServer(t)
	proxy := startProxy(t, strings.TrimPrefix(ts.http.URL, "http://"))
	c := ts.createCall(t, "Chromium", "alice")
	tab := openTab(t, browser, strings.Replace(c.Customer.URL, ts.http.URL, "http://"+proxy.ln.Addr().String(), 1))
	click(t, tab, "#joinButton")
	agent := ts.join(t, c.Call, "agent", c.Agent.Token)
	pageHolds(t, tab, 20*time.Second, `threeway.state && threeway.state.parties.length === 2`)
	click(t, tab, "#btn-max-agent")
	pageHolds(t, tab, 10*time.Second, `threeway.state.layout.mode === "maximize"`)
	if err := waitFor(20*time.Second, func() error { return agentLarge(tab) }); err != nil {
		t.Fatalf("before the reload: %v", err)
	}

	reload := time.Now()
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatalf("reload: %v", err)
	}
	pageHolds(t, tab, 20*time.Second, `threeway.role === "customer" && threeway.state && threeway.state.layout.mode === "maximize"`)
	// The picture played before the reload is gone with the old page:
	// what shows the agent large now is the seat's own view again.
	if err := waitFor(20*time.Second, func() error { return agentLarge(tab) }); err != nil {
		t.Errorf("after the reload: %v", err)
	}
	t.Logf("the page plays the call again %v after the reload", time.Since(reload).Round(time.Millisecond))
	if !sawReconnecting(agent, "customer", reload) {
		t.Error("the agent's call.state never showed the customer reconnecting")
	}
	if err := waitFor(5*time.Second, func() error { return showsReconnecting(agent) }); err != nil {
		t.Error(err)
	}
	if got := messagesSince(agent, reload); slices.Contains(got, "left") {
		t.Errorf("the agent was told %v during the reload, want the call to go on", got)
	}

	cut := time.Now()
	proxy.cut()
	pageHolds(t, tab, 20*time.Second, `threeway.messages.filter((m) => m.type === "joined").length === 2`)
	if err := waitFor(20*time.Second, func() error { return agentLarge(tab) }); err != nil {
		t.Errorf("after the socket dropped: %v", err)
	}
	t.Logf("the page is back %v after its socket dropped", time.Since(cut).Round(time.Millisecond))
	if got := messagesSince(agent, cut); slices.Contains(got, "left") {
		t.Errorf("the agent was told %v when the page's socket dropped, want the call to go on", got)
	}
}

// agentLarge checks that the page's picture shows the agent maximized: its
// tile wider than the equal layout's half of the canvas.
func agentLarge(tab context.Context) error {
	tiles, err := pageTiles(tab)
	if err != nil {
		return err
	}
	if w := tiles["agent"].Box.Dx(); w < canvasW*2/3 {
		return errorf("the agent's tile on the page is %d wide (sees %v), want it maximized", w, tileRoles(tiles))
	}
	return nil
}

// sawReconnecting reports whether a call.state p got after since showed
// role reconnecting.
func sawReconnecting(p *peer.Peer, role string, since time.Time) bool {
	for _, m := range p.Messages() {
		if m.Type != "call.state" || !m.At.After(since) {
			continue
		}
		var st seenState
		if m.Decode(&st) != nil {
			continue
		}
		for _, party := range st.Parties {
			if party.Role == role && party.Reconnecting {
				return true
			}
		}
	}
	return false
}
