package call

import "fmt"

// Refusal codes. They reach clients unchanged, so they are a contract:
// add, never rename.
const (
	CodeInvalidField               = "invalid_field"
	CodeCallNotFound               = "call_not_found"
	CodeCallEnded                  = "call_ended"
	CodeRoleTaken                  = "role_taken"
	CodeCallFull                   = "call_full"
	CodeForbidden                  = "forbidden"
	CodeHelpInProgress             = "help_in_progress"
	CodeNoSuchRequest              = "no_such_request"
	CodeUnknownAgent               = "unknown_agent"
	CodeUnknownQueue               = "unknown_queue"
	CodeAgentUnavailable           = "agent_unavailable"
	CodeExternalCallsNotConfigured = "external_calls_not_configured" // no longer sent: sip_not_configured since SIP dial-out
	CodeSIPNotConfigured           = "sip_not_configured"
	CodeNumberNotAllowed           = "number_not_allowed"
	CodeThreePartyUnsupportedInSFU = "three_party_unsupported_in_sfu_mode"
	CodeVideoNotEnabledForAll      = "video_not_enabled_for_all"
	CodeShareInProgress            = "share_in_progress"
	CodeShareUnsupportedInSFU      = "share_unsupported_in_sfu_mode"
	CodeLayoutUnsupportedInSFU     = "layout_unsupported_in_sfu_mode"
	CodeNotSharing                 = "not_sharing"
	CodePartyNotPresent            = "party_not_present"
	CodePartyNotInView             = "party_not_in_view"
	CodeNotSignedIn                = "not_signed_in"
	CodeServerFull                 = "server_full"
	CodeNoAgentAvailable           = "no_agent_available"
	CodeRejected                   = "rejected"
	CodeTimeout                    = "timeout"
	CodeCancelled                  = "cancelled"
)

// Error is a refusal: nothing changed. Code is stable, Message is for
// people, Parties names the parties a rule found lacking (who has no
// video).
type Error struct {
	Code    string
	Message string
	Parties []Role
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}
