package signaling

import (
	"log/slog"
	"sync"

	"github.com/threeway-mcu/threeway/layout"
	"github.com/threeway-mcu/threeway/mixer"
)

// room is one call: its parties by role and its mixer. Membership changes
// under mu, in order; views and call.state follow every change.
type room struct {
	id    string
	mixer *mixer.Mixer
	log   *slog.Logger

	mu      sync.Mutex
	parties map[string]*session // by role
	closed  bool
}

// join adds s in role, or refuses if the role is held. The caller confirms
// the join to its client and then announces it with changed.
func (r *room) join(s *session, role string) *ProtocolError {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return protoErr(CodeInternal, "call %s is ending, try again", r.id)
	}
	if holder := r.parties[role]; holder != nil {
		return protoErr(CodeRoleTaken, "role %s is already taken in call %s", role, r.id)
	}
	r.parties[role] = s
	return nil
}

// leave removes s and reports whether the room is now empty (and closed).
func (r *room) leave(s *session) (empty bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.parties[s.role] != s {
		return false
	}
	delete(r.parties, s.role)
	r.mixer.RemoveViewer(s.role)
	r.mixer.RemoveListener(s.role)
	if len(r.parties) == 0 {
		r.closed = true
		return true
	}
	r.changedLocked()
	return false
}

// changed re-applies views and sends call.state after a party's media
// changed (its tracks appeared).
func (r *room) changed() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changedLocked()
}

func (r *room) changedLocked() {
	if r.closed {
		return
	}
	spec := layout.Spec{Mode: layout.Equal}
	state := make([]partyState, 0, len(r.parties))
	for _, role := range Roles {
		s := r.parties[role]
		if s == nil {
			continue
		}
		spec.Parties = append(spec.Parties, role)
		state = append(state, partyState{Role: role, Name: s.name, Video: s.hasVideo.Load()})
	}
	for role, s := range r.parties {
		if s.videoOut == nil {
			continue
		}
		if err := r.mixer.SetViewer(role, spec, s.videoOut); err != nil {
			r.log.Error("set viewer", "party", role, "err", err)
		}
	}
	msg := serverMessage{Type: "call.state", Call: r.id, Parties: state}
	for _, s := range r.parties {
		s.send(msg)
	}
}

func (r *room) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *room) isEmpty() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.parties) == 0 {
		r.closed = true
		return true
	}
	return false
}
