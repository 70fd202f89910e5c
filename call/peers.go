package call

import (
	"maps"
	"slices"
	"time"
)

// ReasonNodeFailed withdraws a help offer whose call's node stopped
// (HelpWithdrawn.Reason): the offer cannot be accepted any more.
const ReasonNodeFailed = "node_failed"

// AgentFacts is what one node knows of an agent: the facts its presence
// is derived from. In a cluster every node publishes its own, and each
// derives the agent's presence over all of them.
type AgentFacts struct {
	Consoles int           `json:"consoles,omitempty"` // signed-in consoles on the node
	Chosen   PresenceState `json:"chosen,omitempty"`   // idle or away, set on the node
	ChosenAt time.Time     `json:"chosen_at,omitzero"` // the latest choice anywhere wins
	Call     string        `json:"call,omitempty"`     // the agent's leg in a call there
	Ringing  string        `json:"ringing,omitempty"`  // a help request ringing it there
	RingAt   time.Time     `json:"ring_at,omitzero"`   // since when
	// At is when the node's facts last changed: a change of state they
	// make dates from it on every node, so that "idle longest" means the
	// same everywhere.
	At time.Time `json:"at,omitzero"`
}

// IsZero reports whether f says nothing: the node has no part in the
// agent's presence.
func (f AgentFacts) IsZero() bool {
	f.At = time.Time{}
	return f == AgentFacts{}
}

// Peers is how a Center that is one node of a cluster shares its agents'
// facts with the other nodes and reaches consoles and offers on them.
// Without Peers a Center is the only node. It is called with the
// Center's lock held: it must not block, nor call the Center back.
type Peers interface {
	// Publish tells the other nodes this node's facts about the agent.
	Publish(agentID string, f AgentFacts)
	// Deliver hands a help offer or its withdrawal to the agent's
	// consoles on node.
	Deliver(node, agentID string, ev Event)
	// Reject passes the agent's no to request, which rings on node.
	Reject(node, agentID, request string)
}

// SetPeers makes the Center one node of a cluster. Set it before the
// Center serves anyone.
func (c *Center) SetPeers(p Peers) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.peers = p
}

// SetPeerAgent takes another node's facts about an agent (zero: it has
// none any more). An offer ringing here yields when the agent signed out
// everywhere, took a call elsewhere, or was rung first by another node.
func (c *Center) SetPeerAgent(node, agentID string, f AgentFacts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[agentID]
	if a == nil {
		return // not in this node's directory
	}
	if f.IsZero() {
		delete(a.remote, node)
	} else {
		if a.remote == nil {
			a.remote = map[string]AgentFacts{}
		}
		a.remote[node] = f
	}
	c.settleRinging(a)
	c.updatePresenceAt(a, f.At)
}

// ForgetPeer drops every fact of a node that stopped: agents in its calls
// are free again, its consoles are gone, and its offers are withdrawn
// from the consoles here.
func (c *Center) ForgetPeer(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.agentOrder {
		a := c.agents[id]
		f, ok := a.remote[node]
		if !ok {
			continue
		}
		delete(a.remote, node)
		if f.Ringing != "" {
			c.notify.ToAgent(a.ID, HelpWithdrawn{Request: f.Ringing, Reason: ReasonNodeFailed})
		}
		c.settleRinging(a)
		c.updatePresence(a)
	}
}

// AgentFacts are this node's facts about every agent it has published,
// as published (zero facts included: the node has none any more), for
// the cluster to write its record again.
func (c *Center) AgentFacts() map[string]AgentFacts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]AgentFacts{}
	for id, a := range c.agents {
		if !a.published.At.IsZero() {
			out[id] = a.published
		}
	}
	return out
}

// DeliverToAgent gives the agent's consoles here an event another node
// sent them (a help offer or its withdrawal).
func (c *Center) DeliverToAgent(agentID string, ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agents[agentID] != nil {
		c.notify.ToAgent(agentID, ev)
	}
}

// RingingCall is the call whose request rings the agent here.
func (c *Center) RingingCall(agentID, request string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[agentID]
	if a == nil || request == "" || a.ringing != request {
		return "", false
	}
	cs := c.callOfRequest(request)
	if cs == nil {
		return "", false
	}
	return cs.id, true
}

// publish tells the other nodes a's facts here if they changed.
func (c *Center) publish(a *agentState) {
	if c.peers == nil {
		return
	}
	f, was := a.facts(), a.published
	was.At = time.Time{}
	if f != was {
		f.At = c.clock.Now()
		a.published = f
		c.peers.Publish(a.ID, f)
	}
}

// tell gives ev to every console of a, here and on other nodes.
func (c *Center) tell(a *agentState, ev Event) {
	c.notify.ToAgent(a.ID, ev)
	if c.peers == nil {
		return
	}
	for _, node := range slices.Sorted(maps.Keys(a.remote)) {
		if a.remote[node].Consoles > 0 {
			c.peers.Deliver(node, a.ID, ev)
		}
	}
}

// settleRinging lets an offer ringing a here go when the other nodes'
// facts rule it out: the agent has no console left anywhere, is in a
// call elsewhere, or another node rang it first (the earlier ring wins,
// the same way on every node).
func (c *Center) settleRinging(a *agentState) {
	if a.ringing == "" {
		return
	}
	switch {
	case a.allConsoles() == 0:
		c.declineOffer(a.ringing, a, CodeRejected)
	case a.callAnywhere() != "":
		c.tell(a, HelpWithdrawn{Request: a.ringing, Reason: CodeAgentUnavailable})
		c.declineOffer(a.ringing, a, CodeRejected)
	case a.rungFirstElsewhere():
		c.tell(a, HelpWithdrawn{Request: a.ringing, Reason: CodeAgentUnavailable})
		c.declineOffer(a.ringing, a, CodeAgentUnavailable)
	}
}

// ringingOn is the other node on which request rings the agent, or "".
func (a *agentState) ringingOn(request string) string {
	for node, f := range a.remote {
		if request != "" && f.Ringing == request {
			return node
		}
	}
	return ""
}

// facts are a's facts on this node.
func (a *agentState) facts() AgentFacts {
	f := AgentFacts{Consoles: a.consoles, Chosen: a.chosen, ChosenAt: a.chosenAt, Call: a.inCall, Ringing: a.ringing}
	if a.ringing != "" {
		f.RingAt = a.ringAt
	}
	return f
}

func (a *agentState) allConsoles() int {
	n := a.consoles
	for _, f := range a.remote {
		n += f.Consoles
	}
	return n
}

// callAnywhere is the call a's leg is in, on any node, or "".
func (a *agentState) callAnywhere() string {
	if a.inCall != "" {
		return a.inCall
	}
	for _, node := range slices.Sorted(maps.Keys(a.remote)) {
		if call := a.remote[node].Call; call != "" {
			return call
		}
	}
	return ""
}

func (a *agentState) ringingAnywhere() bool {
	if a.ringing != "" {
		return true
	}
	for _, f := range a.remote {
		if f.Ringing != "" {
			return true
		}
	}
	return false
}

// rungFirstElsewhere tells whether another node's offer to a predates
// the one ringing here (the request id breaks a tie).
func (a *agentState) rungFirstElsewhere() bool {
	for _, f := range a.remote {
		if f.Ringing == "" {
			continue
		}
		if f.RingAt.Before(a.ringAt) || (f.RingAt.Equal(a.ringAt) && f.Ringing < a.ringing) {
			return true
		}
	}
	return false
}

// choice is the agent's own latest choice, idle or away, made on any
// node.
func (a *agentState) choice() PresenceState {
	s, at := a.chosen, a.chosenAt
	for _, f := range a.remote {
		if f.Chosen != "" && f.ChosenAt.After(at) {
			s, at = f.Chosen, f.ChosenAt
		}
	}
	if s == "" {
		return Idle
	}
	return s
}

// ringingOn is the other node on which request rings agentID, or "".
func (c *Center) ringingOn(agentID, request string) string {
	if a := c.agents[agentID]; a != nil && c.peers != nil {
		return a.ringingOn(request)
	}
	return ""
}
