package signaling

import (
	"encoding/json"
	"errors"
	"reflect"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/layout"
)

// command is one type of client message. Once the envelope is read and
// the type is known, its payload is decoded before the socket is looked
// at, so that a malformed message is bad_message whatever the socket is;
// it runs only if the socket is what the command requires.
type command struct {
	requires requires
	parse    func(data []byte) (action, *ProtocolError)
}

// requires is what a socket must be to send a command.
type requires int

const (
	anySocket     requires = iota
	consoleSocket          // signed in with agent.signin
	partySocket            // in a call
)

// action runs a decoded command; l is the socket's leg for a party's
// command, nil for the others.
type action func(s *session, l *leg) *ProtocolError

// commands are the client messages, by type.
var commands = map[string]command{
	"join": {anySocket, payload(func(s *session, _ *leg, m joinMessage) *ProtocolError {
		return s.join(m)
	})},
	"agent.signin": {anySocket, payload(func(s *session, _ *leg, m signInMessage) *ProtocolError {
		return s.signIn(m.Token)
	})},
	"presence.set": {consoleSocket, payload(func(s *session, _ *leg, m presenceMessage) *ProtocolError {
		_, err := s.srv.center.SetPresence(s.agentID, m.State)
		return asProtoErr(err)
	})},
	"help.accept": {consoleSocket, payload(func(s *session, _ *leg, m requestMessage) *ProtocolError {
		return s.acceptHelp(m.Request)
	})},
	"help.reject": {consoleSocket, payload(func(s *session, _ *leg, m requestMessage) *ProtocolError {
		return asProtoErr(s.srv.center.RejectHelp(s.agentID, m.Request))
	})},
	"directory.get": {consoleSocket, bare(func(s *session, _ *leg) *ProtocolError {
		s.sendDirectory()
		return nil
	})},

	"offer": {partySocket, payload(func(s *session, l *leg, m offerMessage) *ProtocolError {
		return s.onOffer(l, m.SDP)
	})},
	"candidate": {partySocket, payload(func(s *session, l *leg, m candidateMessage) *ProtocolError {
		return s.onCandidate(l, m.Candidate)
	})},
	"leave":  {partySocket, bare(hangup)},
	"hangup": {partySocket, bare(hangup)},
	"help.request": {partySocket, payload(func(s *session, l *leg, m helpRequestMessage) *ProtocolError {
		if cl := s.srv.params.Cluster; cl != nil && !cl.Reachable() {
			return protoErr(CodeClusterUnavailable, "No help can be sought while the cluster's store is unreachable: the agents of the other servers cannot be asked.")
		}
		req := call.HelpRequest{Mode: m.Mode, Queue: m.Queue, Agent: m.Agent, Number: m.Number}
		_, err := s.srv.center.RequestHelp(l.callID, l.role, req)
		return asProtoErr(err)
	})},
	"help.cancel": {partySocket, payload(func(s *session, l *leg, m requestMessage) *ProtocolError {
		return asProtoErr(s.srv.center.CancelHelp(l.callID, l.role, m.Request))
	})},
	"layout.set": {partySocket, payload(func(s *session, l *leg, m layoutMessage) *ProtocolError {
		mode, err := layout.ParseMode(m.Mode)
		if err != nil {
			return protoErr(CodeInvalidField, "mode must be equal or maximize")
		}
		return asProtoErr(s.srv.center.SetLayout(l.callID, l.role, call.Layout{Mode: mode, Party: call.Role(m.Party)}))
	})},
	"video.set":     {partySocket, flagCommand("video.set", (*call.Center).SetVideo)},
	"audio.set":     {partySocket, flagCommand("audio.set", (*call.Center).SetAudio)},
	"self_view.set": {partySocket, flagCommand("self_view.set", (*call.Center).SetSelfView)},
	"share.start": {partySocket, bare(func(s *session, l *leg) *ProtocolError {
		return asProtoErr(s.srv.center.StartShare(l.callID, l.role))
	})},
	"share.stop": {partySocket, bare(func(s *session, l *leg) *ProtocolError {
		return asProtoErr(s.srv.center.StopShare(l.callID, l.role))
	})},
	"view.size": {partySocket, payload(func(s *session, l *leg, m viewSizeMessage) *ProtocolError {
		if m.Width < 1 || m.Height < 1 || m.Width > maxViewWidth || m.Height > maxViewHeight {
			return protoErr(CodeInvalidField, "view.size needs a width and height of 1 to %dx%d pixels", maxViewWidth, maxViewHeight)
		}
		l.viewSize.Store(&viewSize{m.Width, m.Height})
		l.room.refresh()
		return nil
	})},
	"party.drop": {partySocket, payload(func(s *session, l *leg, m partyMessage) *ProtocolError {
		target, ok := call.ParseRole(m.Party)
		if !ok {
			return protoErr(CodeInvalidField, "party must be customer, agent or third")
		}
		return asProtoErr(s.srv.center.DropParty(l.callID, l.role, target))
	})},
}

// dispatch runs one client message of type typ, whose whole text is data.
func (s *session) dispatch(typ string, data []byte) *ProtocolError {
	cmd, known := commands[typ]
	if !known {
		return protoErr(CodeUnknownType, "unknown message type %q", typ)
	}
	act, perr := cmd.parse(data)
	if perr != nil {
		return perr
	}
	var l *leg
	switch cmd.requires {
	case consoleSocket:
		if s.agentID == "" {
			return protoErr(CodeNotSignedIn, "Sign in to the agent console first (agent.signin).")
		}
	case partySocket:
		if l = s.currentLeg(); l == nil {
			return protoErr(CodeNotJoined, "Join a call first.")
		}
	}
	return act(s, l)
}

// payload makes the parser of a command whose message decodes into P.
func payload[P any](run func(s *session, l *leg, m P) *ProtocolError) func([]byte) (action, *ProtocolError) {
	return func(data []byte) (action, *ProtocolError) {
		var m P
		if err := json.Unmarshal(data, &m); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				return nil, protoErr(CodeInvalidField, "%s must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type))
			}
			return nil, protoErr(CodeBadMessage, "not a JSON object")
		}
		return func(s *session, l *leg) *ProtocolError { return run(s, l, m) }, nil
	}
}

// jsonKind names a Go type as the JSON kind a client must send.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "number, 0 or more and in range"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Slice:
		return "array"
	default:
		return "object"
	}
}

// bare makes the parser of a command that has nothing but its type.
func bare(run action) func([]byte) (action, *ProtocolError) {
	return func([]byte) (action, *ProtocolError) { return run, nil }
}

func hangup(s *session, _ *leg) *ProtocolError {
	s.leave(call.ReasonHangup)
	return nil
}

// flagCommand makes the command typ of a center setter of a party's
// on/off flag, reading `on`.
func flagCommand(typ string, set func(*call.Center, string, call.Role, bool) error) func([]byte) (action, *ProtocolError) {
	return payload(func(s *session, l *leg, m flagMessage) *ProtocolError {
		if m.On == nil {
			return protoErr(CodeInvalidField, "%s needs a boolean on", typ)
		}
		return asProtoErr(set(s.srv.center, l.callID, l.role, *m.On))
	})
}
