package cluster

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/threeway-mcu/threeway/call"
)

// consoles is a call.Notifier that keeps what agents' consoles and the
// parties were told.
type consoles struct {
	mu     sync.Mutex
	events []call.Event
}

func (n *consoles) Changed(*call.Snapshot) {}
func (n *consoles) ToParty(_ string, _ call.Role, ev call.Event) {
	n.add(ev)
}
func (n *consoles) ToAgent(_ string, ev call.Event) { n.add(ev) }

func (n *consoles) add(ev call.Event) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, ev)
}

func (n *consoles) got(match func(call.Event) bool) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.ContainsFunc(n.events, match)
}

// sharing is a node with a call center that shares its agents.
type sharing struct {
	cl     *Cluster
	center *call.Center
	told   *consoles
	agents *Agents
}

func share(t *testing.T, mr *miniredis.Miniredis, id string) *sharing {
	t.Helper()
	cl := open(t, mr, id, Load{Cores: 2}, 0)
	told := &consoles{}
	center := call.NewCenter(call.Params{Directory: call.DefaultDirectory(), Notifier: told})
	agents := cl.ShareAgents(center)
	center.SetPeers(agents)
	return &sharing{cl: cl, center: center, told: told, agents: agents}
}

// resync has the node read the others' facts now, and waits for it.
func (s *sharing) resync(t *testing.T) {
	t.Helper()
	done := func() int {
		s.agents.qmu.Lock()
		defer s.agents.qmu.Unlock()
		return s.agents.resyncs
	}
	before := done()
	s.agents.askResync()
	waitUntil(t, "the resync", func() bool { return done() > before })
}

func (s *sharing) state(id string) call.AgentStatus {
	for _, a := range s.center.Agents() {
		if a.ID == id {
			return a
		}
	}
	return call.AgentStatus{}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// halt stops c as a crash would: no more heartbeats or facts, and nothing
// taken out of Redis.
func (c *Cluster) halt() {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.stopped
		if a := c.agents; a != nil {
			a.closeOnce.Do(func() {
				close(a.done)
				_ = a.pubsub.Close()
				a.stopped.Wait()
			})
		}
		_ = c.rdb.Close()
	})
}

// Through Redis an agent signed in on one node is idle on the other, is
// offered help for a call there, and its no reaches the call's node; a
// node that stops takes its agents' facts with it after the TTL.
func TestAgentsAcrossNodes(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := share(t, mr, "a"), share(t, mr, "b")
	if _, err := b.center.SignIn("carol"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "carol idle on a", func() bool { return a.state("carol").State == call.Idle })

	id, err := a.center.CreateCall("Ann", "dave")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct {
		role  call.Role
		agent string
	}{{call.Customer, ""}, {call.AgentRole, "dave"}} {
		if _, err := a.center.Join(id, j.role, "", j.agent); err != nil {
			t.Fatal(err)
		}
	}
	rid, err := a.center.RequestHelp(id, call.AgentRole, call.HelpRequest{Mode: call.ByAgent, Agent: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the offer on b", func() bool {
		return b.told.got(func(ev call.Event) bool { o, ok := ev.(call.HelpOffer); return ok && o.Request == rid && o.Call == id })
	})
	if err := b.center.RejectHelp("carol", rid); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "help.failed on a", func() bool {
		return a.told.got(func(ev call.Event) bool {
			f, ok := ev.(call.HelpFailed)
			return ok && f == call.HelpFailed{Request: rid, Reason: call.CodeRejected}
		})
	})
	waitUntil(t, "carol idle again on a", func() bool { return a.state("carol").State == call.Idle })

	// Facts b never heard published (the message lost) reach it with its
	// next resync, from a's hash.
	ctx := context.Background()
	lost, _ := json.Marshal(factsMessage{Seq: 1 << 62, Facts: call.AgentFacts{Consoles: 1, Chosen: call.Idle, ChosenAt: time.Now(), At: time.Now()}})
	mr.HSet(a.cl.factsKey("a"), "alice", string(lost))
	if s := b.state("alice").State; s != call.Offline {
		t.Fatalf("b knew of alice before reading a's hash: %s", s)
	}
	b.resync(t)
	if s := b.state("alice").State; s != call.Idle {
		t.Errorf("after a resync alice is %s on b, want idle", s)
	}

	b.cl.halt()
	mr.FastForward(4 * time.Second) // past the TTL
	if err := a.cl.beat(ctx); err != nil {
		t.Fatal(err)
	}
	a.resync(t)
	if s := a.state("carol").State; s != call.Idle {
		t.Errorf("one resync without b (a Redis that restarted?): carol is %s on a, want still idle", s)
	}
	a.resync(t)
	if s := a.state("carol").State; s != call.Offline {
		t.Errorf("with b dead, carol (signed in on b only) is %s on a, want offline", s)
	}
	// A late message of the dead node changes nothing.
	a.agents.apply("b", "carol", factsMessage{Seq: 1 << 62, Facts: call.AgentFacts{Consoles: 1}})
	if s := a.state("carol").State; s != call.Offline {
		t.Errorf("after a late message of dead b, carol is %s on a, want offline", s)
	}
}

// A message to another node that waited too long in the queue (Redis
// slow or away) is dropped, not delivered late; a fresh one goes.
func TestStaleMessagesAreDropped(t *testing.T) {
	mr := miniredis.RunT(t)
	a, b := share(t, mr, "a"), share(t, mr, "b")
	if _, err := b.center.SignIn("carol"); err != nil {
		t.Fatal(err)
	}
	offer := func(request string, age time.Duration) outgoing {
		data, _ := json.Marshal(call.HelpOffer{Request: request, Call: "c1"})
		return outgoing{node: "b", msg: &inboxMessage{Agent: "carol", Kind: "help.offer", Event: data}, at: time.Now().Add(-age)}
	}
	a.agents.post([]outgoing{offer("stale", staleMessage+time.Second), offer("fresh", 0)}, time.Time{})
	isOffer := func(request string) func(call.Event) bool {
		return func(ev call.Event) bool { o, ok := ev.(call.HelpOffer); return ok && o.Request == request }
	}
	waitUntil(t, "the fresh offer on b", func() bool { return b.told.got(isOffer("fresh")) })
	if b.told.got(isOffer("stale")) {
		t.Error("an offer older than staleMessage was delivered")
	}
}
