package call

import "time"

// Event is something a party or an agent console is told. An event
// marshals to the fields of the protocol message named by EventType.
type Event interface {
	EventType() string
}

// AgentRef names an agent in events.
type AgentRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// HelpOffer asks an agent to help in a call.
type HelpOffer struct {
	Request     string   `json:"request"`
	Call        string   `json:"call"`
	Mode        HelpMode `json:"mode"`
	Queue       string   `json:"queue,omitempty"`
	From        AgentRef `json:"from"`
	Customer    string   `json:"customer"`
	ExpiresInMS int64    `json:"expires_in_ms"`
}

// HelpWithdrawn tells an agent that an offer it got is no longer open.
type HelpWithdrawn struct {
	Request string `json:"request"`
	Reason  string `json:"reason"`
}

// HelpProgress tells a call's parties how seeking help goes.
type HelpProgress struct {
	Request string    `json:"request"`
	Mode    HelpMode  `json:"mode"`
	State   HelpPhase `json:"state"`
	Agent   *AgentRef `json:"agent,omitempty"`
}

// HelpFailed tells a call's parties that help will not come.
type HelpFailed struct {
	Request string `json:"request"`
	Reason  string `json:"reason"`
}

// LayoutReset tells a viewer its layout went back to equal, and why.
type LayoutReset struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Parties []Role `json:"parties,omitempty"`
}

// ShareStopped tells a call's parties that a screen share ended.
type ShareStopped struct {
	Party  Role   `json:"party"`
	Reason string `json:"reason"`
}

// Left tells a party its leg ended: the signaling layer closes its media.
type Left struct {
	Reason string `json:"reason"`
}

// Presence tells an agent console its agent's state.
type Presence struct {
	Agent string        `json:"agent"`
	State PresenceState `json:"state"`
	Since time.Time     `json:"since"`
}

// EventType implements Event.
func (HelpOffer) EventType() string { return "help.offer" }

// EventType implements Event.
func (HelpWithdrawn) EventType() string { return "help.withdrawn" }

// EventType implements Event.
func (HelpProgress) EventType() string { return "help.progress" }

// EventType implements Event.
func (HelpFailed) EventType() string { return "help.failed" }

// EventType implements Event.
func (LayoutReset) EventType() string { return "layout.reset" }

// EventType implements Event.
func (ShareStopped) EventType() string { return "share.stopped" }

// EventType implements Event.
func (Left) EventType() string { return "left" }

// EventType implements Event.
func (Presence) EventType() string { return "presence" }

// Reasons a leg ends (Left.Reason).
const (
	ReasonHangup           = "hangup"
	ReasonDropped          = "dropped"
	ReasonConnectionFailed = "connection_failed"
	ReasonCallEnded        = "call_ended"
	ReasonServerShutdown   = "server_shutdown"
	ReasonPartyLeft        = "party_left"
	ReasonStopped          = "stopped"
	// ReasonRejoined: the party joined again from another connection,
	// which took its seat over.
	ReasonRejoined = "rejoined"
	// ReasonNoMedia: the party joined but its media never connected
	// within the server's media timeout.
	ReasonNoMedia = "no_media"
)

// Notifier receives what the Center decides. It is called with the
// Center's lock held, in order: implementations must not block and must
// not call back into the Center.
type Notifier interface {
	// Changed follows every change of a call, with its new state.
	Changed(s *Snapshot)
	// ToParty delivers an event to one party of a call.
	ToParty(callID string, role Role, ev Event)
	// ToAgent delivers an event to an agent's consoles.
	ToAgent(agentID string, ev Event)
}
