package call

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// bus joins Centers as the nodes of a cluster, as package cluster does
// over Redis: what one node publishes or sends is queued, and flush
// hands it over in order.
type bus struct {
	mu     sync.Mutex
	nodes  map[string]*Center
	queued []func()
}

type busPeer struct {
	b    *bus
	node string
}

func (b *bus) post(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queued = append(b.queued, f)
}

// flush delivers everything queued, and what that queues in turn.
func (b *bus) flush() {
	for {
		b.mu.Lock()
		if len(b.queued) == 0 {
			b.mu.Unlock()
			return
		}
		f := b.queued[0]
		b.queued = b.queued[1:]
		b.mu.Unlock()
		f()
	}
}

func (p busPeer) Publish(agentID string, f AgentFacts) {
	for name, c := range p.b.nodes {
		if name != p.node {
			p.b.post(func() { c.SetPeerAgent(p.node, agentID, f) })
		}
	}
}

func (p busPeer) Deliver(node, agentID string, ev Event) {
	c := p.b.nodes[node]
	p.b.post(func() { c.DeliverToAgent(agentID, ev) })
}

func (p busPeer) Reject(node, agentID, request string) {
	c := p.b.nodes[node]
	p.b.post(func() { _ = c.RejectHelp(agentID, request) })
}

// newNodes makes one fixture per name, on one clock, joined by a bus.
// Each node's ids start with its name.
func newNodes(t *testing.T, names ...string) (*bus, map[string]*fixture) {
	b := &bus{nodes: map[string]*Center{}}
	clock := newFakeClock()
	nodes := map[string]*fixture{}
	for _, name := range names {
		n := 0
		f := newFixture(t, func(p *Params) {
			p.Clock = clock
			p.NewID = func() string { n++; return fmt.Sprintf("%s-%d", name, n) }
		})
		f.clock = clock
		f.c.SetPeers(busPeer{b, name})
		b.nodes[name] = f.c
		nodes[name] = f
	}
	return b, nodes
}

// An agent whose console is on another node is offered help for a call
// here, its presence is the same on both nodes, and its no moves the
// queue on, on the call's node.
func TestConsoleOnAnotherNodeIsOfferedHelp(t *testing.T) {
	b, n := newNodes(t, "a", "b")
	n["b"].signIn("carol")
	b.flush()
	n["a"].wantPresence(map[string]PresenceState{"carol": Idle, "alice": Offline})

	id := n["a"].twoParty("dave")
	rid := n["a"].ask(id, byQueue("billing"))
	b.flush()
	offer := n["b"].lastOffer("carol")
	if offer.Request != rid || offer.Call != id {
		t.Errorf("carol's console on b was offered %+v, want request %s of call %s", offer, rid, id)
	}
	for _, node := range []string{"a", "b"} {
		n[node].wantPresence(map[string]PresenceState{"carol": Busy})
	}

	n["b"].must(n["b"].c.RejectHelp("carol", rid))
	b.flush()
	if got := partyEvents[HelpFailed](n["a"].rec, id, AgentRole); !reflect.DeepEqual(got, []HelpFailed{{rid, CodeNoAgentAvailable}}) {
		t.Errorf("after carol's no on b, dave got %+v, want help.failed no_agent_available", got)
	}
	for _, node := range []string{"a", "b"} {
		n[node].wantPresence(map[string]PresenceState{"carol": Idle})
	}
	wantCode(t, n["b"].c.RejectHelp("carol", rid), CodeNoSuchRequest)
}

// A console that moved to the call's node accepts there; the agent is
// then busy in that call on every node, and free again when it leaves.
func TestHelpAcceptedOnTheCallsNode(t *testing.T) {
	b, n := newNodes(t, "a", "b")
	n["b"].signIn("carol")
	b.flush()
	id := n["a"].twoParty("dave")
	rid := n["a"].ask(id, byAgent("carol"))
	b.flush()

	n["a"].signIn("carol") // the console, moved
	if call, ok := n["a"].c.RingingCall("carol", rid); !ok || call != id {
		t.Fatalf("RingingCall = %q, %v; want %s", call, ok, id)
	}
	n["a"].accept("carol", rid)
	n["b"].c.SignOut("carol")
	b.flush()
	if got := n["b"].agent("carol"); got.State != Busy || got.Call != id {
		t.Errorf("on b carol is %s in call %q, want busy in %s", got.State, got.Call, id)
	}
	if got := roles(n["a"].state(id)); !slices.Equal(got, []Role{Customer, AgentRole, Third}) {
		t.Errorf("parties %v", got)
	}
	// In a call on a, carol cannot join another on b.
	other := n["b"].create("carol")
	_, err := n["b"].c.Join(other, AgentRole, "", "carol")
	wantCode(t, err, CodeAgentUnavailable)

	n["a"].must(n["a"].c.Leave(id, Third, ReasonHangup))
	b.flush()
	n["b"].wantPresence(map[string]PresenceState{"carol": Idle})
}

// Two nodes that ring the same agent at once settle it the same way:
// the earlier ring keeps it, the other request fails as if the agent
// were unavailable, and the agent's consoles hear it withdrawn.
func TestAgentRungByTwoNodesKeepsTheFirst(t *testing.T) {
	b, n := newNodes(t, "a", "b")
	n["b"].signIn("carol")
	b.flush()
	first := n["a"].twoParty("dave")
	second := n["b"].twoParty("bob")
	rFirst := n["a"].ask(first, byAgent("carol"))
	n["a"].clock.Advance(time.Millisecond)
	rSecond := n["b"].ask(second, byAgent("carol"))
	b.flush()

	if got := partyEvents[HelpFailed](n["b"].rec, second, AgentRole); !reflect.DeepEqual(got, []HelpFailed{{rSecond, CodeAgentUnavailable}}) {
		t.Errorf("the later request got %+v, want help.failed agent_unavailable", got)
	}
	if got := partyEvents[HelpFailed](n["a"].rec, first, AgentRole); len(got) != 0 {
		t.Errorf("the first request failed: %+v", got)
	}
	withdrawn := agentEvents[HelpWithdrawn](n["b"].rec, "carol")
	if !slices.Contains(withdrawn, HelpWithdrawn{rSecond, CodeAgentUnavailable}) {
		t.Errorf("carol's console heard %+v, want %s withdrawn", withdrawn, rSecond)
	}
	if s := n["a"].state(first); s.Help == nil || s.Help.Request != rFirst || s.Help.State != Ringing {
		t.Errorf("first call's help %+v, want %s still ringing carol", s.Help, rFirst)
	}
}

// A node that stops takes its facts with it: agents in its calls are
// free, agents whose only console was there are offline, and its offers
// are withdrawn from the consoles elsewhere.
func TestForgottenNodeFreesItsAgents(t *testing.T) {
	b, n := newNodes(t, "a", "b")
	n["b"].signIn("carol", "bob")
	n["a"].signIn("alice")
	b.flush()
	n["a"].twoParty("carol")
	callB := n["a"].twoParty("dave")
	rid := n["a"].ask(callB, byAgent("bob"))
	b.flush()
	n["b"].wantPresence(map[string]PresenceState{"carol": Busy, "bob": Busy, "alice": Idle})

	n["b"].c.ForgetPeer("a")
	n["b"].wantPresence(map[string]PresenceState{"carol": Idle, "bob": Idle, "alice": Offline})
	if got, _ := last(agentEvents[HelpWithdrawn](n["b"].rec, "bob")); got != (HelpWithdrawn{rid, ReasonNodeFailed}) {
		t.Errorf("bob's console on b last heard %+v, want %s withdrawn node_failed", got, rid)
	}
	if got := n["b"].agent("carol").Call; got != "" {
		t.Errorf("carol is still in call %q", got)
	}
}

// An agent who signs out of its last console anywhere is offline on
// every node, and an offer ringing it moves on.
func TestSignOutOnAnotherNodeMovesTheOfferOn(t *testing.T) {
	b, n := newNodes(t, "a", "b")
	n["b"].signIn("carol")
	n["a"].signIn("bob")
	b.flush()
	id := n["a"].twoParty("dave")
	n["a"].ask(id, byQueue("billing")) // carol: idle longest
	b.flush()
	if got := n["a"].offeredTo(); !slices.Equal(got, []string{"carol"}) {
		t.Fatalf("offered to %v, want carol", got)
	}
	n["b"].c.SignOut("carol")
	b.flush()
	if got := n["a"].offeredTo(); !slices.Equal(got, []string{"carol", "bob"}) {
		t.Errorf("after carol signed out on b, offered to %v, want carol then bob", got)
	}
	n["a"].wantPresence(map[string]PresenceState{"carol": Offline, "bob": Busy})
}

// An offer ringing here to an agent whose only console was on a node
// that stopped does not wait for the timeout: it goes at once.
func TestForgottenNodesConsolesLetTheirOffersGo(t *testing.T) {
	b, n := newNodes(t, "a", "b")
	n["a"].signIn("alice")
	b.flush()
	id := n["b"].twoParty("dave")
	rid := n["b"].ask(id, byAgent("alice"))
	b.flush()
	n["b"].wantPresence(map[string]PresenceState{"alice": Busy})

	n["b"].c.ForgetPeer("a")
	if got := partyEvents[HelpFailed](n["b"].rec, id, AgentRole); !reflect.DeepEqual(got, []HelpFailed{{rid, CodeRejected}}) {
		t.Errorf("dave got %+v, want help.failed as if alice had signed out", got)
	}
	n["b"].wantPresence(map[string]PresenceState{"alice": Offline})
}
