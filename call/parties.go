package call

// party is one participant.
type party struct {
	role     Role
	name     string
	agentID  string
	video    bool
	audio    bool
	selfView bool
	layout   Layout
	// reconnecting: the party's connection dropped and its seat waits for
	// it (rejoin.go); grace gives the seat up, and lost counts the drops
	// so that a stale grace timer can tell it is stale.
	reconnecting bool
	grace        Timer
	lost         uint64
	// dial is the help request whose answered phone call this party is
	// (dial.go); "" for a party on a page.
	dial string
}

// Join adds a party to a call. agentID is the authenticated agent joining
// as agent or third ("" for the customer). The party starts with video
// and audio on, its own tile shown and equal tiles. A join into the seat of
// a party that is reconnecting takes that seat back, as it was (rejoin.go).
func (c *Center) Join(callID string, role Role, name, agentID string) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err := c.openCall(callID)
	if err != nil {
		return nil, err
	}
	if _, ok := ParseRole(string(role)); !ok {
		return nil, refuse(CodeInvalidField, "role must be customer, agent or third")
	}
	if p := cs.parties[role]; p != nil && p.reconnecting && p.agentID == agentID {
		c.resume(p)
		c.changed(cs)
		return c.snapshot(cs), nil
	}
	switch {
	case cs.parties[role] != nil:
		return nil, refuse(CodeRoleTaken, "Someone is already in this call as the %s (this link is open in another tab?).", nameOf(role))
	case role == AgentRole && agentID != cs.agentID:
		return nil, refuse(CodeForbidden, "call %s belongs to agent %s", callID, cs.agentID)
	case role == Third && (agentID == "" || agentID != cs.helperID):
		return nil, refuse(CodeForbidden, "The third party joins by accepting a help request, not with a link.")
	case role == Third && cs.help != nil:
		// The seat is being offered: accepting would replace this party.
		return nil, refuse(CodeForbidden, "request %s is seeking a new third party", cs.help.id)
	case role == Customer && agentID != "":
		return nil, refuse(CodeForbidden, "agents do not join as the customer")
	}
	if a := c.agents[agentID]; a != nil && a.callAnywhere() != "" && a.callAnywhere() != callID {
		return nil, refuse(CodeAgentUnavailable, "agent %s is in call %s", agentID, a.callAnywhere())
	}
	c.addParty(cs, role, name, agentID)
	return c.snapshot(cs), nil
}

func (c *Center) addParty(cs *callState, role Role, name, agentID string) {
	if name == "" && role == Customer {
		name = cs.customer
	}
	a := c.agents[agentID]
	if a != nil && name == "" {
		name = a.Name
	}
	c.seat(cs, &party{role: role, name: name, agentID: agentID,
		video: true, audio: true, selfView: true, layout: EqualLayout})
	if a != nil {
		a.inCall = cs.id
		if a.ringing != "" {
			// An agent who takes a call cannot also help elsewhere.
			c.declineOffer(a.ringing, a, CodeRejected)
		}
		c.updatePresence(a)
	}
	c.settle(cs)
}

// seat puts p in the call.
func (c *Center) seat(cs *callState, p *party) {
	if cs.unjoined != nil {
		cs.unjoined.Stop()
		cs.unjoined = nil
	}
	cs.parties[p.role] = p
	if len(cs.parties) >= 2 {
		cs.wasPair = true
	}
}

// settle follows a party joining: a pair made three stops what needs
// everyone's video if someone has it off, and the call's state goes out.
func (c *Center) settle(cs *callState) {
	if lacking := cs.needsAllVideo(); len(lacking) > 0 {
		c.revertAllVideoRules(cs, lacking)
	}
	c.changed(cs)
}

// Leave ends a party's leg at once (hang-up, server shutdown); a party
// whose connection dropped calls Disconnected instead and keeps its seat.
// The others stay in the call and their layouts adapt; a party left alone
// is told the call ended.
func (c *Center) Leave(callID string, role Role, reason string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, _, err := c.partyOf(callID, role)
	if err != nil {
		return err
	}
	c.removeParty(cs, role, reason)
	return nil
}

// DropParty is the call's agent removing the third party.
func (c *Center) DropParty(callID string, by, target Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, _, err := c.partyOf(callID, by)
	if err != nil {
		return err
	}
	if by != AgentRole || target != Third {
		return refuse(CodeForbidden, "Only the agent can remove a party, and only the third party.")
	}
	if cs.parties[Third] == nil {
		return refuse(CodePartyNotPresent, "There is no third party in the call.")
	}
	cs.helperID = "" // a dropped helper does not come back by itself
	c.removeParty(cs, Third, ReasonDropped)
	return nil
}

// removeParty takes role out and adapts what depends on it: its share
// stops, viewers who maximized it go back to equal, its agent is free, and
// a party left alone (with no help on the way) ends the call.
func (c *Center) removeParty(cs *callState, role Role, reason string) {
	p := cs.parties[role]
	p.stopGrace()
	delete(cs.parties, role)
	c.hangUpPhone(p)
	c.notify.ToParty(cs.id, role, Left{Reason: reason})
	if a := c.agents[p.agentID]; a != nil && a.inCall == cs.id {
		a.inCall = ""
		c.updatePresence(a)
	}
	if cs.share == role {
		cs.share = ""
		c.toAll(cs, ShareStopped{Party: role, Reason: ReasonPartyLeft})
	}
	for _, viewer := range cs.parties {
		if viewer.layout.Party == role {
			viewer.layout = EqualLayout
			c.notify.ToParty(cs.id, viewer.role, LayoutReset{Reason: ReasonPartyLeft,
				Message: string(role) + " left the call", Parties: []Role{role}})
		}
	}
	if !c.endIfAlone(cs) {
		c.changed(cs)
	}
}

// endIfAlone ends the call when fewer than two parties remain after two
// had talked, unless help is still on its way to the one who is left.
func (c *Center) endIfAlone(cs *callState) bool {
	switch {
	case len(cs.parties) == 0:
	case len(cs.parties) == 1 && cs.wasPair && cs.help == nil:
	default:
		return false
	}
	c.endCall(cs)
	return true
}

// endCall closes the call: remaining parties are told (call_ended), a
// pending help request is withdrawn, and the call is forgotten.
func (c *Center) endCall(cs *callState) { c.endCallFor(cs, ReasonCallEnded) }

// endCallFor is endCall with the reason the parties are told.
func (c *Center) endCallFor(cs *callState, reason string) {
	if cs.unjoined != nil {
		cs.unjoined.Stop()
		cs.unjoined = nil
	}
	if cs.help != nil {
		c.withdrawHelp(cs, CodeCancelled, ReasonCallEnded)
	}
	for _, role := range Roles {
		if p := cs.parties[role]; p != nil {
			p.stopGrace()
			delete(cs.parties, role)
			c.hangUpPhone(p)
			c.notify.ToParty(cs.id, role, Left{Reason: reason})
			if a := c.agents[p.agentID]; a != nil && a.inCall == cs.id {
				a.inCall = ""
				c.updatePresence(a)
			}
		}
	}
	snap := c.snapshot(cs)
	snap.Ended = true
	c.notify.Changed(snap)
	delete(c.calls, cs.id)
	c.rememberEnded(cs.id)
}
