package signaling

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/threeway-mcu/threeway/call"
)

// signIn makes this socket an agent console.
func (s *session) signIn(token string) *ProtocolError {
	c, err := s.srv.tokens.check(token, kindAgent)
	if err != nil {
		return protoErr(CodeUnauthorized, "%v", err)
	}
	if s.agentID != "" {
		if s.agentID == c.Agent {
			return nil
		}
		return protoErr(CodeAlreadyJoined, "this socket is signed in as %s", s.agentID)
	}
	presence, err := s.srv.center.SignIn(c.Agent)
	if err != nil {
		return asProtoErr(err)
	}
	s.agentID = c.Agent
	s.srv.addConsole(c.Agent, s)
	if msg, err := eventMessage(presence); err == nil {
		s.sendRaw(msg)
	}
	s.sendDirectory()
	return nil
}

// acceptHelp joins the call of an offered help request as its third
// party, the leg registered before the center admits it. A call on
// another node of a cluster is joined there, the console carried on to
// it.
func (s *session) acceptHelp(request string) *ProtocolError {
	if s.currentLeg() != nil {
		return protoErr(CodeAlreadyJoined, "leave call %s before helping in another", s.leg.callID)
	}
	callID, err := s.offeredCall(request)
	if err != nil {
		return asProtoErr(err)
	}
	if node := s.srv.otherNodeOf(context.Background(), callID); node != nil {
		return s.moveConsole(node, callID, request)
	}
	return s.enter(callID, call.Third, s.agentID, func() (*call.Snapshot, error) {
		return s.srv.center.AcceptHelp(s.agentID, request)
	})
}

func (s *session) signOut() {
	if s.agentID == "" {
		return
	}
	s.srv.removeConsole(s.agentID, s)
	s.srv.center.SignOut(s.agentID)
	s.agentID = ""
}

// directoryMessage lists queues (with how many of their agents are
// idle), agents (with their presence) and contacts for the console's
// three-party form, as they are when it is sent.
type directoryMessage struct {
	Type     string             `json:"type"`
	Queues   []call.QueueStatus `json:"queues"`
	Agents   []directoryAgent   `json:"agents"`
	Contacts []call.Contact     `json:"contacts"`
	DialOut  dialOut            `json:"dial_out"`
}

// dialOut tells the console whether it may offer numbers, and the dial
// plan in words for the number field.
type dialOut struct {
	Enabled bool   `json:"enabled"`
	Hint    string `json:"hint"`
}

type directoryAgent struct {
	ID    string             `json:"id"`
	Name  string             `json:"name"`
	State call.PresenceState `json:"state"`
}

func (s *session) sendDirectory() {
	enabled, plan := s.srv.center.DialOut()
	m := directoryMessage{Type: "directory", Queues: s.srv.center.Queues(), Contacts: s.srv.contacts(),
		DialOut: dialOut{Enabled: enabled, Hint: plan.Hinted()}}
	for _, a := range s.srv.center.Agents() {
		m.Agents = append(m.Agents, directoryAgent{ID: a.ID, Name: a.Name, State: a.State})
	}
	data, err := json.Marshal(m)
	if err != nil {
		return
	}
	s.sendRaw(data)
}

// rememberOffer notes which call an offered request belongs to, so that
// accepting it can register the leg first. Called by the notifier.
func (s *session) rememberOffer(request, callID string) {
	s.offersMu.Lock()
	defer s.offersMu.Unlock()
	if len(s.offers) > 64 {
		clear(s.offers) // offers are answered or withdrawn long before
	}
	s.offers[request] = callID
}

// offeredCall is the call of a request offered to this console's agent:
// one ringing it here, or one another node's offer named.
func (s *session) offeredCall(request string) (string, error) {
	if id, ok := s.srv.center.RingingCall(s.agentID, request); ok {
		return id, nil // also for a console carried on here, never sent the offer
	}
	s.offersMu.Lock()
	defer s.offersMu.Unlock()
	id, ok := s.offers[request]
	if !ok {
		return "", &call.Error{Code: call.CodeNoSuchRequest, Message: fmt.Sprintf("request %q was not offered here", request)}
	}
	return id, nil
}
