package call

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// Only the call's agent drops, and only the third party.
func TestDropParty(t *testing.T) {
	tests := []struct {
		name     string
		three    bool
		by       Role
		target   Role
		wantCode string
	}{
		{"the agent drops the third", true, AgentRole, Third, ""},
		{"the customer drops the third", true, Customer, Third, CodeForbidden},
		{"the third drops itself", true, Third, Third, CodeForbidden},
		{"the agent drops the customer", true, AgentRole, Customer, CodeForbidden},
		{"the agent drops itself", true, AgentRole, AgentRole, CodeForbidden},
		{"no third to drop", false, AgentRole, Third, CodePartyNotPresent},
		{"a dropper not in the call", false, Third, Third, CodePartyNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.callOf(tt.three)
			before := roles(f.state(id))
			f.rec.reset()
			err := f.c.DropParty(id, tt.by, tt.target)
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != "" {
				f.wantNothingChanged()
				if got := roles(f.state(id)); !slices.Equal(got, before) {
					t.Errorf("a refused drop left %v", got)
				}
				return
			}
			if got := f.rec.toParty(id, Third); !reflect.DeepEqual(got, []Event{Left{ReasonDropped}}) {
				t.Errorf("third got %v, want left dropped", got)
			}
			for _, r := range []Role{Customer, AgentRole} {
				if got := partyEvents[Left](f.rec, id, r); len(got) != 0 {
					t.Errorf("%s got %+v; it stays in the call", r, got)
				}
			}
			if s := f.rec.lastState(id); s == nil || !slices.Equal(roles(s), []Role{Customer, AgentRole}) || s.Ended {
				t.Errorf("Changed after the drop: %+v, want customer and agent going on", s)
			}
			if st := f.agent("carol"); st.State != Idle || st.Call != "" {
				t.Errorf("dropped carol is %s in %q, want idle", st.State, st.Call)
			}
		})
	}
}

// A party of a three-party call hanging up leaves the other two talking.
func TestLeavingAThreePartyCall(t *testing.T) {
	tests := []struct {
		leaver   Role
		reason   string
		wantIdle string // the leaver's agent, idle again
		wantBusy []string
	}{
		{Customer, ReasonHangup, "", []string{"bob", "carol"}},
		{AgentRole, ReasonHangup, "bob", []string{"carol"}},
		{AgentRole, ReasonConnectionFailed, "bob", []string{"carol"}},
		{Third, ReasonHangup, "carol", []string{"bob"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.leaver)+" "+tt.reason, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("bob")
			id := f.callOf(true)
			f.rec.reset()
			f.must(f.c.Leave(id, tt.leaver, tt.reason))

			if got := f.rec.toParty(id, tt.leaver); !reflect.DeepEqual(got, []Event{Left{tt.reason}}) {
				t.Errorf("the leaver got %v, want left %s", got, tt.reason)
			}
			stay := slices.DeleteFunc(slices.Clone(Roles), func(r Role) bool { return r == tt.leaver })
			for _, r := range stay {
				if got := f.rec.partyTypes(id, r); len(got) != 0 {
					t.Errorf("%s got %v; nothing to tell it but the new state", r, got)
				}
			}
			s := f.rec.lastState(id)
			if s == nil || s.Ended || !slices.Equal(roles(s), stay) {
				t.Errorf("Changed after %s left: %+v, want %v going on", tt.leaver, s, stay)
			}
			if tt.wantIdle != "" {
				f.wantPresence(map[string]PresenceState{tt.wantIdle: Idle})
			}
			for _, a := range tt.wantBusy {
				f.wantPresence(map[string]PresenceState{a: Busy})
			}
			if _, err := f.c.Snapshot(id); err != nil {
				t.Errorf("the call ended: %v", err)
			}
		})
	}
}

// Viewers who maximized a party that leaves go back to equal, told why;
// the others keep their layout.
func TestLeaverMaximizedResetsThoseViewers(t *testing.T) {
	tests := []struct {
		leaver    Role
		maximize  map[Role]Role
		wantReset []Role
	}{
		{AgentRole, map[Role]Role{Customer: AgentRole, Third: AgentRole, AgentRole: Customer}, []Role{Customer, Third}},
		{Third, map[Role]Role{Customer: Third, AgentRole: Customer}, []Role{Customer}},
		{Customer, map[Role]Role{AgentRole: AgentRole, Third: Customer}, []Role{Third}},
	}
	for _, tt := range tests {
		t.Run(string(tt.leaver), func(t *testing.T) {
			f := newFixture(t)
			id := f.callOf(true)
			for viewer, party := range tt.maximize {
				f.must(f.c.SetLayout(id, viewer, maximize(party)))
			}
			f.rec.reset()
			f.must(f.c.Leave(id, tt.leaver, ReasonHangup))
			s := f.rec.lastState(id)
			for _, p := range s.Parties {
				resets := partyEvents[LayoutReset](f.rec, id, p.Role)
				if !slices.Contains(tt.wantReset, p.Role) {
					if len(resets) != 0 || p.Layout != maximize(tt.maximize[p.Role]) {
						t.Errorf("%s: resets %+v, layout %v; want its layout kept", p.Role, resets, p.Layout)
					}
					continue
				}
				want := LayoutReset{Reason: ReasonPartyLeft, Message: string(tt.leaver) + " left the call", Parties: []Role{tt.leaver}}
				if !reflect.DeepEqual(resets, []LayoutReset{want}) {
					t.Errorf("%s got %+v, want %+v", p.Role, resets, want)
				}
				if p.Layout != EqualLayout || p.Layout.Party != "" {
					t.Errorf("%s's layout %v, want equal", p.Role, p.Layout)
				}
			}
		})
	}
}

func TestSharerLeavingStopsTheShare(t *testing.T) {
	tests := []struct {
		name      string
		sharer    Role
		leaver    Role
		wantShare Role
	}{
		{"the sharer leaves", Third, Third, ""},
		{"the agent sharer leaves", AgentRole, AgentRole, ""},
		{"another leaves", Third, Customer, Third},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.callOf(true)
			f.must(f.c.StartShare(id, tt.sharer))
			f.rec.reset()
			f.must(f.c.Leave(id, tt.leaver, ReasonHangup))
			s := f.rec.lastState(id)
			if s.Share != tt.wantShare {
				t.Errorf("share %q, want %q", s.Share, tt.wantShare)
			}
			for _, r := range roles(s) {
				got := partyEvents[ShareStopped](f.rec, id, r)
				var want []ShareStopped
				if tt.wantShare == "" {
					want = []ShareStopped{{Party: tt.sharer, Reason: ReasonPartyLeft}}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s got %+v, want %+v", r, got, want)
				}
			}
		})
	}
}

// When one party is left alone after two had talked, the call ends.
func TestLastPartyAloneEndsTheCall(t *testing.T) {
	tests := []struct {
		name      string
		three     bool
		leave     []Role
		drop      bool // the agent drops the third first
		alone     Role // told call_ended; "" for nobody
		wantAgent []string
	}{
		{name: "customer leaves a pair", leave: []Role{Customer}, alone: AgentRole},
		{name: "agent leaves a pair", leave: []Role{AgentRole}, alone: Customer},
		{name: "third left alone", three: true, leave: []Role{Customer, AgentRole}, alone: Third},
		{name: "customer left alone", three: true, leave: []Role{Third, AgentRole}, alone: Customer},
		{name: "agent left alone after a drop", three: true, drop: true, leave: []Role{Customer}, alone: AgentRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("bob")
			id := f.callOf(tt.three)
			if tt.drop {
				f.must(f.c.DropParty(id, AgentRole, Third))
			}
			calls := f.c.CallCount()
			f.rec.reset()
			for _, r := range tt.leave {
				f.must(f.c.Leave(id, r, ReasonHangup))
			}

			got, _ := last(f.rec.toParty(id, tt.alone))
			if got != (Left{ReasonCallEnded}) {
				t.Errorf("%s's last event %v, want left call_ended", tt.alone, got)
			}
			states := f.rec.states(id)
			if end, _ := last(states); end == nil || !end.Ended || len(end.Parties) != 0 || end.ID != id || end.Help != nil {
				t.Errorf("last Changed %+v, want the call ended and empty", end)
			}
			for _, s := range states[:len(states)-1] {
				if s.Ended {
					t.Errorf("Changed said ended before the end: %+v", s)
				}
			}
			_, err := f.c.Snapshot(id)
			wantCode(t, err, CodeCallEnded)
			_, err = f.c.Join(id, Customer, "", "")
			wantCode(t, err, CodeCallEnded)
			wantCode(t, f.c.Leave(id, tt.alone, ReasonHangup), CodeCallEnded)
			if f.c.CallCount() != calls-1 {
				t.Errorf("CallCount %d, want %d", f.c.CallCount(), calls-1)
			}
			for _, a := range f.c.Agents() {
				if a.Call != "" || a.State == Busy {
					t.Errorf("agent %s is %s in %q after the call ended", a.ID, a.State, a.Call)
				}
			}
		})
	}
}

// A party alone before anyone has talked is waiting, not abandoned.
func TestLonePartyWaitingIsNotEnded(t *testing.T) {
	tests := []struct {
		name   string
		first  Role
		then   func(f *fixture, id string)
		second Role
	}{
		{name: "customer waits for the agent", first: Customer, second: AgentRole},
		{name: "agent waits for the customer", first: AgentRole, second: Customer},
		{name: "agent alone asks for help in vain", first: AgentRole, second: Customer,
			then: func(f *fixture, id string) { f.ask(id, byQueue("billing")) }},
		{name: "agent alone cancels its request", first: AgentRole, second: Customer,
			then: func(f *fixture, id string) {
				f.signIn("carol")
				f.must(f.c.CancelHelp(id, AgentRole, f.ask(id, byAgent("carol"))))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.create("bob")
			agentOf := map[Role]string{AgentRole: "bob"}
			f.join(id, tt.first, agentOf[tt.first])
			if tt.then != nil {
				tt.then(f, id)
			}
			f.clock.Advance(time.Hour)
			if s := f.state(id); s.Ended || !slices.Equal(roles(s), []Role{tt.first}) {
				t.Fatalf("the waiting call is %+v, want %s still waiting", s, tt.first)
			}
			if got := partyEvents[Left](f.rec, id, tt.first); len(got) != 0 {
				t.Fatalf("the waiting %s got %+v", tt.first, got)
			}
			f.join(id, tt.second, agentOf[tt.second])
		})
	}
}

// The last party of a call leaving (nobody else ever came) ends it, with
// nobody to tell.
func TestLastOneOutEndsTheCall(t *testing.T) {
	f := newFixture(t)
	id := f.create("bob")
	f.join(id, Customer, "")
	f.rec.reset()
	f.must(f.c.Leave(id, Customer, ReasonHangup))
	if got := f.rec.toParty(id, Customer); !reflect.DeepEqual(got, []Event{Left{ReasonHangup}}) {
		t.Errorf("customer got %v, want only its own hangup", got)
	}
	if s := f.rec.lastState(id); s == nil || !s.Ended {
		t.Errorf("last Changed %+v, want ended", s)
	}
	_, err := f.c.Join(id, AgentRole, "", "bob")
	wantCode(t, err, CodeCallEnded)
}

// The requesting agent hangs up while its request rings: the customer
// waits for the outcome. If help comes, customer and helper talk; if not,
// the customer is told and its call ends. Nothing fires afterwards.
func TestAgentHangsUpWhileHelpRings(t *testing.T) {
	reject := func(a string) func(f *fixture, id, rid string) {
		return func(f *fixture, id, rid string) { f.must(f.c.RejectHelp(a, rid)) }
	}
	accept := func(a string) func(f *fixture, id, rid string) {
		return func(f *fixture, id, rid string) { f.accept(a, rid) }
	}
	timeout := func(f *fixture, _, _ string) { f.clock.Advance(testHelpTimeout) }
	tests := []struct {
		name         string
		req          HelpRequest
		then         []func(f *fixture, id, rid string)
		wantCustomer []Event // after the hangup; rid filled in for help events
		wantThird    string  // the helper in the call; "" if the call ended
	}{
		{name: "named agent accepts", req: byAgent("carol"), then: []func(*fixture, string, string){accept("carol")},
			wantCustomer: []Event{HelpProgress{Mode: ByAgent, State: Accepted, Agent: &AgentRef{"carol", "Carol Chen"}}},
			wantThird:    "carol"},
		{name: "named agent rejects", req: byAgent("carol"), then: []func(*fixture, string, string){reject("carol")},
			wantCustomer: []Event{HelpFailed{Reason: CodeRejected}, Left{ReasonCallEnded}}},
		{name: "named agent times out", req: byAgent("carol"), then: []func(*fixture, string, string){timeout},
			wantCustomer: []Event{HelpFailed{Reason: CodeTimeout}, Left{ReasonCallEnded}}},
		{name: "named agent signs out", req: byAgent("carol"), then: []func(*fixture, string, string){func(f *fixture, _, _ string) { f.c.SignOut("carol") }},
			wantCustomer: []Event{HelpFailed{Reason: CodeRejected}, Left{ReasonCallEnded}}},
		{name: "queue: the next agent accepts", req: byQueue("billing"), then: []func(*fixture, string, string){reject("carol"), accept("alice")},
			wantCustomer: []Event{
				HelpProgress{Mode: ByQueue, State: Ringing, Agent: &AgentRef{"alice", "Alice Archer"}},
				HelpProgress{Mode: ByQueue, State: Accepted, Agent: &AgentRef{"alice", "Alice Archer"}},
			},
			wantThird: "alice"},
		// bob, idle again after hanging up, is the requester: never asked.
		{name: "queue: nobody left", req: byQueue("billing"), then: []func(*fixture, string, string){reject("carol"), timeout},
			wantCustomer: []Event{
				HelpProgress{Mode: ByQueue, State: Ringing, Agent: &AgentRef{"alice", "Alice Archer"}},
				HelpFailed{Reason: CodeNoAgentAvailable},
				Left{ReasonCallEnded},
			}},
		{name: "the customer hangs up too", req: byAgent("carol"),
			then:         []func(*fixture, string, string){func(f *fixture, id, _ string) { f.must(f.c.Leave(id, Customer, ReasonHangup)) }},
			wantCustomer: []Event{Left{ReasonHangup}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("bob", "carol", "alice")
			id := f.twoParty("bob")
			rid := f.ask(id, tt.req)
			f.rec.reset()
			f.must(f.c.Leave(id, AgentRole, ReasonHangup))
			if s := f.state(id); !slices.Equal(roles(s), []Role{Customer}) || s.Help == nil {
				t.Fatalf("after the agent hung up: %+v, want the customer waiting for help", s)
			}
			f.wantPresence(map[string]PresenceState{"bob": Idle})
			for _, step := range tt.then {
				step(f, id, rid)
			}

			want := slices.Clone(tt.wantCustomer)
			for i, ev := range want {
				switch e := ev.(type) {
				case HelpProgress:
					e.Request = rid
					want[i] = e
				case HelpFailed:
					e.Request = rid
					want[i] = e
				}
			}
			if got := f.rec.toParty(id, Customer); !reflect.DeepEqual(got, want) {
				t.Errorf("customer got\n %+v\nwant\n %+v", got, want)
			}
			if tt.wantThird != "" {
				s := f.state(id)
				third, _ := s.Party(Third)
				if !slices.Equal(roles(s), []Role{Customer, Third}) || third.AgentID != tt.wantThird {
					t.Errorf("call %+v, want the customer with %s", s, tt.wantThird)
				}
				f.wantPresence(map[string]PresenceState{tt.wantThird: Busy})
			} else {
				_, err := f.c.Snapshot(id)
				wantCode(t, err, CodeCallEnded)
				for _, a := range f.c.Agents() {
					if a.State == Busy {
						t.Errorf("%s is still busy", a.ID)
					}
				}
			}
			if got := f.offeredTo(); slices.Contains(got, "bob") {
				t.Errorf("offered to %v: the requester was asked", got)
			}

			f.rec.reset()
			f.clock.Advance(time.Hour)
			f.wantNothingChanged()
			if f.clock.pending() != 0 {
				t.Errorf("%d timers left", f.clock.pending())
			}
		})
	}
}

// Both parties gone while help rings: the call ends and the ringing agent
// is told, freed, and cannot accept.
func TestCallEndsWhileHelpRings(t *testing.T) {
	f := newFixture(t)
	f.signIn("carol")
	id := f.twoParty("bob")
	rid := f.ask(id, byQueue("billing"))
	f.must(f.c.Leave(id, Customer, ReasonHangup))
	f.rec.reset()
	f.must(f.c.Leave(id, AgentRole, ReasonHangup))

	if got := agentEvents[HelpWithdrawn](f.rec, "carol"); !reflect.DeepEqual(got, []HelpWithdrawn{{rid, ReasonCallEnded}}) {
		t.Errorf("carol got %+v, want help.withdrawn call_ended", got)
	}
	f.wantPresence(map[string]PresenceState{"carol": Idle})
	_, err := f.c.AcceptHelp("carol", rid)
	wantCode(t, err, CodeNoSuchRequest)
	f.rec.reset()
	f.clock.Advance(time.Hour)
	f.wantNothingChanged()
}

// A helper who hung up may come back as third; one the agent dropped may
// not.
func TestDroppedThirdCannotRejoin(t *testing.T) {
	f := newFixture(t)
	id := f.callOf(true)
	f.must(f.c.Leave(id, Third, ReasonConnectionFailed))
	f.join(id, Third, "carol") // reconnecting after a failure is fine

	f.must(f.c.DropParty(id, AgentRole, Third))
	_, err := f.c.Join(id, Third, "", "carol")
	wantCode(t, err, CodeForbidden)
}

// A former helper cannot take the third seat while it is being offered to
// someone else: accepting would replace a present party and leave the
// former helper busy in a call it is no longer in.
func TestThirdSeatIsHeldForThePendingRequest(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice")
	id := f.callOf(true) // carol helps
	f.must(f.c.Leave(id, Third, ReasonHangup))
	rid := f.ask(id, byAgent("alice"))

	_, err := f.c.Join(id, Third, "", "carol")
	wantCode(t, err, CodeForbidden)
	f.accept("alice", rid)
	third, _ := f.state(id).Party(Third)
	if third.AgentID != "alice" {
		t.Errorf("third is %s, want alice", third.AgentID)
	}
	f.wantPresence(map[string]PresenceState{"carol": Idle, "alice": Busy})
}

// Maximize and share need everyone's video in a three-party call; that
// must hold also when the call becomes three-party.
func TestThirdJoiningAppliesTheAllVideoRule(t *testing.T) {
	f := newFixture(t)
	f.signIn("carol")
	id := f.twoParty("bob")
	f.must(f.c.SetVideo(id, Customer, false))
	f.must(f.c.SetLayout(id, AgentRole, maximize(Customer))) // allowed in a pair
	f.must(f.c.StartShare(id, AgentRole))                    // allowed in a pair
	f.rec.reset()
	f.accept("carol", f.ask(id, byAgent("carol")))

	s := f.state(id)
	if s.Share != "" {
		t.Errorf("%s still shares in a three-party call without everyone's video", s.Share)
	}
	if a, _ := s.Party(AgentRole); a.Layout != EqualLayout {
		t.Errorf("agent still maximizes %s in a three-party call without everyone's video", a.Layout.Party)
	}
	if got := partyEvents[LayoutReset](f.rec, id, AgentRole); len(got) != 1 || got[0].Reason != CodeVideoNotEnabledForAll {
		t.Errorf("agent got %+v, want layout.reset video_not_enabled_for_all", got)
	}
}

// An agent is in one call at a time: presence follows only one leg.
func TestAgentInACallCannotAcceptHelpElsewhere(t *testing.T) {
	f := newFixture(t)
	f.signIn("carol")
	helpCall := f.twoParty("bob")
	rid := f.ask(helpCall, byAgent("carol")) // carol idle, rings
	own := f.twoParty("carol")               // then a customer is routed to her

	if _, err := f.c.AcceptHelp("carol", rid); err == nil {
		f.must(f.c.Leave(helpCall, Third, ReasonHangup))
	}
	if st := f.agent("carol"); st.State != Busy || st.Call != own {
		t.Errorf("carol is %s in %q, want busy in her own call %s", st.State, st.Call, own)
	}
}

// A number request is never left pending for ever: the customer of an
// agent who hung up while dialing must not wait in limbo.
func TestAgentHangsUpWhileDialing(t *testing.T) {
	f := newFixture(t, withDialer(&fakeDialer{}))
	id := f.twoParty("bob")
	f.ask(id, byNumber("+15550100"))
	f.must(f.c.Leave(id, AgentRole, ReasonHangup))

	f.clock.Advance(time.Hour)
	if got, _ := last(f.rec.toParty(id, Customer)); got != (Left{ReasonCallEnded}) {
		t.Errorf("customer's last event %v, want left call_ended", got)
	}
}
