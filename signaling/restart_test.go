package signaling_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

// An ICE restart on a live leg (a new offer with new credentials, on the
// same socket) is answered: a party whose path died restarts ICE, and once
// the path is back its media flows on the new ICE session, with no rejoin.
func TestICERestartAfterAnOutage(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.twoParty(t)
	customer, agent := peers["customer"], peers["agent"]
	if err := waitFor(15*time.Second, func() error { return equalTiles(agent, "customer", "agent") }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := customer.Silence(true); err != nil {
		t.Fatal(err)
	}
	frame := -1
	if err := waitFor(3*time.Second, func() error {
		if t, ok := agent.Counters().Tiles["customer"]; ok {
			frame = t.FrameNumber
		}
		return errors.Join(noColour(agent, "customer"), showsReconnecting(agent, "customer"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := customer.RestartICE(); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.WaitFor(ctxFor(t, 5*time.Second), "answer", func(m peer.Message) bool { return m.At.After(start) }); err != nil {
		t.Fatalf("the restart's offer was not answered: %v", err)
	}
	if err := customer.Silence(false); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(10*time.Second, func() error { return movesPast(agent, "customer", frame) }); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if err := waitFor(5*time.Second, func() error { return showsReconnecting(agent) }); err != nil {
		t.Error(err)
	}
	if got := messagesSince(customer, start); slices.Contains(got, "joined") || slices.Contains(got, "error") {
		t.Errorf("the customer got %v, want an answer and no new leg", got)
	}
	if err := resumesInTile(agent, "customer", holeWait); err != nil {
		t.Errorf("after the restart, the agent: %v", err)
	}
}

// A peer with Config.Reconnect restarts ICE on its own when its path stays
// lost (as the page does): the server answers the restart offer on the
// live leg, and once the path is back the media flows on the new ICE
// session, the seat never given up.
func TestPeerRestartsICEOnItsOwn(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	customer := ts.join(t, c.Call, "customer", c.Customer.Token, func(cfg *peer.Config) { cfg.Reconnect = true })
	agent := ts.join(t, c.Call, "agent", c.Agent.Token)
	if err := waitFor(15*time.Second, func() error { return equalTiles(agent, "customer", "agent") }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := customer.Silence(true); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.WaitFor(ctxFor(t, 15*time.Second), "answer", func(m peer.Message) bool { return m.At.After(start) }); err != nil {
		t.Fatalf("the customer did not restart ICE while its path was lost: %v", err)
	}
	t.Logf("the customer restarted ICE %v into the outage", time.Since(start).Round(time.Millisecond))
	if err := customer.Silence(false); err != nil {
		t.Fatal(err)
	}
	if err := resumesInTile(agent, "customer", holeWait); err != nil {
		t.Errorf("after the restart, the agent: %v", err)
	}
	if err := waitFor(5*time.Second, func() error { return showsReconnecting(agent) }); err != nil {
		t.Error(err)
	}
	if got := messagesSince(customer, start); slices.Contains(got, "joined") || slices.Contains(got, "left") {
		t.Errorf("the customer got %v, want its leg to go on", got)
	}
}
