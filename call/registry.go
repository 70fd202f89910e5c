package call

import (
	"slices"
	"time"
)

// callState is one call. Only the Center touches it, under its lock.
type callState struct {
	id       string
	created  time.Time
	customer string // the customer's name, from routing
	agentID  string // the call's agent, the only one who may seek help
	parties  map[Role]*party
	share    Role // who shares the screen, "" for nobody
	help     *helpRequest
	helperID string // the agent who accepted help: the one who may be third
	wasPair  bool   // two parties have talked: one left alone ends the call
	// unjoined ends the call if nobody joins it in time; stopped by the
	// first join.
	unjoined Timer
}

// maxEnded bounds how many ended call ids are remembered, so that late
// joins hear call_ended rather than call_not_found.
const maxEnded = 4096

// CreateCall opens a call between a customer and the named agent, as the
// contact center's routing would. The parties join it afterwards.
func (c *Center) CreateCall(customer, agentID string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.agents[agentID]; !ok {
		return "", refuse(CodeUnknownAgent, "no agent %q", agentID)
	}
	if c.maxCalls > 0 && len(c.calls) >= c.maxCalls {
		return "", refuse(CodeServerFull, "The server is at its limit of %d calls; try again later.", c.maxCalls)
	}
	id := c.newID()
	cs := &callState{id: id, created: c.clock.Now(), customer: customer, agentID: agentID, parties: map[Role]*party{}}
	cs.unjoined = c.clock.AfterFunc(c.joinTimeout, func() { c.expireUnjoined(id) })
	c.calls[id] = cs
	return id, nil
}

// expireUnjoined ends a call nobody joined within the join timeout.
func (c *Center) expireUnjoined(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs := c.calls[id]; cs != nil && cs.unjoined != nil {
		c.endCall(cs)
	}
}

// EndCall ends an open call, as if its last party left: for a call the
// server cannot serve after all (the cluster could not list it).
func (c *Center) EndCall(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs := c.calls[id]; cs != nil {
		c.endCall(cs)
	}
}

// Snapshots are the open calls' states, oldest first.
func (c *Center) Snapshots() []*Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Snapshot, 0, len(c.calls))
	for _, cs := range c.calls {
		out = append(out, c.snapshot(cs))
	}
	slices.SortFunc(out, func(a, b *Snapshot) int { return a.Created.Compare(b.Created) })
	return out
}

// CallCount is how many calls are open.
func (c *Center) CallCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// JoinedCallCount is how many open calls have a party in them (present
// or reconnecting): the calls a drain waits for.
func (c *Center) JoinedCallCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, cs := range c.calls {
		if len(cs.parties) > 0 {
			n++
		}
	}
	return n
}

// Snapshot returns a call's current state.
func (c *Center) Snapshot(callID string) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err := c.openCall(callID)
	if err != nil {
		return nil, err
	}
	return c.snapshot(cs), nil
}

// openCall finds a call that has not ended. Caller holds c.mu.
func (c *Center) openCall(id string) (*callState, error) {
	cs := c.calls[id]
	switch {
	case cs == nil && c.ended[id]:
		return nil, refuse(CodeCallEnded, "This call has ended.")
	case cs == nil:
		return nil, refuse(CodeCallNotFound, "There is no call %q; check the link.", id)
	}
	return cs, nil
}

// partyOf finds a present party. Caller holds c.mu.
func (c *Center) partyOf(callID string, role Role) (*callState, *party, error) {
	cs, err := c.openCall(callID)
	if err != nil {
		return nil, nil, err
	}
	p := cs.parties[role]
	if p == nil {
		return nil, nil, refuse(CodePartyNotPresent, "no %s in call %s", role, callID)
	}
	return cs, p, nil
}

// rememberEnded keeps the last maxEnded ended call ids.
func (c *Center) rememberEnded(id string) {
	if len(c.endedOrder) == maxEnded {
		delete(c.ended, c.endedOrder[0])
		c.endedOrder = c.endedOrder[1:]
	}
	c.ended[id] = true
	c.endedOrder = append(c.endedOrder, id)
}

// toAll sends ev to every party of the call.
func (c *Center) toAll(cs *callState, ev Event) {
	for _, role := range Roles {
		if cs.parties[role] != nil {
			c.notify.ToParty(cs.id, role, ev)
		}
	}
}

func (c *Center) changed(cs *callState) { c.notify.Changed(c.snapshot(cs)) }

// present lists the roles in the call, in tile order.
func (cs *callState) present() []Role {
	var out []Role
	for _, r := range Roles {
		if cs.parties[r] != nil {
			out = append(out, r)
		}
	}
	return out
}
