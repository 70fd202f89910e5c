package call

// HelpMode is how a third party is sought.
type HelpMode string

// Help modes.
const (
	ByQueue  HelpMode = "queue"
	ByAgent  HelpMode = "agent"
	ByNumber HelpMode = "number"
)

// HelpPhase is where a help request stands.
type HelpPhase string

// Help phases, as help.progress reports them.
const (
	Searching HelpPhase = "searching"
	Ringing   HelpPhase = "ringing"
	Dialing   HelpPhase = "dialing"
	Accepted  HelpPhase = "accepted"
)

// HelpRequest says whom to ask: a queue, an agent or a number.
type HelpRequest struct {
	Mode   HelpMode
	Queue  string
	Agent  string
	Number string
}

// helpRequest is a call's pending request for a third party.
type helpRequest struct {
	HelpRequest
	id        string
	requester string          // agent id of the requesting agent
	tried     map[string]bool // agents already asked
	offered   *agentState     // the agent ringing now
	timer     Timer
	phase     HelpPhase
	dialEnded bool // the Dialer said the number will not answer
}

// RequestHelp starts seeking a third party for the call. Only the call's
// agent may ask, one request at a time, in a call of fewer than three.
func (c *Center) RequestHelp(callID string, from Role, req HelpRequest) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, from)
	if err != nil {
		return "", err
	}
	req, err = c.checkHelpRequest(cs, p, req)
	if err != nil {
		return "", err
	}
	h := &helpRequest{HelpRequest: req, id: c.newID(), requester: p.agentID,
		tried: map[string]bool{}, phase: Searching}
	cs.help = h
	switch req.Mode {
	case ByQueue:
		c.offerNext(cs)
	case ByAgent:
		c.offer(cs, c.agents[req.Agent])
	case ByNumber:
		h.phase = Dialing
		c.toAll(cs, HelpProgress{Request: h.id, Mode: h.Mode, State: Dialing})
		if err := c.dialer.Dial(cs.id, h.id, req.Number); err != nil {
			h.dialEnded = true
			c.finishHelp(cs, DialGatewayError, "")
			break
		}
		// Nobody waits for ever on a number that does not answer.
		callID, reqID := cs.id, h.id
		h.timer = c.clock.AfterFunc(c.helpTimeout, func() { c.expireDial(callID, reqID) })
		c.changed(cs)
	}
	return h.id, nil
}

// checkHelpRequest refuses a request the rules do not allow; it returns
// the request as it will be carried out (a number as it will be dialled).
func (c *Center) checkHelpRequest(cs *callState, p *party, req HelpRequest) (HelpRequest, error) {
	err := c.refuseHelpRequest(cs, p, req)
	if err == nil && req.Mode == ByNumber {
		req.Number, err = c.dialPlan.Check(req.Number)
	}
	return req, err
}

func (c *Center) refuseHelpRequest(cs *callState, p *party, req HelpRequest) error {
	// Who may ask comes first: a customer hears forbidden whatever the
	// server's video mode.
	switch {
	case p.role != AgentRole || p.agentID != cs.agentID:
		return refuse(CodeForbidden, "Only the call's agent can bring in a third party.")
	case c.videoMode == SFU:
		return refuse(CodeThreePartyUnsupportedInSFU, "This server forwards each camera as it is (sfu mode), which carries two parties only; three-party calls need a server in mcu mode.")
	case len(cs.parties) >= 3:
		return refuse(CodeCallFull, "The call already has three parties.")
	case cs.help != nil:
		return refuse(CodeHelpInProgress, "A request for a third party is already under way; cancel it to ask someone else.")
	}
	switch req.Mode {
	case ByQueue:
		if !c.hasQueue(req.Queue) {
			return refuse(CodeUnknownQueue, "There is no queue %q.", req.Queue)
		}
	case ByAgent:
		a := c.agents[req.Agent]
		switch {
		case a == nil:
			return refuse(CodeUnknownAgent, "There is no agent %q.", req.Agent)
		case a.ID == p.agentID:
			return refuse(CodeForbidden, "You cannot ask yourself for help.")
		case a.state != Idle:
			return refuse(CodeAgentUnavailable, "%s is %s, not idle; ask someone else or a queue.", a.displayName(), a.state)
		}
	case ByNumber:
		if _, err := NormalizeNumber(req.Number); err != nil {
			return err
		}
		if c.dialer == nil {
			return refuse(CodeSIPNotConfigured, "This server has no SIP gateway (--sip-gateway), so it cannot dial external numbers.")
		}
	default:
		return refuse(CodeInvalidField, "Ask a queue, an agent or a number.")
	}
	return nil
}

// offerNext offers a queue request to the next agent, or fails it when
// nobody is left.
func (c *Center) offerNext(cs *callState) {
	h := cs.help
	a := c.pickFromQueue(h.Queue, h.requester, h.tried)
	if a == nil {
		c.finishHelp(cs, CodeNoAgentAvailable, "")
		return
	}
	c.offer(cs, a)
}

// offer rings agent a with the call's request until it answers or the
// help timeout passes.
func (c *Center) offer(cs *callState, a *agentState) {
	h := cs.help
	h.tried[a.ID] = true
	h.offered, h.phase = a, Ringing
	a.ringing, a.ringAt = h.id, c.clock.Now()
	c.updatePresence(a)
	callID, reqID := cs.id, h.id
	h.timer = c.clock.AfterFunc(c.helpTimeout, func() { c.expireOffer(callID, reqID, a.ID) })

	from := AgentRef{ID: h.requester}
	if r := c.agents[h.requester]; r != nil {
		from.Name = r.Name
	}
	c.tell(a, HelpOffer{Request: h.id, Call: cs.id, Mode: h.Mode, Queue: h.Queue,
		From: from, Customer: c.customerName(cs), ExpiresInMS: c.helpTimeout.Milliseconds()})
	c.toAll(cs, HelpProgress{Request: h.id, Mode: h.Mode, State: Ringing, Agent: &AgentRef{ID: a.ID, Name: a.Name}})
	c.changed(cs)
}

func (c *Center) customerName(cs *callState) string {
	if p := cs.parties[Customer]; p != nil && p.name != "" {
		return p.name
	}
	return cs.customer
}

// expireOffer runs when an offered agent did not answer in time.
func (c *Center) expireOffer(callID, reqID, agentID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.agents[agentID]
	if a == nil || a.ringing != reqID {
		return // answered meanwhile
	}
	c.tell(a, HelpWithdrawn{Request: reqID, Reason: CodeTimeout})
	c.declineOffer(reqID, a, CodeTimeout)
}

// expireDial ends a number request still dialing after the help timeout.
func (c *Center) expireDial(callID, reqID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs := c.calls[callID]; cs != nil && cs.help != nil && cs.help.id == reqID {
		c.finishHelp(cs, DialNoAnswer, "")
	}
}

// declineOffer handles a reject, a timeout or a vanished console: the
// agent is free again, and a queue request moves on to the next agent.
func (c *Center) declineOffer(reqID string, a *agentState, reason string) {
	cs := c.callOfRequest(reqID)
	a.ringing = ""
	c.updatePresence(a)
	if cs == nil {
		return
	}
	h := cs.help
	h.timer.Stop()
	h.offered = nil
	if h.Mode == ByQueue {
		c.offerNext(cs)
		return
	}
	c.finishHelp(cs, reason, "")
}

// callOfRequest finds the call whose pending request is reqID.
func (c *Center) callOfRequest(reqID string) *callState {
	for _, cs := range c.calls {
		if cs.help != nil && cs.help.id == reqID {
			return cs
		}
	}
	return nil
}

// AcceptHelp is the offered agent saying yes: it joins the call as the
// third party. It returns the call's id and state.
func (c *Center) AcceptHelp(agentID, reqID string) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, cs, err := c.offeredTo(agentID, reqID)
	if err != nil {
		return nil, err
	}
	h := cs.help
	if other := a.callAnywhere(); other != "" {
		return nil, refuse(CodeAgentUnavailable, "agent %s is in call %s", a.ID, other)
	}
	h.timer.Stop()
	a.ringing = ""
	cs.help = nil
	cs.helperID = a.ID
	c.helpEnded("accepted")
	c.toAll(cs, HelpProgress{Request: h.id, Mode: h.Mode, State: Accepted, Agent: &AgentRef{ID: a.ID, Name: a.Name}})
	c.addParty(cs, Third, a.Name, a.ID)
	return c.snapshot(cs), nil
}

// RejectHelp is the offered agent saying no; to a request ringing on
// another node, it is passed there.
func (c *Center) RejectHelp(agentID, reqID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, _, err := c.offeredTo(agentID, reqID)
	if err != nil {
		if node := c.ringingOn(agentID, reqID); node != "" {
			c.peers.Reject(node, agentID, reqID)
			return nil
		}
		return err
	}
	c.declineOffer(reqID, a, CodeRejected)
	return nil
}

func (c *Center) offeredTo(agentID, reqID string) (*agentState, *callState, error) {
	a := c.agents[agentID]
	if a == nil || a.ringing != reqID || reqID == "" {
		return nil, nil, refuse(CodeNoSuchRequest, "request %q is not offered to you", reqID)
	}
	cs := c.callOfRequest(reqID)
	if cs == nil {
		return nil, nil, refuse(CodeNoSuchRequest, "request %q is over", reqID)
	}
	return a, cs, nil
}

// CancelHelp is the requester withdrawing its pending request.
func (c *Center) CancelHelp(callID string, from Role, reqID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, p, err := c.partyOf(callID, from)
	if err != nil {
		return err
	}
	switch {
	case cs.help == nil || (reqID != "" && cs.help.id != reqID):
		return refuse(CodeNoSuchRequest, "no pending request %q in call %s", reqID, callID)
	case p.agentID == "" || p.agentID != cs.help.requester:
		return refuse(CodeForbidden, "Only the agent who asked for help can cancel the request.")
	}
	c.finishHelp(cs, CodeCancelled, CodeCancelled)
	return nil
}

// finishHelp ends the call's request without a helper, and the call too
// if that leaves a party alone with no help coming.
func (c *Center) finishHelp(cs *callState, reason, withdrawReason string) {
	c.withdrawHelp(cs, reason, withdrawReason)
	if !c.endIfAlone(cs) {
		c.changed(cs)
	}
}

// withdrawHelp drops the call's request: the ringing agent (if any) is
// told with withdrawReason ("" for nothing) and freed, and the parties
// hear help.failed with reason.
func (c *Center) withdrawHelp(cs *callState, reason, withdrawReason string) {
	h := cs.help
	cs.help = nil
	if h.timer != nil {
		h.timer.Stop()
	}
	if a := h.offered; a != nil {
		a.ringing = ""
		if withdrawReason != "" {
			c.tell(a, HelpWithdrawn{Request: h.id, Reason: withdrawReason})
		}
		c.updatePresence(a)
	}
	if h.Mode == ByNumber && !h.dialEnded {
		c.dialer.Hangup(h.id) // cancelled, timed out, or the call ended
	}
	c.toAll(cs, HelpFailed{Request: h.id, Reason: reason})
	c.helpEnded(reason)
}
