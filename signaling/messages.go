package signaling

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/pion/webrtc/v4"
)

// Error codes sent in {"type":"error"}; PROTOCOL.md lists them. They are a
// contract: add, never rename.
const (
	CodeBadMessage        = "bad_message"
	CodeUnknownType       = "unknown_type"
	CodeInvalidField      = "invalid_field"
	CodeNotJoined         = "not_joined"
	CodeAlreadyJoined     = "already_joined"
	CodeRoleTaken         = "role_taken"
	CodeNegotiationFailed = "negotiation_failed"
	CodeInternal          = "internal"
)

// Roles a party may join in, in the order tiles are laid out.
var Roles = []string{"customer", "agent", "third"}

// ProtocolError is a refusal sent to the client as {"type":"error"}.
type ProtocolError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *ProtocolError) Error() string { return e.Code + ": " + e.Message }

func protoErr(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// clientMessage is any message a client sends; which fields matter
// depends on Type.
type clientMessage struct {
	Type      string                   `json:"type"`
	Call      string                   `json:"call"`
	Role      string                   `json:"role"`
	Name      string                   `json:"name"`
	Token     string                   `json:"token"`
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

// serverMessage is any message the server sends.
type serverMessage struct {
	Type      string                   `json:"type"`
	Call      string                   `json:"call,omitempty"`
	Role      string                   `json:"role,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Parties   []partyState             `json:"parties,omitempty"`
	Reason    string                   `json:"reason,omitempty"`
	Code      string                   `json:"code,omitempty"`
	Message   string                   `json:"message,omitempty"`
}

type partyState struct {
	Role  string `json:"role"`
	Name  string `json:"name"`
	Video bool   `json:"video"`
}

func errorMessage(e *ProtocolError) serverMessage {
	return serverMessage{Type: "error", Code: e.Code, Message: e.Message}
}

var callIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// parseClientMessage decodes one WebSocket text message.
func parseClientMessage(data []byte) (clientMessage, *ProtocolError) {
	var m clientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return m, protoErr(CodeBadMessage, "not a JSON object: %v", err)
	}
	if m.Type == "" {
		return m, protoErr(CodeBadMessage, "message has no type")
	}
	return m, nil
}

// validateJoin checks a join's fields.
func validateJoin(m clientMessage) *ProtocolError {
	if !callIDPattern.MatchString(m.Call) {
		return protoErr(CodeInvalidField, "call must be 1-64 of A-Z a-z 0-9 _ -")
	}
	if !isRole(m.Role) {
		return protoErr(CodeInvalidField, "role must be customer, agent or third")
	}
	if len([]rune(m.Name)) > 64 {
		return protoErr(CodeInvalidField, "name is longer than 64 characters")
	}
	return nil
}

func isRole(r string) bool {
	for _, role := range Roles {
		if r == role {
			return true
		}
	}
	return false
}
