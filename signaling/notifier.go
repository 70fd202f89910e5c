package signaling

import (
	"github.com/threeway-mcu/threeway/call"
)

// notifier is the Server as the call center's Notifier. It runs under the
// center's lock: it only queues messages and wakes room workers.
type notifier struct{ srv *Server }

// Changed sends every party its call.state and hands the state to the
// call's media.
func (n notifier) Changed(s *call.Snapshot) {
	srv := n.srv
	srv.mu.Lock()
	r := srv.rooms[s.ID]
	var legs []*leg
	for _, role := range call.Roles {
		if l := srv.legs[legKey{s.ID, role}]; l != nil {
			legs = append(legs, l)
		}
	}
	srv.mu.Unlock()
	for _, l := range legs {
		l.sendState(s)
	}
	if r != nil {
		r.update(s)
	}
	if srv.calls != nil {
		srv.calls.note(s)
	}
}

// ToParty delivers ev to a party; `left` also ends its leg.
func (n notifier) ToParty(callID string, role call.Role, ev call.Event) {
	l := n.srv.legOf(callID, role)
	if l == nil {
		return
	}
	if msg, err := eventMessage(ev); err == nil {
		l.deliver(msg)
	}
	if _, ok := ev.(call.Left); ok {
		l.end()
	}
}

// ToAgent delivers ev to every console of the agent.
func (n notifier) ToAgent(agentID string, ev call.Event) {
	msg, err := eventMessage(ev)
	if err != nil {
		return
	}
	for _, s := range n.srv.consolesOf(agentID) {
		if offer, ok := ev.(call.HelpOffer); ok {
			s.rememberOffer(offer.Request, offer.Call)
		}
		s.sendRaw(msg)
	}
}
