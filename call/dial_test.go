package call

import (
	"reflect"
	"slices"
	"testing"
)

// What the gateway says of a dial reaches every party: ringing as
// help.progress, a failure as help.failed with its reason; a request the
// center ends (cancel, timeout, the call ending) is hung up.
func TestDialOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		then   func(f *fixture, id, dial string)
		reason string // of help.failed
		hungUp bool
	}{
		{"busy", func(f *fixture, id, dial string) { f.c.DialFailed(id, dial, DialBusy) }, DialBusy, false},
		{"not found", func(f *fixture, id, dial string) { f.c.DialFailed(id, dial, DialNotFound) }, DialNotFound, false},
		{"cancelled while ringing", func(f *fixture, id, dial string) { f.must(f.c.CancelHelp(id, AgentRole, dial)) }, CodeCancelled, true},
		{"no answer in time", func(f *fixture, _, _ string) { f.clock.Advance(testHelpTimeout) }, DialNoAnswer, true},
		{"the call ends", func(f *fixture, id, _ string) {
			f.must(f.c.Leave(id, Customer, ReasonHangup))
			f.must(f.c.Leave(id, AgentRole, ReasonHangup))
		}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakeDialer{}
			f := newFixture(t, withDialer(d))
			id := f.twoParty("bob")
			dial := f.ask(id, byNumber("+49 30 555 0100"))
			if !slices.Equal(d.dials, []string{dial}) {
				t.Fatalf("dials %v, want the request %s", d.dials, dial)
			}
			f.c.DialRinging(id, dial)
			if got := f.state(id).Help; got == nil || got.State != Ringing {
				t.Errorf("after the gateway's 180 the request is %+v, want ringing", got)
			}
			f.rec.reset()
			tc.then(f, id, dial)
			if got, _ := last(partyEvents[HelpFailed](f.rec, id, AgentRole)); tc.reason != "" && got != (HelpFailed{dial, tc.reason}) {
				t.Errorf("the agent got %+v, want help.failed %s", got, tc.reason)
			}
			if hung := slices.Contains(d.hungUp, dial); hung != tc.hungUp {
				t.Errorf("dial hung up: %v, want %v", hung, tc.hungUp)
			}
		})
	}
}

// An answered phone is the third party: shown by its masked number, its
// microphone on and no camera, so maximize is refused as for any party
// without video; the agent dropping it hangs it up, and the other two
// stay.
func TestAnsweredPhoneIsTheThirdParty(t *testing.T) {
	d := &fakeDialer{}
	f := newFixture(t, withDialer(d))
	id := f.twoParty("bob")
	dial := f.ask(id, byNumber("+49 30 555 0100"))
	f.rec.reset()
	s, err := f.c.DialAnswered(id, dial)
	if err != nil {
		t.Fatal(err)
	}
	third, ok := s.Party(Third)
	want := PartyState{Role: Third, Name: "+49 •••• 0100", Audio: true, Phone: true, SelfView: true, Layout: EqualLayout}
	if !ok || !reflect.DeepEqual(third, want) {
		t.Errorf("the third party is %+v, want %+v", third, want)
	}
	if got, _ := last(partyEvents[HelpProgress](f.rec, id, AgentRole)); got.State != Accepted {
		t.Errorf("the agent got %+v, want help.progress accepted", got)
	}
	err = f.c.SetLayout(id, Customer, Layout{Mode: "maximize", Party: AgentRole})
	wantCode(t, err, CodeVideoNotEnabledForAll)
	if _, err := f.c.DialAnswered(id, dial); err == nil {
		t.Error("a second answer of the same dial was taken")
	}

	f.must(f.c.DropParty(id, AgentRole, Third))
	if !slices.Equal(d.hungUp, []string{dial}) {
		t.Errorf("dials hung up %v, want the dropped phone's %s", d.hungUp, dial)
	}
	if s := f.state(id); len(s.Parties) != 2 {
		t.Errorf("after the phone was dropped: %d parties, want the two", len(s.Parties))
	}
}

func TestMaskNumber(t *testing.T) {
	for n, want := range map[string]string{"+493012345678": "+49 •••• 5678", "5550100": "•••••••", "": ""} {
		if got := MaskNumber(n); got != want {
			t.Errorf("MaskNumber(%q) = %q, want %q", n, got, want)
		}
	}
}
