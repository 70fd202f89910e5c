package call

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func at(d time.Duration) time.Time { return epoch.Add(d) }

func TestAgentsStartOffline(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for _, a := range f.c.Agents() {
		ids = append(ids, a.ID)
		if a.State != Offline || !a.Since.Equal(epoch) || a.Call != "" {
			t.Errorf("%s: %s since %v in call %q; want offline since the start, in no call", a.ID, a.State, a.Since, a.Call)
		}
	}
	if want := []string{"alice", "bob", "carol", "dave"}; !slices.Equal(ids, want) {
		t.Errorf("Agents() lists %v, want directory order %v", ids, want)
	}
	if n := f.rec.all(); len(n) != 0 {
		t.Errorf("a new center notified %d things", len(n))
	}
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	f.clock.Advance(time.Minute)

	_, err := f.c.SignIn("zed")
	wantCode(t, err, CodeUnknownAgent)
	f.wantNothingChanged()

	p, err := f.c.SignIn("alice")
	f.must(err)
	want := Presence{Agent: "alice", State: Idle, Since: at(time.Minute)}
	if p != want {
		t.Errorf("SignIn = %+v, want %+v", p, want)
	}
	if got := f.rec.toAgent("alice"); !reflect.DeepEqual(got, []Event{want}) {
		t.Errorf("alice's console got %v, want one presence %+v", got, want)
	}
	f.wantPresence(map[string]PresenceState{"alice": Idle, "bob": Offline})
}

func TestSetPresence(t *testing.T) {
	tests := []struct {
		name     string
		agent    string
		signedIn bool
		state    PresenceState
		wantCode string
		want     PresenceState // the agent's state afterwards
	}{
		{"away", "alice", true, Away, "", Away},
		{"idle while idle", "alice", true, Idle, "", Idle},
		{"busy is automatic only", "alice", true, Busy, CodeInvalidField, Idle},
		{"offline is not a choice", "alice", true, Offline, CodeInvalidField, Idle},
		{"empty state", "alice", true, "", CodeInvalidField, Idle},
		{"unknown state", "alice", true, "lunch", CodeInvalidField, Idle},
		{"not signed in", "alice", false, Away, CodeNotSignedIn, Offline},
		{"unknown agent", "zed", false, Away, CodeUnknownAgent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.signedIn {
				f.signIn(tt.agent)
			}
			f.rec.reset()
			p, err := f.c.SetPresence(tt.agent, tt.state)
			wantCode(t, err, tt.wantCode)
			if tt.want == "" {
				return
			}
			if got := f.presence(tt.agent); got != tt.want {
				t.Errorf("agent is %s, want %s", got, tt.want)
			}
			if tt.wantCode != "" || tt.want == Idle {
				f.wantNothingChanged()
				return
			}
			if p.State != tt.want {
				t.Errorf("SetPresence returned %s, want %s", p.State, tt.want)
			}
			if got := agentEvents[Presence](f.rec, tt.agent); len(got) != 1 || got[0].State != tt.want {
				t.Errorf("console got %+v, want one presence %s", got, tt.want)
			}
		})
	}
}

func TestIdleSinceIsWhenTheAgentBecameIdle(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice") // idle at 1s
	f.clock.Advance(10 * time.Second)
	f.rec.reset()
	p, err := f.c.SetPresence("alice", Idle)
	f.must(err)
	if !p.Since.Equal(at(time.Second)) {
		t.Errorf("idle again: since %v, want unchanged %v", p.Since, at(time.Second))
	}
	f.wantNothingChanged()

	_, err = f.c.SetPresence("alice", Away) // at 11s
	f.must(err)
	f.clock.Advance(5 * time.Second)
	p, err = f.c.SetPresence("alice", Idle) // at 16s
	f.must(err)
	if !p.Since.Equal(at(16*time.Second)) || !f.agent("alice").Since.Equal(at(16*time.Second)) {
		t.Errorf("back from away: since %v, want %v", p.Since, at(16*time.Second))
	}
	want := []Event{
		Presence{"alice", Away, at(11 * time.Second)},
		Presence{"alice", Idle, at(16 * time.Second)},
	}
	if got := f.rec.toAgent("alice"); !reflect.DeepEqual(got, want) {
		t.Errorf("console got %+v, want %+v", got, want)
	}
}

// The agent is busy while it has a call leg, and idle again when the leg
// ends, however it ends.
func TestPresenceFollowsTheCallLeg(t *testing.T) {
	tests := []struct {
		name   string
		agent  string // whose presence is watched
		three  bool   // carol helps as third
		endLeg func(f *fixture, callID string)
	}{
		{"agent hangs up", "bob", false, func(f *fixture, id string) { f.must(f.c.Leave(id, AgentRole, ReasonHangup)) }},
		{"customer hangs up and the call ends", "bob", false, func(f *fixture, id string) { f.must(f.c.Leave(id, Customer, ReasonHangup)) }},
		{"agent's connection fails", "bob", true, func(f *fixture, id string) { f.must(f.c.Leave(id, AgentRole, ReasonConnectionFailed)) }},
		{"third hangs up", "carol", true, func(f *fixture, id string) { f.must(f.c.Leave(id, Third, ReasonHangup)) }},
		{"third is dropped", "carol", true, func(f *fixture, id string) { f.must(f.c.DropParty(id, AgentRole, Third)) }},
		{"the other two leave and the call ends", "carol", true, func(f *fixture, id string) {
			f.must(f.c.Leave(id, Customer, ReasonHangup))
			f.must(f.c.Leave(id, AgentRole, ReasonHangup))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("bob", "carol") // idle at 1s, 2s
			f.clock.Advance(time.Minute)
			joinedAt := f.clock.Now()
			var id string
			if tt.three {
				id = f.threeParty("bob", "carol")
			} else {
				id = f.twoParty("bob")
			}
			if st := f.agent(tt.agent); st.State != Busy || st.Call != id || !st.Since.Equal(joinedAt) {
				t.Fatalf("in the call: %s since %v in %q; want busy since %v in %s", st.State, st.Since, st.Call, joinedAt, id)
			}
			f.clock.Advance(time.Minute)
			f.rec.reset()
			tt.endLeg(f, id)
			want := Presence{Agent: tt.agent, State: Idle, Since: f.clock.Now()}
			if got := agentEvents[Presence](f.rec, tt.agent); !reflect.DeepEqual(got, []Presence{want}) {
				t.Errorf("console got %+v, want %+v", got, want)
			}
			if st := f.agent(tt.agent); st.State != Idle || st.Call != "" {
				t.Errorf("after the leg: %s in %q, want idle in no call", st.State, st.Call)
			}
		})
	}
}

func TestAgentOfflineInACallIsBusyThenOfflineAgain(t *testing.T) {
	f := newFixture(t)
	id := f.twoParty("bob") // bob never signed in
	f.wantPresence(map[string]PresenceState{"bob": Busy})
	f.must(f.c.Leave(id, AgentRole, ReasonHangup))
	f.wantPresence(map[string]PresenceState{"bob": Offline})
}

// Being offered help makes an agent busy; answering the offer, one way or
// another, ends that.
func TestPresenceWhileOffered(t *testing.T) {
	tests := []struct {
		name   string
		answer func(f *fixture, callID, reqID string)
		want   PresenceState
	}{
		{"rejected", func(f *fixture, _, rid string) { f.must(f.c.RejectHelp("carol", rid)) }, Idle},
		{"timed out", func(f *fixture, _, _ string) { f.clock.Advance(testHelpTimeout) }, Idle},
		{"cancelled", func(f *fixture, id, rid string) { f.must(f.c.CancelHelp(id, AgentRole, rid)) }, Idle},
		{"accepted: busy in the call", func(f *fixture, _, rid string) { f.accept("carol", rid) }, Busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("carol")
			id := f.twoParty("bob")
			f.clock.Advance(time.Minute)
			f.rec.reset()
			rid := f.ask(id, byAgent("carol"))
			if p, _ := last(agentEvents[Presence](f.rec, "carol")); p.State != Busy || !p.Since.Equal(f.clock.Now()) {
				t.Fatalf("offered: console got %+v, want busy since now", p)
			}
			f.wantPresence(map[string]PresenceState{"carol": Busy})
			tt.answer(f, id, rid)
			f.wantPresence(map[string]PresenceState{"carol": tt.want})
			if tt.want == Busy {
				if c := f.agent("carol").Call; c != id {
					t.Errorf("carol is in call %q, want %s", c, id)
				}
				f.must(f.c.Leave(id, Third, ReasonHangup))
				f.wantPresence(map[string]PresenceState{"carol": Idle})
			}
		})
	}
}

// Away chosen during a call applies when the call ends.
func TestPresenceChoiceIsKeptWhileBusy(t *testing.T) {
	f := newFixture(t)
	f.signIn("bob")
	id := f.twoParty("bob")
	f.rec.reset()
	p, err := f.c.SetPresence("bob", Away)
	f.must(err)
	if p.State != Busy {
		t.Errorf("SetPresence(away) in a call = %s, want busy", p.State)
	}
	if got := agentEvents[Presence](f.rec, "bob"); len(got) != 0 {
		t.Errorf("console told %+v; nothing changed", got)
	}
	f.must(f.c.Leave(id, AgentRole, ReasonHangup))
	f.wantPresence(map[string]PresenceState{"bob": Away})
}

func TestMultipleConsoles(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice")
	f.rec.reset()
	p, err := f.c.SignIn("alice") // a second console
	f.must(err)
	if p.State != Idle || !p.Since.Equal(at(time.Second)) {
		t.Errorf("second sign-in = %+v, want idle since the first", p)
	}
	f.wantNothingChanged()

	f.c.SignOut("alice")
	f.wantPresence(map[string]PresenceState{"alice": Idle})
	f.wantNothingChanged()

	f.c.SignOut("alice")
	f.wantPresence(map[string]PresenceState{"alice": Offline})
	if got := agentEvents[Presence](f.rec, "alice"); len(got) != 1 || got[0].State != Offline {
		t.Errorf("last sign-out told %+v, want offline", got)
	}

	f.rec.reset()
	f.c.SignOut("alice") // no console left
	f.c.SignOut("zed")   // no such agent
	f.wantNothingChanged()
	f.wantPresence(map[string]PresenceState{"alice": Offline})
}

func TestSignInAfterSignOutIsIdle(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice")
	_, err := f.c.SetPresence("alice", Away)
	f.must(err)

	_, err = f.c.SignIn("alice") // another console keeps the choice
	f.must(err)
	f.wantPresence(map[string]PresenceState{"alice": Away})

	f.c.SignOut("alice")
	f.c.SignOut("alice")
	_, err = f.c.SignIn("alice") // a fresh start
	f.must(err)
	f.wantPresence(map[string]PresenceState{"alice": Idle})
}

// Signing out of the last console while an offer rings moves the request
// on as a reject would.
func TestSignOutWhileRinging(t *testing.T) {
	tests := []struct {
		name        string
		req         HelpRequest
		consoles    int
		wantOffered []string // agents offered, in order
		wantFailed  string   // help.failed reason to the parties; "" for none
		wantCarol   PresenceState
	}{
		{"queue moves on", byQueue("billing"), 1, []string{"carol", "alice"}, "", Offline},
		{"named agent: rejected", byAgent("carol"), 1, []string{"carol"}, CodeRejected, Offline},
		{"another console still rings", byAgent("carol"), 2, []string{"carol"}, "", Busy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("carol", "alice")
			for range tt.consoles - 1 {
				f.signIn("carol")
			}
			id := f.twoParty("bob")
			f.rec.reset()
			f.ask(id, tt.req)
			f.c.SignOut("carol")
			if got := f.offeredTo(); !slices.Equal(got, tt.wantOffered) {
				t.Errorf("offered to %v, want %v", got, tt.wantOffered)
			}
			for _, r := range []Role{Customer, AgentRole} {
				got, _ := last(partyEvents[HelpFailed](f.rec, id, r))
				if got.Reason != tt.wantFailed {
					t.Errorf("%s: help.failed %q, want %q", r, got.Reason, tt.wantFailed)
				}
			}
			f.wantPresence(map[string]PresenceState{"carol": tt.wantCarol})
		})
	}
}

func TestQueuesAndAgentsListing(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice", "bob", "carol") // dave stays offline
	_, err := f.c.SetPresence("carol", Away)
	f.must(err)
	id := f.twoParty("bob")

	want := []QueueStatus{
		{Queue: Queue{"billing", "Billing"}, Idle: 1, Agents: 3},
		{Queue: Queue{"tech-support", "Tech support"}, Idle: 0, Agents: 3},
	}
	if got := f.c.Queues(); !reflect.DeepEqual(got, want) {
		t.Errorf("Queues() = %+v, want %+v", got, want)
	}
	if bob := f.agent("bob"); bob.Call != id || bob.State != Busy || bob.Name != "Bob Baker" {
		t.Errorf("bob = %+v, want busy in %s", bob, id)
	}
	n := f.c.Counts()
	wantAgents := map[PresenceState]int{Idle: 1, Busy: 1, Away: 1, Offline: 1}
	if !reflect.DeepEqual(n.Agents, wantAgents) {
		t.Errorf("Counts().Agents = %v, want %v", n.Agents, wantAgents)
	}
}
