package call

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// Who may ask for help, and what a request may name. The call's agent is
// bob; alice and carol are signed in and idle.
func TestWhoMayAskForHelp(t *testing.T) {
	tests := []struct {
		name     string
		tweaks   []func(*Params)
		setup    func(f *fixture) string // returns the call; nil: a two-party call of bob
		from     Role
		req      HelpRequest
		wantCode string
	}{
		{name: "the call's agent by queue", from: AgentRole, req: byQueue("billing")},
		{name: "the call's agent by name", from: AgentRole, req: byAgent("alice")},
		{name: "customer", from: Customer, req: byQueue("billing"), wantCode: CodeForbidden},
		{name: "third", setup: func(f *fixture) string { return f.threeParty("bob", "carol") },
			from: Third, req: byQueue("billing"), wantCode: CodeForbidden},
		{name: "a call with three parties", setup: func(f *fixture) string { return f.threeParty("bob", "carol") },
			from: AgentRole, req: byAgent("alice"), wantCode: CodeCallFull},
		{name: "one request at a time", setup: func(f *fixture) string {
			id := f.twoParty("bob")
			f.ask(id, byAgent("carol"))
			return id
		}, from: AgentRole, req: byAgent("alice"), wantCode: CodeHelpInProgress},
		{name: "sfu mode", tweaks: []func(*Params){withMode(SFU)},
			from: AgentRole, req: byQueue("billing"), wantCode: CodeThreePartyUnsupportedInSFU},
		{name: "sfu mode, by name", tweaks: []func(*Params){withMode(SFU)},
			from: AgentRole, req: byAgent("alice"), wantCode: CodeThreePartyUnsupportedInSFU},
		// Who may ask is checked before what the server can do: a customer
		// is told it may not, not that the mode cannot.
		{name: "customer in sfu mode", tweaks: []func(*Params){withMode(SFU)},
			from: Customer, req: byQueue("billing"), wantCode: CodeForbidden},
		{name: "customer in sfu mode, by name", tweaks: []func(*Params){withMode(SFU)},
			from: Customer, req: byAgent("alice"), wantCode: CodeForbidden},
		{name: "unknown queue", from: AgentRole, req: byQueue("sales"), wantCode: CodeUnknownQueue},
		{name: "no queue named", from: AgentRole, req: byQueue(""), wantCode: CodeUnknownQueue},
		{name: "unknown agent", from: AgentRole, req: byAgent("zed"), wantCode: CodeUnknownAgent},
		{name: "asking oneself", from: AgentRole, req: byAgent("bob"), wantCode: CodeForbidden},
		{name: "named agent offline", from: AgentRole, req: byAgent("dave"), wantCode: CodeAgentUnavailable},
		{name: "named agent away", setup: func(f *fixture) string {
			_, err := f.c.SetPresence("alice", Away)
			f.must(err)
			return f.twoParty("bob")
		}, from: AgentRole, req: byAgent("alice"), wantCode: CodeAgentUnavailable},
		{name: "named agent in another call", setup: func(f *fixture) string {
			f.twoParty("alice")
			return f.twoParty("bob")
		}, from: AgentRole, req: byAgent("alice"), wantCode: CodeAgentUnavailable},
		{name: "named agent offered another request", setup: func(f *fixture) string {
			f.ask(f.twoParty("dave"), byAgent("alice"))
			return f.twoParty("bob")
		}, from: AgentRole, req: byAgent("alice"), wantCode: CodeAgentUnavailable},
		{name: "number without a gateway", from: AgentRole, req: byNumber("+15550100"), wantCode: CodeSIPNotConfigured},
		{name: "number too short", tweaks: []func(*Params){withDialer(&fakeDialer{})},
			from: AgentRole, req: byNumber("12"), wantCode: CodeNumberNotAllowed},
		{name: "number with letters", tweaks: []func(*Params){withDialer(&fakeDialer{})},
			from: AgentRole, req: byNumber("+1555CALLME"), wantCode: CodeInvalidField},
		{name: "number too short for the dial plan", tweaks: []func(*Params){withDialer(&fakeDialer{})},
			from: AgentRole, req: byNumber("555-01"), wantCode: CodeNumberNotAllowed},
		{name: "number too long for the dial plan", tweaks: []func(*Params){withDialer(&fakeDialer{})},
			from: AgentRole, req: byNumber("+1234567890123456"), wantCode: CodeNumberNotAllowed},
		{name: "number outside the operator's dial plan", tweaks: []func(*Params){withDialer(&fakeDialer{}), withDialAllow(`\+49[0-9]{6,12}`)},
			from: AgentRole, req: byNumber("+1 900 555 0100"), wantCode: CodeNumberNotAllowed},
		{name: "no number", tweaks: []func(*Params){withDialer(&fakeDialer{})},
			from: AgentRole, req: byNumber(""), wantCode: CodeInvalidField},
		{name: "unknown mode", from: AgentRole, req: HelpRequest{Mode: "pigeon"}, wantCode: CodeInvalidField},
		{name: "agent not in the call", setup: func(f *fixture) string {
			id := f.create("bob")
			f.join(id, Customer, "")
			return id
		}, from: AgentRole, req: byQueue("billing"), wantCode: CodePartyNotPresent},
		{name: "ended call", setup: func(f *fixture) string {
			id := f.twoParty("bob")
			f.must(f.c.Leave(id, Customer, ReasonHangup))
			return id
		}, from: AgentRole, req: byQueue("billing"), wantCode: CodeCallEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.tweaks...)
			f.signIn("alice", "carol")
			setup := tt.setup
			if setup == nil {
				setup = func(f *fixture) string { return f.twoParty("bob") }
			}
			id := setup(f)
			presence := map[string]PresenceState{}
			for _, a := range f.c.Agents() {
				presence[a.ID] = a.State
			}
			f.rec.reset()

			rid, err := f.c.RequestHelp(id, tt.from, tt.req)
			wantCode(t, err, tt.wantCode)
			if tt.wantCode == "" {
				if rid == "" || len(f.offeredTo()) != 1 {
					t.Errorf("request %q offered to %v, want one offer", rid, f.offeredTo())
				}
				return
			}
			if rid != "" {
				t.Errorf("refused request has id %q", rid)
			}
			f.wantNothingChanged()
			f.wantPresence(presence)
		})
	}
}

// A number is dialled as the dial plan checked it: normalized. One the
// plan refuses reaches no dialer.
func TestNumberIsDialledNormalized(t *testing.T) {
	for typed, want := range map[string]string{
		"+49 (30) 1234-5678": "+493012345678",
		"0049 30 123.456":    "+4930123456",
		"030/1234 5678":      "",
		"+1 900 555 0100":    "",
	} {
		d := &fakeDialer{}
		f := newFixture(t, withDialer(d), withDialAllow(`\+49[1-9][0-9]{5,12}`))
		id := f.twoParty("bob")
		_, err := f.c.RequestHelp(id, AgentRole, byNumber(typed))
		var got []dialed
		if want != "" {
			got = []dialed{{id, want}}
		}
		if !reflect.DeepEqual(d.calls, got) {
			t.Errorf("%q: dialer got %v (refusal %v), want %v", typed, d.calls, err, got)
		}
		if want == "" {
			wantCode(t, err, CodeNumberNotAllowed)
		}
	}
}

func TestNumberModeDials(t *testing.T) {
	d := &fakeDialer{}
	f := newFixture(t, withDialer(d))
	id := f.twoParty("bob")
	f.rec.reset()
	rid := f.ask(id, byNumber("+15550100"))

	if want := []dialed{{id, "+15550100"}}; !reflect.DeepEqual(d.calls, want) {
		t.Errorf("dialer got %v, want %v", d.calls, want)
	}
	want := HelpProgress{Request: rid, Mode: ByNumber, State: Dialing}
	for _, r := range []Role{Customer, AgentRole} {
		if got := partyEvents[HelpProgress](f.rec, id, r); !reflect.DeepEqual(got, []HelpProgress{want}) {
			t.Errorf("%s got %+v, want %+v", r, got, want)
		}
	}
	wantHelp := &HelpState{Request: rid, Mode: ByNumber, Number: "+15550100", State: Dialing}
	if s := f.rec.lastState(id); s == nil || !reflect.DeepEqual(s.Help, wantHelp) {
		t.Errorf("Changed help = %+v, want %+v", s, wantHelp)
	}
	if f.c.Counts().Help != 1 {
		t.Error("the dialing request is not pending")
	}

	f.rec.reset()
	f.must(f.c.CancelHelp(id, AgentRole, rid))
	if got, _ := last(partyEvents[HelpFailed](f.rec, id, Customer)); got.Reason != CodeCancelled {
		t.Errorf("after cancel the customer got %+v, want help.failed cancelled", got)
	}
	if f.state(id).Help != nil {
		t.Error("a cancelled request is still pending")
	}
}

// A dialer that cannot place the call fails the request at once:
// help.failed with gateway_error.
func TestNumberModeDialError(t *testing.T) {
	f := newFixture(t, withDialer(&fakeDialer{err: errors.New("gateway down")}))
	id := f.twoParty("bob")
	f.rec.reset()
	rid := f.ask(id, byNumber("15550100"))
	want := []string{"help.progress", "help.failed"}
	for _, r := range []Role{Customer, AgentRole} {
		if got := f.rec.partyTypes(id, r); !slices.Equal(got, want) {
			t.Errorf("%s got %v, want %v", r, got, want)
		}
		if got, _ := last(partyEvents[HelpFailed](f.rec, id, r)); got != (HelpFailed{rid, DialGatewayError}) {
			t.Errorf("%s got %+v", r, got)
		}
	}
	if s := f.state(id); s.Help != nil || len(s.Parties) != 2 {
		t.Errorf("after a failed dial: %+v, want two parties and no request", s)
	}
}

// A queue request goes to the idle agent with the skill who has been idle
// longest. signIn signs agents in a second apart, first named longest idle.
func TestQueuePicksTheLongestIdleAgent(t *testing.T) {
	tests := []struct {
		name      string
		requester string
		queue     string
		signIn    []string
		setup     func(f *fixture)
		want      string // "" for nobody
	}{
		{name: "longest idle first", requester: "dave", queue: "billing", signIn: []string{"carol", "alice", "bob"}, want: "carol"},
		{name: "sign-in order, not directory order", requester: "dave", queue: "billing", signIn: []string{"bob", "alice"}, want: "bob"},
		{name: "never the requester", requester: "carol", queue: "billing", signIn: []string{"carol", "alice", "bob"}, want: "alice"},
		{name: "skips away", requester: "dave", queue: "billing", signIn: []string{"carol", "alice"},
			setup: func(f *fixture) { _, err := f.c.SetPresence("carol", Away); f.must(err) }, want: "alice"},
		{name: "skips offline", requester: "dave", queue: "billing", signIn: []string{"carol", "alice"},
			setup: func(f *fixture) { f.c.SignOut("carol") }, want: "alice"},
		{name: "skips busy in a call", requester: "dave", queue: "billing", signIn: []string{"carol", "alice"},
			setup: func(f *fixture) { f.twoParty("carol") }, want: "alice"},
		{name: "skips one ringing for another call", requester: "dave", queue: "billing", signIn: []string{"carol", "alice", "bob"},
			setup: func(f *fixture) {
				id := f.create("bob")
				f.join(id, AgentRole, "bob")
				f.ask(id, byAgent("carol"))
			}, want: "alice"},
		{name: "skips agents without the skill", requester: "carol", queue: "billing", signIn: []string{"dave", "alice"}, want: "alice"},
		{name: "tech-support", requester: "carol", queue: "tech-support", signIn: []string{"alice", "dave", "bob"}, want: "dave"},
		{name: "idle since the last call ended", requester: "dave", queue: "billing", signIn: []string{"carol", "alice"},
			setup: func(f *fixture) {
				id := f.twoParty("carol")
				f.clock.Advance(time.Minute)
				f.must(f.c.Leave(id, AgentRole, ReasonHangup))
			}, want: "alice"},
		{name: "idle since back from away", requester: "dave", queue: "billing", signIn: []string{"carol", "alice"},
			setup: func(f *fixture) {
				_, err := f.c.SetPresence("carol", Away)
				f.must(err)
				f.clock.Advance(time.Minute)
				_, err = f.c.SetPresence("carol", Idle)
				f.must(err)
			}, want: "alice"},
		{name: "a second console does not reset idle since", requester: "dave", queue: "billing", signIn: []string{"carol", "alice", "carol"}, want: "carol"},
		{name: "nobody signed in", requester: "dave", queue: "billing", want: ""},
		{name: "only agents without the skill", requester: "bob", queue: "billing", signIn: []string{"dave"}, want: ""},
		{name: "everyone busy or away", requester: "dave", queue: "billing", signIn: []string{"carol", "alice"},
			setup: func(f *fixture) {
				f.twoParty("carol")
				_, err := f.c.SetPresence("alice", Away)
				f.must(err)
			}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn(tt.signIn...)
			if tt.setup != nil {
				tt.setup(f)
			}
			f.clock.Advance(time.Minute)
			id := f.twoParty(tt.requester)
			f.rec.reset()
			rid := f.ask(id, byQueue(tt.queue))

			s := f.state(id)
			if tt.want == "" {
				if got := f.offeredTo(); len(got) != 0 {
					t.Errorf("offered to %v, want nobody", got)
				}
				for _, r := range []Role{Customer, AgentRole} {
					if got := partyEvents[HelpFailed](f.rec, id, r); !reflect.DeepEqual(got, []HelpFailed{{rid, CodeNoAgentAvailable}}) {
						t.Errorf("%s got %+v, want help.failed no_agent_available", r, got)
					}
				}
				if s.Help != nil || len(s.Parties) != 2 {
					t.Errorf("after no agent: %+v, want the two parties and no request", s)
				}
				return
			}
			if got := f.offeredTo(); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("offered to %v, want [%s]", got, tt.want)
			}
			if s.Help == nil || s.Help.Agent == nil || s.Help.Agent.ID != tt.want || s.Help.State != Ringing {
				t.Errorf("help state %+v, want ringing %s", s.Help, tt.want)
			}
			f.wantPresence(map[string]PresenceState{tt.want: Busy})
		})
	}
}

// When the ringing agent declines, the request moves on; nobody is asked
// twice; when nobody is left the parties are told.
func TestQueueMovesOnWhenDeclined(t *testing.T) {
	tests := []struct {
		name          string
		decline       func(f *fixture, agent, rid string)
		wantWithdrawn string // help.withdrawn reason to the decliner; "" for none
	}{
		{"reject", func(f *fixture, a, rid string) { f.must(f.c.RejectHelp(a, rid)) }, ""},
		{"timeout", func(f *fixture, a, rid string) {
			f.clock.Advance(testHelpTimeout - time.Millisecond)
			if o := f.state(f.lastOffer(a).Call).Help; o == nil || o.Agent.ID != a {
				f.t.Fatalf("%s stopped ringing before the timeout: %+v", a, o)
			}
			f.clock.Advance(time.Millisecond)
		}, CodeTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("carol", "alice", "bob")
			id := f.twoParty("dave")
			f.rec.reset()
			rid := f.ask(id, byQueue("billing"))
			for _, a := range []string{"carol", "alice", "bob"} {
				if got := f.state(id).Help; got == nil || got.Agent == nil || got.Agent.ID != a {
					t.Fatalf("ringing %+v, want %s", got, a)
				}
				tt.decline(f, a, rid)
				f.wantPresence(map[string]PresenceState{a: Idle})
			}

			if got, want := f.offeredTo(), []string{"carol", "alice", "bob"}; !slices.Equal(got, want) {
				t.Errorf("offered to %v, want %v (each once)", got, want)
			}
			for _, a := range []string{"carol", "alice", "bob"} {
				got := agentEvents[HelpWithdrawn](f.rec, a)
				if tt.wantWithdrawn == "" && len(got) != 0 || tt.wantWithdrawn != "" && !reflect.DeepEqual(got, []HelpWithdrawn{{rid, tt.wantWithdrawn}}) {
					t.Errorf("%s got withdrawals %+v, want %q", a, got, tt.wantWithdrawn)
				}
			}
			for _, r := range []Role{Customer, AgentRole} {
				var ringing []string
				for _, p := range partyEvents[HelpProgress](f.rec, id, r) {
					ringing = append(ringing, p.Agent.ID)
				}
				if want := []string{"carol", "alice", "bob"}; !slices.Equal(ringing, want) {
					t.Errorf("%s heard ringing %v, want %v", r, ringing, want)
				}
				if got := partyEvents[HelpFailed](f.rec, id, r); !reflect.DeepEqual(got, []HelpFailed{{rid, CodeNoAgentAvailable}}) {
					t.Errorf("%s got %+v, want help.failed no_agent_available", r, got)
				}
			}
			if s := f.state(id); s.Help != nil || len(s.Parties) != 2 {
				t.Errorf("after nobody: %+v, want the call going on without a request", s)
			}
			if f.clock.pending() != 0 {
				t.Errorf("%d timers left", f.clock.pending())
			}
		})
	}
}

func TestHelpOfferContents(t *testing.T) {
	tests := []struct {
		name     string
		customer string // the name the customer joins with; "-" not joined
		req      HelpRequest
		want     HelpOffer // Request and Call are filled in
	}{
		{"by queue", "", byQueue("billing"), HelpOffer{Mode: ByQueue, Queue: "billing",
			From: AgentRef{"bob", "Bob Baker"}, Customer: customerName, ExpiresInMS: 15000}},
		{"by name", "", byAgent("carol"), HelpOffer{Mode: ByAgent,
			From: AgentRef{"bob", "Bob Baker"}, Customer: customerName, ExpiresInMS: 15000}},
		{"customer's own name", "Zoe", byAgent("carol"), HelpOffer{Mode: ByAgent,
			From: AgentRef{"bob", "Bob Baker"}, Customer: "Zoe", ExpiresInMS: 15000}},
		{"customer not joined yet", "-", byAgent("carol"), HelpOffer{Mode: ByAgent,
			From: AgentRef{"bob", "Bob Baker"}, Customer: customerName, ExpiresInMS: 15000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("carol")
			id := f.create("bob")
			if tt.customer != "-" {
				_, err := f.c.Join(id, Customer, tt.customer, "")
				f.must(err)
			}
			f.join(id, AgentRole, "bob")
			rid := f.ask(id, tt.req)
			want := tt.want
			want.Request, want.Call = rid, id
			if got := agentEvents[HelpOffer](f.rec, "carol"); !reflect.DeepEqual(got, []HelpOffer{want}) {
				t.Errorf("carol got %+v, want %+v", got, want)
			}
		})
	}
}

// Every party hears whom help rings: the customer is told help is sought.
func TestHelpRingingGoesToEveryParty(t *testing.T) {
	f := newFixture(t)
	f.signIn("carol")
	id := f.twoParty("bob")
	f.rec.reset()
	rid := f.ask(id, byQueue("billing"))
	want := HelpProgress{Request: rid, Mode: ByQueue, State: Ringing, Agent: &AgentRef{"carol", "Carol Chen"}}
	for _, r := range []Role{Customer, AgentRole} {
		if got := partyEvents[HelpProgress](f.rec, id, r); !reflect.DeepEqual(got, []HelpProgress{want}) {
			t.Errorf("%s got %+v, want %+v", r, got, want)
		}
	}
	wantHelp := &HelpState{Request: rid, Mode: ByQueue, Queue: "billing", Agent: &AgentRef{"carol", "Carol Chen"}, State: Ringing}
	if s := f.rec.lastState(id); s == nil || !reflect.DeepEqual(s.Help, wantHelp) {
		t.Errorf("Changed help = %+v, want %+v", s.Help, wantHelp)
	}
	if s := f.state(id); !reflect.DeepEqual(s.Help, wantHelp) {
		t.Errorf("Snapshot help = %+v, want %+v", s.Help, wantHelp)
	}
}

// A named agent's answer decides the request.
func TestAgentModeOutcomes(t *testing.T) {
	tests := []struct {
		name          string
		answer        func(f *fixture, rid string)
		wantReason    string
		wantWithdrawn string // help.withdrawn reason to carol; "" for none
	}{
		{"reject", func(f *fixture, rid string) { f.must(f.c.RejectHelp("carol", rid)) }, CodeRejected, ""},
		{"timeout", func(f *fixture, _ string) { f.clock.Advance(testHelpTimeout) }, CodeTimeout, CodeTimeout},
		{"console signs out", func(f *fixture, _ string) { f.c.SignOut("carol") }, CodeRejected, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("carol", "alice")
			id := f.twoParty("bob")
			f.rec.reset()
			rid := f.ask(id, byAgent("carol"))
			tt.answer(f, rid)
			if got := f.offeredTo(); !slices.Equal(got, []string{"carol"}) {
				t.Errorf("offered to %v; a named request asks nobody else", got)
			}
			for _, r := range []Role{Customer, AgentRole} {
				if got := partyEvents[HelpFailed](f.rec, id, r); !reflect.DeepEqual(got, []HelpFailed{{rid, tt.wantReason}}) {
					t.Errorf("%s got %+v, want help.failed %s", r, got, tt.wantReason)
				}
			}
			var wantWithdrawn []HelpWithdrawn
			if tt.wantWithdrawn != "" {
				wantWithdrawn = []HelpWithdrawn{{rid, tt.wantWithdrawn}}
			}
			if got := agentEvents[HelpWithdrawn](f.rec, "carol"); !reflect.DeepEqual(got, wantWithdrawn) {
				t.Errorf("carol got withdrawals %+v, want %+v", got, tt.wantWithdrawn)
			}
			if s := f.state(id); s.Help != nil || len(s.Parties) != 2 {
				t.Errorf("after %s: %+v, want the two parties and no request", tt.name, s)
			}
			if f.clock.pending() != 0 {
				t.Errorf("%d timers left", f.clock.pending())
			}
		})
	}
}

func TestAcceptHelp(t *testing.T) {
	f := newFixture(t)
	f.signIn("carol")
	id := f.twoParty("bob")
	rid := f.ask(id, byQueue("billing"))
	f.rec.reset()
	s := f.accept("carol", rid)

	third, ok := s.Party(Third)
	if !ok || third.Name != "Carol Chen" || third.AgentID != "carol" || !third.Video || !third.Audio {
		t.Errorf("third = %+v, want Carol with video and audio", third)
	}
	if got := roles(s); !slices.Equal(got, Roles) || s.Help != nil {
		t.Errorf("accepted snapshot: parties %v, help %+v; want all three, no request", got, s.Help)
	}
	want := HelpProgress{Request: rid, Mode: ByQueue, State: Accepted, Agent: &AgentRef{"carol", "Carol Chen"}}
	for _, r := range []Role{Customer, AgentRole} {
		if got := partyEvents[HelpProgress](f.rec, id, r); !reflect.DeepEqual(got, []HelpProgress{want}) {
			t.Errorf("%s got %+v, want %+v", r, got, want)
		}
	}
	if last := f.rec.lastState(id); last == nil || !slices.Equal(roles(last), Roles) || last.Help != nil {
		t.Errorf("Changed was not told of three parties: %+v", last)
	}
	if st := f.agent("carol"); st.State != Busy || st.Call != id {
		t.Errorf("carol is %s in %q, want busy in %s", st.State, st.Call, id)
	}
	if f.clock.pending() != 0 {
		t.Errorf("the offer's timer is still set")
	}
	f.rec.reset()
	f.clock.Advance(time.Hour)
	f.wantNothingChanged()
}

// Answers to requests that are not open for this agent are refused, and
// change nothing.
func TestAnswerRefusals(t *testing.T) {
	tests := []struct {
		name  string
		agent string
		setup func(f *fixture, callID, rid string)
		reqID func(rid string) string
	}{
		{name: "an agent it was not offered to", agent: "alice"},
		{name: "unknown agent", agent: "zed"},
		{name: "no request id", agent: "carol", reqID: func(string) string { return "" }},
		{name: "unknown request", agent: "carol", reqID: func(string) string { return "h99" }},
		{name: "after it was accepted", agent: "carol", setup: func(f *fixture, _, rid string) { f.accept("carol", rid) }},
		{name: "after it was rejected", agent: "carol", setup: func(f *fixture, _, rid string) { f.must(f.c.RejectHelp("carol", rid)) }},
		{name: "late, after the timeout", agent: "carol", setup: func(f *fixture, _, _ string) { f.clock.Advance(testHelpTimeout) }},
		{name: "after a cancel", agent: "carol", setup: func(f *fixture, id, rid string) { f.must(f.c.CancelHelp(id, AgentRole, rid)) }},
		{name: "after the call ended", agent: "carol", setup: func(f *fixture, id, _ string) {
			f.must(f.c.Leave(id, Customer, ReasonHangup))
			f.must(f.c.Leave(id, AgentRole, ReasonHangup))
		}},
		{name: "moved on to another agent", agent: "carol", setup: func(f *fixture, _, rid string) {
			f.must(f.c.RejectHelp("carol", rid)) // queue: alice rings now
		}},
	}
	answers := map[string]func(f *fixture, agent, rid string) error{
		"accept": func(f *fixture, a, rid string) error { _, err := f.c.AcceptHelp(a, rid); return err },
		"reject": func(f *fixture, a, rid string) error { return f.c.RejectHelp(a, rid) },
	}
	for _, tt := range tests {
		for verb, answer := range answers {
			t.Run(verb+" "+tt.name, func(t *testing.T) {
				f := newFixture(t)
				f.signIn("carol", "alice")
				id := f.twoParty("bob")
				rid := f.ask(id, byQueue("billing"))
				if tt.setup != nil {
					tt.setup(f, id, rid)
				}
				if tt.reqID != nil {
					rid = tt.reqID(rid)
				}
				f.rec.reset()
				wantCode(t, answer(f, tt.agent, rid), CodeNoSuchRequest)
				f.wantNothingChanged()
			})
		}
	}
}

func TestCancelHelp(t *testing.T) {
	tests := []struct {
		name     string
		from     Role
		reqID    func(rid string) string
		wantCode string
	}{
		{"the requester", AgentRole, nil, ""},
		{"the requester without naming the request", AgentRole, func(string) string { return "" }, ""},
		{"the customer", Customer, nil, CodeForbidden},
		{"another request", AgentRole, func(string) string { return "h99" }, CodeNoSuchRequest},
		{"an absent party", Third, nil, CodePartyNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("carol")
			id := f.twoParty("bob")
			rid := f.ask(id, byQueue("billing"))
			f.rec.reset()
			arg := rid
			if tt.reqID != nil {
				arg = tt.reqID(rid)
			}
			err := f.c.CancelHelp(id, tt.from, arg)
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != "" {
				f.wantNothingChanged()
				f.wantPresence(map[string]PresenceState{"carol": Busy})
				return
			}
			if got := agentEvents[HelpWithdrawn](f.rec, "carol"); !reflect.DeepEqual(got, []HelpWithdrawn{{rid, CodeCancelled}}) {
				t.Errorf("carol got %+v, want help.withdrawn cancelled", got)
			}
			f.wantPresence(map[string]PresenceState{"carol": Idle})
			for _, r := range []Role{Customer, AgentRole} {
				if got := partyEvents[HelpFailed](f.rec, id, r); !reflect.DeepEqual(got, []HelpFailed{{rid, CodeCancelled}}) {
					t.Errorf("%s got %+v, want help.failed cancelled", r, got)
				}
			}
			if s := f.rec.lastState(id); s == nil || s.Help != nil || len(s.Parties) != 2 {
				t.Errorf("Changed after cancel: %+v, want two parties and no request", s)
			}
			f.rec.reset()
			f.clock.Advance(time.Hour)
			f.wantNothingChanged()
			wantCode(t, f.c.CancelHelp(id, AgentRole, rid), CodeNoSuchRequest)
		})
	}
}

// HelpEnded hears one outcome per request: "accepted" or why it failed.
func TestHelpEndedOutcomes(t *testing.T) {
	tests := []struct {
		name   string
		dialer Dialer
		run    func(f *fixture, id string)
		want   []string
	}{
		{"accepted", nil, func(f *fixture, id string) { f.accept("carol", f.ask(id, byAgent("carol"))) }, []string{"accepted"}},
		{"rejected", nil, func(f *fixture, id string) { f.must(f.c.RejectHelp("carol", f.ask(id, byAgent("carol")))) }, []string{CodeRejected}},
		{"timeout", nil, func(f *fixture, id string) { f.ask(id, byAgent("carol")); f.clock.Advance(testHelpTimeout) }, []string{CodeTimeout}},
		{"nobody in the queue", nil, func(f *fixture, id string) {
			_, err := f.c.SetPresence("carol", Away)
			f.must(err)
			f.ask(id, byQueue("tech-support"))
		}, []string{CodeNoAgentAvailable}},
		{"queue moves on, then accepted", nil, func(f *fixture, id string) {
			rid := f.ask(id, byQueue("billing"))
			f.must(f.c.RejectHelp("carol", rid))
			f.accept("alice", rid)
		}, []string{"accepted"}},
		{"cancelled", nil, func(f *fixture, id string) { f.must(f.c.CancelHelp(id, AgentRole, f.ask(id, byAgent("carol")))) }, []string{CodeCancelled}},
		{"the call ends", nil, func(f *fixture, id string) {
			f.ask(id, byAgent("carol"))
			f.must(f.c.Leave(id, Customer, ReasonHangup))
			f.must(f.c.Leave(id, AgentRole, ReasonHangup))
		}, []string{CodeCancelled}},
		{"dial fails", &fakeDialer{err: errors.New("unreachable")}, func(f *fixture, id string) { f.ask(id, byNumber("15550100")) }, []string{DialGatewayError}},
		{"refused requests are no outcome", nil, func(f *fixture, id string) {
			_, err := f.c.RequestHelp(id, Customer, byAgent("carol"))
			wantCode(t, err, CodeForbidden)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			f := newFixture(t, withDialer(tt.dialer), func(p *Params) {
				p.HelpEnded = func(o string) { got = append(got, o) } // under the Center's lock
			})
			f.signIn("carol", "alice")
			tt.run(f, f.twoParty("bob"))
			if !slices.Equal(got, tt.want) {
				t.Errorf("HelpEnded heard %v, want %v", got, tt.want)
			}
		})
	}
}
