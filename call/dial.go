package call

import "strings"

// Why a dial failed (help.failed's reason for a number).
const (
	DialBusy         = "busy"          // 486, 600
	DialNotFound     = "not_found"     // 404, 484
	DialNoAnswer     = "no_answer"     // 408, 480, or the help timeout
	DialRejected     = CodeRejected    // 603
	DialGatewayError = "gateway_error" // anything else, or unreachable
)

// DialRinging is the Dialer telling that the number dialled for request
// dial rings: the parties hear help.progress ringing.
func (c *Center) DialRinging(callID, dial string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, h := c.pendingDial(callID, dial)
	if h == nil || h.phase == Ringing {
		return
	}
	h.phase = Ringing
	c.toAll(cs, HelpProgress{Request: h.id, Mode: h.Mode, State: Ringing})
	c.changed(cs)
}

// DialFailed is the Dialer telling that request dial's number will not
// answer, and why (Dial*).
func (c *Center) DialFailed(callID, dial, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs, h := c.pendingDial(callID, dial); h != nil {
		h.dialEnded = true
		c.finishHelp(cs, reason, "")
	}
}

// DialAnswered is the Dialer telling that request dial's number
// answered: the phone is the call's third party, its microphone on and no
// camera (so what needs everyone's video is refused while it is in), shown
// by its masked number. A dial no longer pending is refused, and the
// Dialer hangs it up.
func (c *Center) DialAnswered(callID, dial string) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, h := c.pendingDial(callID, dial)
	if h == nil {
		return nil, refuse(CodeNoSuchRequest, "no dial %q pending in call %s", dial, callID)
	}
	h.timer.Stop()
	cs.help = nil
	c.helpEnded("accepted")
	c.toAll(cs, HelpProgress{Request: h.id, Mode: h.Mode, State: Accepted})
	c.seat(cs, &party{role: Third, name: MaskNumber(h.Number), audio: true, selfView: true,
		layout: EqualLayout, dial: h.id})
	c.settle(cs)
	return c.snapshot(cs), nil
}

// pendingDial is call callID's pending number request dial, if it is.
func (c *Center) pendingDial(callID, dial string) (*callState, *helpRequest) {
	cs := c.calls[callID]
	if cs == nil || cs.help == nil || cs.help.id != dial || cs.help.Mode != ByNumber {
		return nil, nil
	}
	return cs, cs.help
}

// hangUpPhone ends the phone call behind a party that leaves, if it is
// one.
func (c *Center) hangUpPhone(p *party) {
	if p.dial != "" {
		c.dialer.Hangup(p.dial)
	}
}

// MaskNumber shows a number without most of its digits: its first three
// characters and its last four ("+49 •••• 1234").
func MaskNumber(n string) string {
	if len(n) <= 7 {
		return strings.Repeat("•", len(n))
	}
	return n[:3] + " •••• " + n[len(n)-4:]
}
