package call

import (
	"encoding/json"
	"testing"

	"github.com/threeway-mcu/threeway/layout"
)

// Events marshal to the fields PROTOCOL.md gives their message type.
func TestEventsMatchTheProtocol(t *testing.T) {
	tests := []struct {
		ev       Event
		wantType string
		wantJSON string
	}{
		{HelpOffer{Request: "h1", Call: "c1", Mode: ByQueue, Queue: "billing", From: AgentRef{"bob", "Bob"}, Customer: "Ann", ExpiresInMS: 20000},
			"help.offer", `{"request":"h1","call":"c1","mode":"queue","queue":"billing","from":{"id":"bob","name":"Bob"},"customer":"Ann","expires_in_ms":20000}`},
		{HelpOffer{Request: "h1", Call: "c1", Mode: ByAgent, From: AgentRef{"bob", "Bob"}, Customer: "Ann", ExpiresInMS: 1},
			"help.offer", `{"request":"h1","call":"c1","mode":"agent","from":{"id":"bob","name":"Bob"},"customer":"Ann","expires_in_ms":1}`},
		{HelpWithdrawn{Request: "h1", Reason: CodeTimeout}, "help.withdrawn", `{"request":"h1","reason":"timeout"}`},
		{HelpProgress{Request: "h1", Mode: ByQueue, State: Ringing, Agent: &AgentRef{"carol", "Carol"}},
			"help.progress", `{"request":"h1","mode":"queue","state":"ringing","agent":{"id":"carol","name":"Carol"}}`},
		{HelpProgress{Request: "h1", Mode: ByNumber, State: Dialing}, "help.progress", `{"request":"h1","mode":"number","state":"dialing"}`},
		{HelpFailed{Request: "h1", Reason: CodeNoAgentAvailable}, "help.failed", `{"request":"h1","reason":"no_agent_available"}`},
		{LayoutReset{Reason: ReasonPartyLeft, Message: "third left the call", Parties: []Role{Third}},
			"layout.reset", `{"reason":"party_left","message":"third left the call","parties":["third"]}`},
		{ShareStopped{Party: Customer, Reason: CodeVideoNotEnabledForAll}, "share.stopped", `{"party":"customer","reason":"video_not_enabled_for_all"}`},
		{Left{Reason: ReasonCallEnded}, "left", `{"reason":"call_ended"}`},
		{Presence{Agent: "alice", State: Away, Since: epoch}, "presence", `{"agent":"alice","state":"away","since":"2026-01-05T09:00:00Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.wantType, func(t *testing.T) {
			if got := tt.ev.EventType(); got != tt.wantType {
				t.Errorf("EventType() = %q, want %q", got, tt.wantType)
			}
			b, err := json.Marshal(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantJSON {
				t.Errorf("JSON\n got %s\nwant %s", b, tt.wantJSON)
			}
		})
	}
}

// The parts of a snapshot that reach call.state marshal as PROTOCOL.md's
// example shows; self view and layout travel in their own fields.
func TestSnapshotPartsMatchTheProtocol(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"party", PartyState{Role: AgentRole, Name: "Bob", AgentID: "bob", Video: true, Audio: true, SelfView: true, Layout: maximize(Customer)},
			`{"role":"agent","name":"Bob","agent":"bob","video":true,"audio":true,"reconnecting":false}`},
		{"customer", PartyState{Role: Customer, Name: "Ann", Video: false, Audio: true, Reconnecting: true},
			`{"role":"customer","name":"Ann","video":false,"audio":true,"reconnecting":true}`},
		{"layout", maximize(Customer), `{"mode":"maximize","party":"customer"}`},
		{"equal layout", EqualLayout, `{"mode":"equal"}`},
		{"view", View{Mode: layout.Maximize, Focus: "customer", Tiles: []string{"customer", "agent"}},
			`{"mode":"maximize","focus":"customer","tiles":["customer","agent"]}`},
		{"help", HelpState{Request: "h1", Mode: ByQueue, Queue: "billing", State: Ringing, Agent: &AgentRef{"carol", "Carol"}},
			`{"request":"h1","mode":"queue","queue":"billing","agent":{"id":"carol","name":"Carol"},"state":"ringing"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("JSON\n got %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	err := error(refuse(CodeRoleTaken, "role %s is taken", Customer))
	if got, want := err.Error(), "role_taken: role customer is taken"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
