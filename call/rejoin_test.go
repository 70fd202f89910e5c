package call

import (
	"slices"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

const testRejoinGrace = 30 * time.Second

// reconnecting lists the parties a snapshot shows reconnecting.
func reconnecting(s *Snapshot) []Role {
	out := []Role{}
	for _, p := range s.Parties {
		if p.Reconnecting {
			out = append(out, p.Role)
		}
	}
	return out
}

// leftReasons are the reasons of the `left` events a party got.
func leftReasons(r *recorder, callID string, role Role) []string {
	out := []string{}
	for _, l := range partyEvents[Left](r, callID, role) {
		out = append(out, l.Reason)
	}
	return out
}

// A dropped customer keeps its seat, shown reconnecting, and its join takes
// the seat back as it was: flags, layout and name; the grace timer is gone.
func TestRejoinTakesTheSeatBack(t *testing.T) {
	f := newFixture(t)
	id := f.create("alice")
	_, err := f.c.Join(id, Customer, "Ann", "")
	f.must(err)
	f.join(id, AgentRole, "alice")
	f.must(f.c.SetAudio(id, Customer, false))
	f.must(f.c.SetSelfView(id, Customer, false))
	f.must(f.c.SetLayout(id, Customer, Layout{Mode: layout.Maximize, Party: AgentRole}))
	f.rec.reset()

	f.must(f.c.Disconnected(id, Customer))
	f.must(f.c.Disconnected(id, Customer)) // a second drop changes nothing
	if got := f.rec.states(id); len(got) != 1 || !slices.Equal(reconnecting(got[0]), []Role{Customer}) {
		t.Fatalf("after the drop: %d snapshots, want one showing the customer reconnecting", len(got))
	}
	f.clock.Advance(testRejoinGrace - time.Second)
	if s := f.state(id); !slices.Equal(roles(s), []Role{Customer, AgentRole}) {
		t.Fatalf("inside the grace the parties are %v, want both", roles(s))
	}
	if got := f.rec.toParty(id, AgentRole); len(got) != 0 {
		t.Errorf("the agent was told %v while the customer reconnects, want nothing", types(got))
	}

	s, err := f.c.Join(id, Customer, "Someone else", "")
	f.must(err)
	p, _ := s.Party(Customer)
	want := PartyState{Role: Customer, Name: "Ann", Video: true, Audio: false,
		Layout: Layout{Mode: layout.Maximize, Party: AgentRole}}
	if p != want {
		t.Errorf("rejoined customer = %+v, want %+v", p, want)
	}
	if f.clock.pending() != 0 {
		t.Errorf("%d timers pending after the rejoin, want the grace stopped", f.clock.pending())
	}
	f.clock.Advance(2 * testRejoinGrace)
	if s := f.state(id); len(s.Parties) != 2 || len(reconnecting(s)) != 0 {
		t.Errorf("after the rejoin: parties %v, reconnecting %v; want both, nobody reconnecting", roles(s), reconnecting(s))
	}
	wantCode(t, func() error { _, err := f.c.Join(id, Customer, "Ann", ""); return err }(), CodeRoleTaken)
}

// Media back on the same connection ends the reconnecting state; a later
// drop starts a grace of its own, which the first one's timer cannot cut
// short.
func TestReconnectedStartsAFreshGraceNextTime(t *testing.T) {
	f := newFixture(t)
	id := f.twoParty("alice")
	f.must(f.c.Disconnected(id, AgentRole))
	f.clock.Advance(10 * time.Second)
	f.must(f.c.Reconnected(id, AgentRole))
	if s := f.state(id); len(reconnecting(s)) != 0 {
		t.Fatalf("reconnecting %v after the media came back, want nobody", reconnecting(s))
	}
	f.rec.reset()
	f.must(f.c.Reconnected(id, AgentRole)) // not reconnecting: nothing to say
	f.wantNothingChanged()

	f.must(f.c.Disconnected(id, AgentRole))
	f.clock.Advance(testRejoinGrace - time.Second)
	if s := f.state(id); len(s.Parties) != 2 {
		t.Fatalf("the second drop's grace was cut short: parties %v", roles(s))
	}
	f.clock.Advance(2 * time.Second)
	if _, err := f.c.Snapshot(id); err == nil {
		t.Fatal("the call is open past the agent's grace, want it ended: the customer is alone")
	}
}

// Past the grace the party has left: in a two-party call the other is
// alone and the call ends; the agent is free again.
func TestGraceOverInTwoPartyCall(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice")
	id := f.twoParty("alice")
	f.must(f.c.Disconnected(id, Customer))
	f.clock.Advance(testRejoinGrace)
	if got := leftReasons(f.rec, id, Customer); !slices.Equal(got, []string{ReasonConnectionFailed}) {
		t.Errorf("the customer was told %v, want [connection_failed]", got)
	}
	if got := leftReasons(f.rec, id, AgentRole); !slices.Equal(got, []string{ReasonCallEnded}) {
		t.Errorf("the agent was told %v, want [call_ended]", got)
	}
	f.wantPresence(map[string]PresenceState{"alice": Idle})
	// The seat is gone and so is the call.
	_, err := f.c.Join(id, Customer, "Ann", "")
	wantCode(t, err, CodeCallEnded)
}

// In a three-party call a third party past its grace has left and the
// call goes on for the other two; its agent stays busy until then. A
// party back after its seat expired joins afresh if the role is free.
func TestGraceOverInThreePartyCall(t *testing.T) {
	f := newFixture(t)
	f.signIn("alice")
	id := f.threeParty("alice", "bob")
	f.c.SignOut("bob") // its console's socket dropped with its leg
	f.must(f.c.Disconnected(id, Third))
	f.wantPresence(map[string]PresenceState{"bob": Busy})
	f.must(f.c.SetLayout(id, AgentRole, Layout{Mode: layout.Maximize, Party: Third}))

	f.clock.Advance(testRejoinGrace)
	s := f.state(id)
	if !slices.Equal(roles(s), []Role{Customer, AgentRole}) {
		t.Fatalf("after the third's grace the parties are %v, want customer and agent", roles(s))
	}
	if got := leftReasons(f.rec, id, Third); !slices.Equal(got, []string{ReasonConnectionFailed}) {
		t.Errorf("the third was told %v, want [connection_failed]", got)
	}
	if p, _ := s.Party(AgentRole); p.Layout != EqualLayout {
		t.Errorf("the agent's layout is %+v after the third left, want equal", p.Layout)
	}
	f.wantPresence(map[string]PresenceState{"bob": Offline})

	// The customer drops too, and comes back after its seat expired: the
	// agent alone ended the call, so that is too late.
	f.must(f.c.Disconnected(id, Customer))
	f.clock.Advance(testRejoinGrace)
	_, err := f.c.Join(id, Customer, "Ann", "")
	wantCode(t, err, CodeCallEnded)
}

// A customer whose seat expired in a three-party call comes back as a new
// party: the call still exists and its role is free.
func TestJoinAfterSeatExpired(t *testing.T) {
	f := newFixture(t)
	id := f.threeParty("alice", "bob")
	f.must(f.c.SetAudio(id, Customer, false))
	f.must(f.c.Disconnected(id, Customer))
	f.clock.Advance(testRejoinGrace)
	if s := f.state(id); !slices.Equal(roles(s), []Role{AgentRole, Third}) {
		t.Fatalf("parties %v, want agent and third", roles(s))
	}
	s := f.join(id, Customer, "")
	if p, _ := s.Party(Customer); !p.Audio || p.Reconnecting {
		t.Errorf("the customer back after its seat expired: %+v, want a fresh party (audio on)", p)
	}
}

// A customer's seat expiring while help is on its way leaves the agent
// waiting for the helper, as a hang-up would: the helper still joins.
func TestGraceOverWhileHelpIsPending(t *testing.T) {
	f := newFixture(t, func(p *Params) { p.RejoinGrace = testHelpTimeout / 2 })
	f.signIn("bob")
	id := f.twoParty("alice")
	rid := f.ask(id, byAgent("bob"))
	f.must(f.c.Disconnected(id, Customer))
	f.clock.Advance(testHelpTimeout / 2)
	if s := f.state(id); !slices.Equal(roles(s), []Role{AgentRole}) || s.Help == nil {
		t.Fatalf("after the customer's grace: parties %v, help %v; want the agent, help pending", roles(s), s.Help)
	}
	s := f.accept("bob", rid)
	if !slices.Equal(roles(s), []Role{AgentRole, Third}) {
		t.Errorf("after bob accepted: parties %v, want agent and third", roles(s))
	}
}

// A hang-up, a drop by the agent and the call's end stop the grace timer:
// nothing fires for a seat that is already free.
func TestLeavingStopsTheGrace(t *testing.T) {
	f := newFixture(t)
	id := f.threeParty("alice", "bob")
	f.must(f.c.Disconnected(id, Third))
	f.must(f.c.DropParty(id, AgentRole, Third))
	f.must(f.c.Disconnected(id, Customer))
	f.must(f.c.Leave(id, Customer, ReasonHangup))
	if n := f.clock.pending(); n != 0 {
		t.Errorf("%d timers pending after every reconnecting party left, want 0", n)
	}
	if got := leftReasons(f.rec, id, Third); !slices.Equal(got, []string{ReasonDropped}) {
		t.Errorf("the third was told %v, want [dropped]", got)
	}
}

// EndAll ends every call, reconnecting seats included, each party told
// why, and leaves no timer behind.
func TestEndAll(t *testing.T) {
	f := newFixture(t)
	a := f.twoParty("alice")
	b := f.twoParty("bob")
	f.must(f.c.Disconnected(b, Customer))
	f.create("carol")
	f.c.EndAll(ReasonServerShutdown)
	if n := f.c.CallCount(); n != 0 {
		t.Errorf("%d calls open after EndAll", n)
	}
	for _, id := range []string{a, b} {
		for _, role := range []Role{Customer, AgentRole} {
			if got := leftReasons(f.rec, id, role); !slices.Equal(got, []string{ReasonServerShutdown}) {
				t.Errorf("call %s, %s was told %v, want [server_shutdown]", id, role, got)
			}
		}
	}
	if n := f.clock.pending(); n != 0 {
		t.Errorf("%d timers pending after EndAll", n)
	}
	f.wantPresence(map[string]PresenceState{"alice": Offline, "bob": Offline})
}

// A reconnecting seat is not a second party: another agent's token cannot
// take it, and the metrics count it once, as reconnecting.
func TestReconnectingSeatIsOnlyItsPartys(t *testing.T) {
	f := newFixture(t)
	id := f.threeParty("alice", "bob")
	f.must(f.c.Disconnected(id, Third))
	f.signIn("carol")
	_, err := f.c.Join(id, Third, "", "carol")
	wantCode(t, err, CodeRoleTaken)
	n := f.c.Counts()
	if n.Parties[Third] != 1 || n.Reconnecting != 1 || n.CallsByState[ThreeParty] != 1 {
		t.Errorf("counts %+v, want the third counted once, as reconnecting, in a three-party call", n)
	}
	f.join(id, Third, "bob")
	if n := f.c.Counts(); n.Reconnecting != 0 {
		t.Errorf("%d reconnecting after bob came back, want 0", n.Reconnecting)
	}
}
