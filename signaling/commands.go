package signaling

import (
	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/layout"
)

// legCommand handles a message of a party in a call.
type legCommand func(s *session, l *leg, msg clientMessage) *ProtocolError

// legCommands are the messages a party may send, by type.
var legCommands = map[string]legCommand{
	"offer":     func(s *session, l *leg, m clientMessage) *ProtocolError { return s.onOffer(l, m.SDP) },
	"candidate": func(s *session, l *leg, m clientMessage) *ProtocolError { return s.onCandidate(l, m.Candidate) },
	"leave":     hangup,
	"hangup":    hangup,
	"help.request": func(s *session, l *leg, m clientMessage) *ProtocolError {
		req := call.HelpRequest{Mode: call.HelpMode(m.Mode), Queue: m.Queue, Agent: m.Agent, Number: m.Number}
		_, err := s.srv.center.RequestHelp(l.callID, l.role, req)
		return asProtoErr(err)
	},
	"help.cancel": func(s *session, l *leg, m clientMessage) *ProtocolError {
		return asProtoErr(s.srv.center.CancelHelp(l.callID, l.role, m.Request))
	},
	"layout.set": func(s *session, l *leg, m clientMessage) *ProtocolError {
		mode, err := layout.ParseMode(m.Mode)
		if err != nil {
			return protoErr(CodeInvalidField, "mode must be equal or maximize")
		}
		return asProtoErr(s.srv.center.SetLayout(l.callID, l.role, call.Layout{Mode: mode, Party: call.Role(m.Party)}))
	},
	"video.set":     flagCommand((*call.Center).SetVideo),
	"audio.set":     flagCommand((*call.Center).SetAudio),
	"self_view.set": flagCommand((*call.Center).SetSelfView),
	"share.start": func(s *session, l *leg, _ clientMessage) *ProtocolError {
		return asProtoErr(s.srv.center.StartShare(l.callID, l.role))
	},
	"share.stop": func(s *session, l *leg, _ clientMessage) *ProtocolError {
		return asProtoErr(s.srv.center.StopShare(l.callID, l.role))
	},
	"party.drop": func(s *session, l *leg, m clientMessage) *ProtocolError {
		target, ok := call.ParseRole(m.Party)
		if !ok {
			return protoErr(CodeInvalidField, "party must be customer, agent or third")
		}
		return asProtoErr(s.srv.center.DropParty(l.callID, l.role, target))
	},
}

func hangup(s *session, _ *leg, _ clientMessage) *ProtocolError {
	s.leave(call.ReasonHangup)
	return nil
}

// flagCommand turns a center setter of a party's on/off flag into a
// command reading `on`.
func flagCommand(set func(*call.Center, string, call.Role, bool) error) legCommand {
	return func(s *session, l *leg, m clientMessage) *ProtocolError {
		on, perr := requireOn(m)
		if perr != nil {
			return perr
		}
		return asProtoErr(set(s.srv.center, l.callID, l.role, on))
	}
}

// consoleCommand handles the messages of a signed-in agent console.
func (s *session) consoleCommand(msg clientMessage) *ProtocolError {
	c := s.srv.center
	switch msg.Type {
	case "presence.set":
		_, err := c.SetPresence(s.agentID, call.PresenceState(msg.State))
		return asProtoErr(err)
	case "help.reject":
		return asProtoErr(c.RejectHelp(s.agentID, msg.Request))
	case "help.accept":
		if s.currentLeg() != nil {
			return protoErr(CodeAlreadyJoined, "leave call %s before helping in another", s.leg.callID)
		}
		callID, err := s.offeredCall(msg.Request)
		if err != nil {
			return asProtoErr(err)
		}
		return s.enter(callID, call.Third, s.agentID, func() (*call.Snapshot, error) {
			return c.AcceptHelp(s.agentID, msg.Request)
		})
	}
	return protoErr(CodeUnknownType, "unknown message type %q", msg.Type)
}
