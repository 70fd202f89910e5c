package call

import (
	"slices"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// Snapshot is a call's state after a change: what clients render and what
// the media layer follows. It is a copy; the Center never changes it.
type Snapshot struct {
	ID  string
	Seq uint64 // grows with every snapshot the Center makes

	Mode    VideoMode
	Parties []PartyState // in tile order
	Share   Role         // who shares the screen, "" for nobody
	Help    *HelpState   // the pending request, nil for none
	Ended   bool         // the call is over; Parties is empty
	Created time.Time    // when the call was opened
}

// State is where the call stands (CallState).
func (s *Snapshot) State() CallState { return callStateOf(s.Help != nil, len(s.Parties)) }

// PartyState is one party in a Snapshot.
type PartyState struct {
	Role    Role   `json:"role"`
	Name    string `json:"name"`
	AgentID string `json:"agent,omitempty"`
	Video   bool   `json:"video"`
	Audio   bool   `json:"audio"`
	// Reconnecting: the party's connection dropped; its seat waits for it
	// for the rejoin grace.
	Reconnecting bool `json:"reconnecting"`
	// Phone: the party is a phone call the server dialled (its Name is
	// the masked number); it has no camera.
	Phone    bool   `json:"phone,omitempty"`
	SelfView bool   `json:"-"`
	Layout   Layout `json:"-"`
}

// HelpState is a pending help request in a Snapshot.
type HelpState struct {
	Request string    `json:"request"`
	Mode    HelpMode  `json:"mode"`
	Queue   string    `json:"queue,omitempty"`
	Agent   *AgentRef `json:"agent,omitempty"` // the agent ringing now
	Number  string    `json:"number,omitempty"`
	State   HelpPhase `json:"state"`
}

// View is what one viewer's picture shows.
type View struct {
	Mode  layout.Mode `json:"mode"`
	Focus string      `json:"focus,omitempty"`
	Tiles []string    `json:"tiles"`
}

func (c *Center) snapshot(cs *callState) *Snapshot {
	c.seq++
	s := &Snapshot{ID: cs.id, Seq: c.seq, Mode: c.videoMode, Share: cs.share, Created: cs.created}
	for _, r := range cs.present() {
		p := cs.parties[r]
		s.Parties = append(s.Parties, PartyState{Role: r, Name: p.name, AgentID: p.agentID,
			Video: p.video, Audio: p.audio, Reconnecting: p.reconnecting, Phone: p.dial != "", SelfView: p.selfView, Layout: p.layout})
	}
	if h := cs.help; h != nil {
		hs := &HelpState{Request: h.id, Mode: h.Mode, Queue: h.Queue, Number: h.Number, State: h.phase}
		if a := h.offered; a != nil {
			hs.Agent = &AgentRef{ID: a.ID, Name: a.Name}
		}
		s.Help = hs
	}
	return s
}

// Party returns role's state, if present.
func (s *Snapshot) Party(role Role) (PartyState, bool) {
	for _, p := range s.Parties {
		if p.Role == role {
			return p, true
		}
	}
	return PartyState{}, false
}

// ViewOf is what viewer's picture shows: the parties present (without the
// viewer if it hides its own tile) in its chosen layout, or, while someone
// shares, the screen large and the cameras small.
func (s *Snapshot) ViewOf(viewer Role) View {
	me, _ := s.Party(viewer)
	v := View{Mode: layout.Equal}
	for _, p := range s.Parties {
		if p.Role != viewer || me.SelfView {
			v.Tiles = append(v.Tiles, string(p.Role))
		}
	}
	switch {
	case s.Share != "":
		v.Tiles = append(v.Tiles, ScreenSource)
		v.Mode, v.Focus = layout.Maximize, ScreenSource
	case me.Layout.Mode == layout.Maximize && slices.Contains(v.Tiles, string(me.Layout.Party)):
		v.Mode, v.Focus = layout.Maximize, string(me.Layout.Party)
	}
	return v
}

// Spec is the layout spec of the view.
func (v View) Spec() layout.Spec {
	return layout.Spec{Parties: v.Tiles, Mode: v.Mode, Focus: v.Focus}
}
