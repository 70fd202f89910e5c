package call

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestCreateCall(t *testing.T) {
	f := newFixture(t)
	_, err := f.c.CreateCall(customerName, "zed")
	wantCode(t, err, CodeUnknownAgent)
	if f.c.CallCount() != 0 {
		t.Fatalf("a refused call was opened")
	}

	id := f.create("bob")
	if id != "id1" {
		t.Errorf("call id %q, want the first NewID", id)
	}
	s := f.state(id)
	if s.ID != id || len(s.Parties) != 0 || s.Help != nil || s.Ended || s.Mode != MCU {
		t.Errorf("new call = %+v, want an open mcu call with nobody in it", s)
	}
	if f.c.CallCount() != 1 {
		t.Errorf("CallCount = %d, want 1", f.c.CallCount())
	}
	f.wantPresence(map[string]PresenceState{"bob": Offline}) // only joining makes busy
}

func TestMaxCalls(t *testing.T) {
	f := newFixture(t, withMaxCalls(2))
	first := f.twoParty("alice")
	f.create("bob")
	_, err := f.c.CreateCall(customerName, "carol")
	wantCode(t, err, CodeServerFull)

	f.must(f.c.Leave(first, Customer, ReasonHangup)) // alice alone: the call ends
	if _, err := f.c.CreateCall(customerName, "carol"); err != nil {
		t.Errorf("after a call ended: %v, want room for another", err)
	}
}

// A call nobody joins ends after the join timeout, and with it its
// --max-calls slot; a call one party joined in time stays.
func TestUnjoinedCallEndsAfterTheJoinTimeout(t *testing.T) {
	f := newFixture(t, withMaxCalls(2))
	joined := f.create("alice")
	unjoined := f.create("bob")
	f.clock.Advance(DefaultJoinTimeout - time.Second)
	f.join(joined, Customer, "")
	_, err := f.c.CreateCall(customerName, "carol")
	wantCode(t, err, CodeServerFull)

	f.clock.Advance(time.Second)
	if _, err := f.c.CreateCall(customerName, "carol"); err != nil {
		t.Errorf("after the unjoined call timed out: %v, want room for another", err)
	}
	_, err = f.c.Join(unjoined, Customer, customerName, "")
	wantCode(t, err, CodeCallEnded)
	if s := f.rec.lastState(unjoined); s == nil || !s.Ended {
		t.Errorf("the unjoined call's last state %+v, want ended", s)
	}
	if n := f.c.JoinedCallCount(); n != 1 {
		t.Errorf("JoinedCallCount %d with one call joined and one not, want 1", n)
	}
	f.clock.Advance(time.Hour)
	if _, err := f.c.Snapshot(joined); err != nil {
		t.Errorf("the call joined in time: %v, want it open", err)
	}
}

func TestNewCenterDefaults(t *testing.T) {
	rec := &recorder{}
	c := NewCenter(Params{Directory: DefaultDirectory(), Notifier: rec})
	if c.VideoMode() != MCU {
		t.Errorf("default video mode %s, want mcu", c.VideoMode())
	}
	id, err := c.CreateCall(customerName, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 18 {
		t.Errorf("random call id %q, want 18 hex digits", id)
	}
	if _, err := c.SignIn("carol"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Role{Customer, AgentRole} {
		agentID := map[Role]string{AgentRole: "bob"}[r]
		if _, err := c.Join(id, r, "", agentID); err != nil {
			t.Fatal(err)
		}
	}
	rid, err := c.RequestHelp(id, AgentRole, byAgent("carol"))
	if err != nil {
		t.Fatal(err)
	}
	offer, _ := last(agentEvents[HelpOffer](rec, "carol"))
	if offer.ExpiresInMS != DefaultHelpTimeout.Milliseconds() {
		t.Errorf("default offer expires in %d ms, want %d", offer.ExpiresInMS, DefaultHelpTimeout.Milliseconds())
	}
	if err := c.CancelHelp(id, AgentRole, rid); err != nil { // stops the real timer
		t.Fatal(err)
	}
	if sfu := NewCenter(Params{Notifier: rec, VideoMode: SFU}); sfu.VideoMode() != SFU {
		t.Errorf("video mode %s, want sfu", sfu.VideoMode())
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = RealClock{}
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Errorf("RealClock.Now is %v off", d)
	}
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("RealClock.AfterFunc did not fire")
	}
	if !c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") }).Stop() {
		t.Error("Stop of a pending timer reported false")
	}
}

func TestParseRoleAndVideoMode(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"customer", true}, {"agent", true}, {"third", true}, {"Agent", false}, {"", false}, {"screen", false}} {
		if r, ok := ParseRole(tt.in); ok != tt.ok || ok && string(r) != tt.in {
			t.Errorf("ParseRole(%q) = %q, %v", tt.in, r, ok)
		}
	}
	for _, tt := range []struct {
		in string
		ok bool
	}{{"mcu", true}, {"sfu", true}, {"MCU", false}, {"", false}} {
		if m, ok := ParseVideoMode(tt.in); ok != tt.ok || ok && string(m) != tt.in {
			t.Errorf("ParseVideoMode(%q) = %q, %v", tt.in, m, ok)
		}
	}
}

// Who may join in which role. The call's agent is bob; carol accepted
// help and left again, so she may come back as third.
func TestJoinRoles(t *testing.T) {
	type setup int
	const (
		empty      setup = iota // nobody has joined
		pair                    // customer and bob
		helperLeft              // carol helped and hung up
		three                   // customer, bob, carol
		ended                   // the call is over
	)
	tests := []struct {
		name     string
		setup    setup
		callID   string // "" for the call
		role     Role
		agentID  string
		wantCode string
	}{
		{"customer", empty, "", Customer, "", ""},
		{"customer with an agent id", empty, "", Customer, "bob", CodeForbidden},
		{"the call's agent", empty, "", AgentRole, "bob", ""},
		{"another agent as agent", empty, "", AgentRole, "alice", CodeForbidden},
		{"agent role without an agent id", empty, "", AgentRole, "", CodeForbidden},
		{"third before anyone accepted", pair, "", Third, "carol", CodeForbidden},
		{"third without an agent id", helperLeft, "", Third, "", CodeForbidden},
		{"third by an agent who did not accept", helperLeft, "", Third, "alice", CodeForbidden},
		{"third by the helper who accepted", helperLeft, "", Third, "carol", ""},
		{"customer taken", pair, "", Customer, "", CodeRoleTaken},
		{"agent taken", pair, "", AgentRole, "bob", CodeRoleTaken},
		{"third taken", three, "", Third, "carol", CodeRoleTaken},
		{"unknown role", pair, "", Role("supervisor"), "alice", CodeInvalidField},
		{"no such call", pair, "nope", Customer, "", CodeCallNotFound},
		{"ended call", ended, "", Customer, "", CodeCallEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.signIn("carol")
			id := f.create("bob")
			switch tt.setup {
			case pair:
				f.join(id, Customer, "")
				f.join(id, AgentRole, "bob")
			case helperLeft, three:
				f.join(id, Customer, "")
				f.join(id, AgentRole, "bob")
				f.accept("carol", f.ask(id, byAgent("carol")))
				if tt.setup == helperLeft {
					f.must(f.c.Leave(id, Third, ReasonHangup))
				}
			case ended:
				f.join(id, Customer, "")
				f.must(f.c.Leave(id, Customer, ReasonHangup))
			}
			if tt.callID == "" {
				tt.callID = id
			}
			var before []Role
			if tt.setup != ended {
				before = roles(f.state(id))
			}
			f.rec.reset()

			s, err := f.c.Join(tt.callID, tt.role, "", tt.agentID)
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != "" {
				f.wantNothingChanged()
				if tt.setup != ended && !slices.Equal(roles(f.state(id)), before) {
					t.Errorf("a refused join changed the parties to %v", roles(f.state(id)))
				}
				return
			}
			if _, ok := s.Party(tt.role); !ok {
				t.Errorf("joined snapshot %v lacks %s", roles(s), tt.role)
			}
			if got := f.rec.lastState(id); got == nil || !reflect.DeepEqual(roles(got), roles(s)) {
				t.Errorf("Changed was not told of the join")
			}
		})
	}
}

func TestJoinMakesTheAgentBusy(t *testing.T) {
	f := newFixture(t)
	f.signIn("bob")
	id := f.create("bob")
	f.join(id, Customer, "")
	f.wantPresence(map[string]PresenceState{"bob": Idle})
	f.rec.reset()
	f.join(id, AgentRole, "bob")
	f.wantPresence(map[string]PresenceState{"bob": Busy})
	if p, ok := last(agentEvents[Presence](f.rec, "bob")); !ok || p.State != Busy {
		t.Errorf("bob's console was not told busy: %+v", p)
	}
}

func TestJoinNames(t *testing.T) {
	f := newFixture(t)
	id := f.create("bob")
	tests := []struct {
		role    Role
		name    string
		agentID string
		want    string
	}{
		{Customer, "", "", customerName}, // the routing's name
		{AgentRole, "Robert", "bob", "Robert"},
	}
	for _, tt := range tests {
		if _, err := f.c.Join(id, tt.role, tt.name, tt.agentID); err != nil {
			t.Fatal(err)
		}
		if p, _ := f.state(id).Party(tt.role); p.Name != tt.want {
			t.Errorf("%s named %q, want %q", tt.role, p.Name, tt.want)
		}
	}
	id2 := f.create("alice")
	if _, err := f.c.Join(id2, Customer, "Zoe", ""); err != nil {
		t.Fatal(err)
	}
	f.join(id2, AgentRole, "alice")
	s := f.state(id2)
	if c, _ := s.Party(Customer); c.Name != "Zoe" {
		t.Errorf("customer named %q, want the name given", c.Name)
	}
	if a, _ := s.Party(AgentRole); a.Name != "Alice Archer" {
		t.Errorf("agent named %q, want the directory's name", a.Name)
	}
}

func TestSnapshotContents(t *testing.T) {
	f := newFixture(t)
	id := f.twoParty("bob")
	s := f.state(id)
	if s.Created.IsZero() {
		t.Error("the snapshot has no creation time")
	}
	want := &Snapshot{ID: id, Seq: s.Seq, Mode: MCU, Created: s.Created, Parties: []PartyState{
		{Role: Customer, Name: customerName, Video: true, Audio: true, SelfView: true, Layout: EqualLayout},
		{Role: AgentRole, Name: "Bob Baker", AgentID: "bob", Video: true, Audio: true, SelfView: true, Layout: EqualLayout},
	}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("snapshot\n got %+v\nwant %+v", s, want)
	}
	if _, ok := s.Party(Third); ok {
		t.Error("Party(third) found an absent party")
	}

	var seqs []uint64
	for _, st := range f.rec.states(id) {
		seqs = append(seqs, st.Seq)
	}
	seqs = append(seqs, s.Seq)
	if len(seqs) != 3 || !(seqs[0] < seqs[1] && seqs[1] < seqs[2]) {
		t.Errorf("snapshot seqs %v, want one growing number per snapshot", seqs)
	}
	_, err := f.c.Snapshot("nope")
	wantCode(t, err, CodeCallNotFound)
}

func TestLeaveRefusals(t *testing.T) {
	f := newFixture(t)
	id := f.twoParty("bob")
	gone := f.twoParty("alice")
	f.must(f.c.Leave(gone, AgentRole, ReasonHangup))
	f.rec.reset()
	wantCode(t, f.c.Leave(id, Third, ReasonHangup), CodePartyNotPresent)
	wantCode(t, f.c.Leave("nope", Customer, ReasonHangup), CodeCallNotFound)
	wantCode(t, f.c.Leave(gone, Customer, ReasonHangup), CodeCallEnded)
	f.wantNothingChanged()
}

// Ended calls are remembered (call_ended) up to a bound, then forgotten
// (call_not_found).
func TestEndedCallsAreRememberedUpToABound(t *testing.T) {
	f := newFixture(t)
	var ids []string
	for range maxEnded + 1 {
		id := f.create("bob")
		f.join(id, Customer, "")
		f.must(f.c.Leave(id, Customer, ReasonHangup))
		ids = append(ids, id)
	}
	_, err := f.c.Join(ids[0], Customer, "", "")
	wantCode(t, err, CodeCallNotFound)
	_, err = f.c.Join(ids[1], Customer, "", "")
	wantCode(t, err, CodeCallEnded)
	_, err = f.c.Join(ids[maxEnded], Customer, "", "")
	wantCode(t, err, CodeCallEnded)
}

func TestCounts(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice", "carol")
	three := f.threeParty("bob", "carol")
	two := f.twoParty("dave")
	f.ask(two, byAgent("alice"))
	f.create("bob")
	f.must(f.c.SetVideo(three, Third, false))
	f.must(f.c.SetAudio(three, Customer, false))
	f.must(f.c.StartShare(two, Customer))

	n := f.c.Counts()
	if n.Calls != 3 || n.Help != 1 {
		t.Errorf("Counts: %d calls, %d pending requests; want 3 and 1", n.Calls, n.Help)
	}
	if want := map[Role]int{Customer: 2, AgentRole: 2, Third: 1}; !reflect.DeepEqual(n.Parties, want) {
		t.Errorf("Counts().Parties = %v, want %v", n.Parties, want)
	}
	if want := map[PresenceState]int{Busy: 4}; !reflect.DeepEqual(n.Agents, want) {
		t.Errorf("Counts().Agents = %v, want %v", n.Agents, want)
	}
	if want := map[CallState]int{ThreeParty: 1, SeekingHelp: 1, Waiting: 1}; !reflect.DeepEqual(n.CallsByState, want) {
		t.Errorf("Counts().CallsByState = %v, want %v", n.CallsByState, want)
	}
	want := map[MediaState]int{{Video: true, Audio: true}: 3, {Video: false, Audio: true}: 1, {Video: true, Audio: false}: 1}
	if !reflect.DeepEqual(n.PartiesByMedia, want) {
		t.Errorf("Counts().PartiesByMedia = %v, want %v", n.PartiesByMedia, want)
	}
	if n.Sharing != 1 {
		t.Errorf("Counts().Sharing = %d, want 1", n.Sharing)
	}
	// Once help is no longer sought, the pair is a two-party call.
	f.must(f.c.CancelHelp(two, AgentRole, ""))
	if got := f.c.Counts().CallsByState; got[TwoParty] != 1 || got[SeekingHelp] != 0 {
		t.Errorf("after the cancel: %v, want one two_party and no seeking_help", got)
	}
}
