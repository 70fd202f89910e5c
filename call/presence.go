package call

import (
	"slices"
	"time"
)

// PresenceState is an agent's availability.
type PresenceState string

// Presence states. Busy is automatic: in a call, or being asked for help.
const (
	Offline PresenceState = "offline"
	Idle    PresenceState = "idle"
	Busy    PresenceState = "busy"
	Away    PresenceState = "away"
)

// agentState is one agent's presence and what makes it.
type agentState struct {
	Agent
	consoles int           // signed-in consoles
	chosen   PresenceState // Idle or Away, the agent's own choice
	chosenAt time.Time     // when it was made
	inCall   string        // call id of the agent's leg
	ringing  string        // help request offered to the agent
	ringAt   time.Time     // since when
	state    PresenceState // derived from the above
	since    time.Time     // when state last changed

	// In a cluster: the other nodes' facts about the agent, by node, and
	// this node's as last published (peers.go).
	remote    map[string]AgentFacts
	published AgentFacts
}

// derive is the agent's state over the facts of every node.
func (a *agentState) derive() PresenceState {
	switch {
	case a.callAnywhere() != "" || a.ringingAnywhere():
		return Busy
	case a.allConsoles() == 0:
		return Offline
	}
	return a.choice()
}

// AgentStatus is an agent as the API lists it.
type AgentStatus struct {
	Agent
	State PresenceState `json:"state"`
	Since time.Time     `json:"since"`
	Call  string        `json:"call,omitempty"`
}

// QueueStatus is a queue as the API lists it.
type QueueStatus struct {
	Queue
	Idle   int `json:"idle"`
	Agents int `json:"agents"`
}

// updatePresence follows a change of a's facts: it publishes them to the
// other nodes, re-derives a's state and tells its consoles here if it
// changed. Idle agents remember since when: queues pick the longest idle.
func (c *Center) updatePresence(a *agentState) { c.updatePresenceAt(a, time.Time{}) }

// updatePresenceAt is updatePresence for a change made at a given time
// (another node's); zero: now.
func (c *Center) updatePresenceAt(a *agentState, at time.Time) {
	c.publish(a)
	s := a.derive()
	if s == a.state {
		return
	}
	if at.IsZero() {
		at = c.clock.Now()
	}
	a.state, a.since = s, at
	c.notify.ToAgent(a.ID, c.presenceOf(a))
}

func (c *Center) presenceOf(a *agentState) Presence {
	return Presence{Agent: a.ID, State: a.state, Since: a.since}
}

// SignIn registers a console of agent id; the agent is idle unless busy.
func (c *Center) SignIn(id string) (Presence, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[id]
	if a == nil {
		return Presence{}, refuse(CodeUnknownAgent, "no agent %q", id)
	}
	if a.allConsoles() == 0 {
		a.chosen, a.chosenAt = Idle, c.clock.Now()
	}
	a.consoles++
	c.updatePresence(a)
	return c.presenceOf(a), nil
}

// SignOut unregisters a console. An offer ringing on the agent's last
// console (on any node) moves on as if rejected.
func (c *Center) SignOut(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[id]
	if a == nil || a.consoles == 0 {
		return
	}
	a.consoles--
	if a.allConsoles() == 0 && a.ringing != "" {
		c.declineOffer(a.ringing, a, CodeRejected)
	}
	c.updatePresence(a)
}

// SetPresence sets the agent's own choice, idle or away. While busy the
// choice is kept and applies when the agent is free again.
func (c *Center) SetPresence(id string, s PresenceState) (Presence, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[id]
	switch {
	case a == nil:
		return Presence{}, refuse(CodeUnknownAgent, "no agent %q", id)
	case a.consoles == 0:
		return Presence{}, refuse(CodeNotSignedIn, "agent %s is not signed in", id)
	case s != Idle && s != Away:
		return Presence{}, refuse(CodeInvalidField, "state must be idle or away")
	}
	a.chosen, a.chosenAt = s, c.clock.Now()
	c.updatePresence(a)
	return c.presenceOf(a), nil
}

// Agents lists every agent with its presence, in directory order.
func (c *Center) Agents() []AgentStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]AgentStatus, 0, len(c.agentOrder))
	for _, id := range c.agentOrder {
		a := c.agents[id]
		out = append(out, AgentStatus{Agent: a.Agent, State: a.state, Since: a.since, Call: a.callAnywhere()})
	}
	return out
}

// Queues lists every queue with how many of its agents are idle.
func (c *Center) Queues() []QueueStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]QueueStatus, 0, len(c.dir.Queues))
	for _, q := range c.dir.Queues {
		qs := QueueStatus{Queue: q}
		for _, id := range c.agentOrder {
			a := c.agents[id]
			if slices.Contains(a.Skills, q.ID) {
				qs.Agents++
				if a.state == Idle {
					qs.Idle++
				}
			}
		}
		out = append(out, qs)
	}
	return out
}

// Directory returns the agents and queues the center was made with.
func (c *Center) Directory() Directory { return c.dir }

// DialOut says whether numbers can be dialled (a Dialer is configured),
// and under which plan.
func (c *Center) DialOut() (bool, DialPlan) { return c.dialer != nil, c.dialPlan }

func (c *Center) hasQueue(id string) bool {
	for _, q := range c.dir.Queues {
		if q.ID == id {
			return true
		}
	}
	return false
}

// pickFromQueue finds the idle agent with the queue's skill who has been
// idle longest, never the requester and never one already asked.
func (c *Center) pickFromQueue(queue, requester string, tried map[string]bool) *agentState {
	var best *agentState
	for _, id := range c.agentOrder {
		a := c.agents[id]
		if a.state != Idle || id == requester || tried[id] || !slices.Contains(a.Skills, queue) {
			continue
		}
		if best == nil || a.since.Before(best.since) {
			best = a
		}
	}
	return best
}

// displayName is how messages name the agent: its name, or its id.
func (a *agentState) displayName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}
