package signaling

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/call"
)

// Protocol error codes of the signaling layer; the call package's codes
// (call.Code…) pass through unchanged. PROTOCOL.md lists them all. They are
// a contract: add, never rename.
const (
	CodeBadMessage        = "bad_message"
	CodeUnknownType       = "unknown_type"
	CodeInvalidField      = "invalid_field"
	CodeUnauthorized      = "unauthorized"
	CodeNotJoined         = "not_joined"
	CodeAlreadyJoined     = "already_joined"
	CodeNotSignedIn       = "not_signed_in"
	CodeRoleTaken         = call.CodeRoleTaken
	CodeNegotiationFailed = "negotiation_failed"
	CodeInternal          = "internal"
	CodeRateLimited       = "rate_limited"
	CodeAuthTimeout       = "auth_timeout"
	CodeMessageTooBig     = "message_too_big"
	CodeNotReading        = "not_reading"
)

// ProtocolError is a refusal sent to the client as {"type":"error"}.
type ProtocolError struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Parties []call.Role `json:"parties,omitempty"`
	Request string      `json:"request,omitempty"`
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

func protoErr(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// asProtoErr turns a refusal of the call package into its protocol error;
// anything else is internal.
func asProtoErr(err error) *ProtocolError {
	if err == nil {
		return nil
	}
	if ce, ok := err.(*call.Error); ok {
		return &ProtocolError{Code: ce.Code, Message: ce.Message, Parties: ce.Parties}
	}
	return protoErr(CodeInternal, "%v", err)
}

// envelope is what every client message has: its type, and the help
// request it may name, which a refusal of it echoes. Request is left
// raw: only the help commands read it (through their own payloads, which
// refuse a mistyped one), so on any other message it is foreign and no
// reason to refuse.
type envelope struct {
	Type    string          `json:"type"`
	Request json.RawMessage `json:"request"`
}

// request is the help request the message names, if it names one as a
// string.
func (e envelope) request() string {
	var r string
	if json.Unmarshal(e.Request, &r) != nil {
		return ""
	}
	return r
}

// The payloads of client messages (PROTOCOL.md), each decoded from the
// whole message by its own command, so that a field means one thing.
type (
	joinMessage struct {
		Call  string `json:"call"`
		Role  string `json:"role"`
		Name  string `json:"name"`
		Token string `json:"token"`
	}
	// signInMessage is agent.signin.
	signInMessage struct {
		Token string `json:"token"`
	}
	offerMessage struct {
		SDP string `json:"sdp"`
	}
	candidateMessage struct {
		Candidate *webrtc.ICECandidateInit `json:"candidate"`
	}
	// helpRequestMessage is help.request: Mode says which of Queue, Agent
	// or Number names the third party.
	helpRequestMessage struct {
		Mode   call.HelpMode `json:"mode"`
		Queue  string        `json:"queue"`
		Agent  string        `json:"agent"`
		Number string        `json:"number"`
	}
	// requestMessage is help.cancel, help.accept or help.reject.
	requestMessage struct {
		Request string `json:"request"`
	}
	// layoutMessage is layout.set. Mode stays a string until
	// layout.ParseMode, so that an unknown mode is invalid_field.
	layoutMessage struct {
		Mode  string `json:"mode"`
		Party string `json:"party"`
	}
	// flagMessage is video.set, audio.set or self_view.set; a missing On
	// is refused, not taken as off.
	flagMessage struct {
		On *bool `json:"on"`
	}
	// viewSizeMessage is view.size: the size, in device pixels, the
	// client shows the picture it receives at.
	viewSizeMessage struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	}
	// partyMessage is party.drop.
	partyMessage struct {
		Party string `json:"party"`
	}
	// presenceMessage is presence.set.
	presenceMessage struct {
		State call.PresenceState `json:"state"`
	}
)

// serverMessage is a message of the signaling layer itself; call events
// and call.state have their own shapes.
type serverMessage struct {
	Type      string                   `json:"type"`
	Call      string                   `json:"call,omitempty"`
	Role      string                   `json:"role,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Reason    string                   `json:"reason,omitempty"`
	Token     string                   `json:"token,omitempty"` // joined: takes the seat back
	InMS      int64                    `json:"in_ms,omitempty"` // server_shutdown: time left
	*ProtocolError
}

func errorMessage(e *ProtocolError) serverMessage {
	return serverMessage{Type: "error", ProtocolError: e}
}

// eventMessage is a call event as its protocol message: the event's own
// fields with the type in front.
func eventMessage(ev call.Event) (json.RawMessage, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", ev.EventType(), err)
	}
	head := fmt.Sprintf(`{"type":%q`, ev.EventType())
	if len(body) <= 2 { // {}
		return json.RawMessage(head + "}"), nil
	}
	return json.RawMessage(head + "," + string(body[1:])), nil
}

var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// parseEnvelope decodes what every client message has.
func parseEnvelope(data []byte) (envelope, *ProtocolError) {
	var e envelope
	if err := json.Unmarshal(data, &e); err != nil {
		return e, protoErr(CodeBadMessage, "not a JSON object: %v", err)
	}
	if e.Type == "" {
		return e, protoErr(CodeBadMessage, "message has no type")
	}
	return e, nil
}

// validateJoin checks a join's fields.
func validateJoin(m joinMessage) (call.Role, *ProtocolError) {
	if !callIDPattern.MatchString(m.Call) {
		return "", protoErr(CodeInvalidField, "call must be 1-64 of A-Z a-z 0-9 _ -")
	}
	role, ok := call.ParseRole(m.Role)
	if !ok {
		return "", protoErr(CodeInvalidField, "role must be customer, agent or third")
	}
	if len([]rune(m.Name)) > 64 {
		return "", protoErr(CodeInvalidField, "name is longer than 64 characters")
	}
	return role, nil
}

// roleWords names a role in a sentence: "customer", "agent", "third
// party".
func roleWords(r call.Role) string {
	if r == call.Third {
		return "third party"
	}
	return string(r)
}
