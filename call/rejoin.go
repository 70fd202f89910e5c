package call

// A party's seat outlives its connection. A reload, a dropped socket or a
// media path that stops is not a hang-up: the party keeps its seat, shown
// to the others as reconnecting, for the rejoin grace. Its media coming
// back (Reconnected) or a join with its token (Join) takes the seat back
// with its flags, layout and name; past the grace it has left, as if it
// had hung up. Only leave, hangup and party.drop end a leg at once.

// Disconnected is a party's connection lost without a hang-up: its socket
// closed, or its media stopped arriving. The party keeps its seat, marked
// reconnecting, for the rejoin grace, counted from the first drop: a drop
// while already reconnecting changes nothing.
func (c *Center) Disconnected(callID string, role Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, role)
	if err != nil || p.reconnecting {
		return err
	}
	p.reconnecting = true
	p.lost++
	lost := p.lost
	p.grace = c.clock.AfterFunc(c.rejoinGrace, func() { c.expireSeat(callID, role, lost) })
	c.changed(cs)
	return nil
}

// Reconnected is a reconnecting party's media back on the connection it
// had: the seat is its own again. It changes nothing for a party that is
// not reconnecting.
func (c *Center) Reconnected(callID string, role Role) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, role)
	if err != nil || !p.reconnecting {
		return err
	}
	c.resume(p)
	c.changed(cs)
	return nil
}

// resume gives a reconnecting party its seat back.
func (c *Center) resume(p *party) {
	p.reconnecting = false
	p.stopGrace()
}

// stopGrace stops the party's grace timer, if one runs.
func (p *party) stopGrace() {
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
}

// expireSeat gives up the seat of a party still reconnecting since drop
// number lost: it has left, and the call goes on without it (or ends, if
// that leaves one party alone).
func (c *Center) expireSeat(callID string, role Role, lost uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.calls[callID]
	if cs == nil {
		return
	}
	if p := cs.parties[role]; p != nil && p.reconnecting && p.lost == lost {
		c.removeParty(cs, role, ReasonConnectionFailed)
	}
}

// EndAll ends every open call, its parties told reason: the server is
// stopping, and no seat may wait for a party that cannot come back.
func (c *Center) EndAll(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cs := range c.calls {
		c.endCallFor(cs, reason)
	}
}
