package call

import (
	"reflect"
	"slices"
	"testing"

	"github.com/threeway-mcu/threeway/layout"
)

func maximize(r Role) Layout { return Layout{Mode: layout.Maximize, Party: r} }

// callOf opens a two- or three-party call (bob, with carol as third) and
// turns off the video of videoOff.
func (f *fixture) callOf(three bool, videoOff ...Role) string {
	f.t.Helper()
	var id string
	if three {
		id = f.threeParty("bob", "carol")
	} else {
		id = f.twoParty("bob")
	}
	for _, r := range videoOff {
		f.must(f.c.SetVideo(id, r, false))
	}
	return id
}

func layouts(s *Snapshot) map[Role]Layout {
	out := map[Role]Layout{}
	for _, p := range s.Parties {
		out[p.Role] = p.Layout
	}
	return out
}

func TestSetLayout(t *testing.T) {
	tests := []struct {
		name        string
		sfu         bool
		three       bool
		videoOff    []Role
		selfHidden  bool // the viewer hides its own tile first
		viewer      Role
		layout      Layout
		want        Layout // the viewer's layout afterwards
		wantCode    string
		wantParties []Role // Error.Parties
	}{
		{name: "maximize the other party", viewer: Customer, layout: maximize(AgentRole), want: maximize(AgentRole)},
		{name: "maximize oneself", viewer: Customer, layout: maximize(Customer), want: maximize(Customer)},
		// A viewer whose own tile is hidden cannot maximize it: its
		// picture would show equal tiles while its layout said maximize.
		{name: "maximize oneself while hidden", selfHidden: true, viewer: Customer, layout: maximize(Customer),
			want: EqualLayout, wantCode: CodePartyNotInView, wantParties: []Role{Customer}},
		{name: "maximize oneself while hidden, three-party", three: true, selfHidden: true, viewer: Third,
			layout: maximize(Third), want: EqualLayout, wantCode: CodePartyNotInView, wantParties: []Role{Third}},
		{name: "maximize another while hidden", selfHidden: true, viewer: Customer, layout: maximize(AgentRole),
			want: maximize(AgentRole)},
		{name: "maximize the third", three: true, viewer: AgentRole, layout: maximize(Third), want: maximize(Third)},
		{name: "equal drops the party", viewer: Customer, layout: Layout{Mode: layout.Equal, Party: AgentRole}, want: EqualLayout},
		{name: "maximize an absent party", viewer: Customer, layout: maximize(Third), want: EqualLayout, wantCode: CodePartyNotPresent},
		{name: "maximize no party", viewer: Customer, layout: Layout{Mode: layout.Maximize}, want: EqualLayout, wantCode: CodePartyNotPresent},
		{name: "maximize the screen", viewer: Customer, layout: maximize(ScreenSource), want: EqualLayout, wantCode: CodePartyNotPresent},
		{name: "unknown mode", viewer: Customer, layout: Layout{Mode: "grid"}, want: EqualLayout, wantCode: CodeInvalidField},
		{name: "no mode", viewer: Customer, layout: Layout{}, want: EqualLayout, wantCode: CodeInvalidField},
		{name: "viewer not in the call", viewer: Third, layout: maximize(Customer), wantCode: CodePartyNotPresent},
		{name: "three-party, another's video off", three: true, videoOff: []Role{Customer},
			viewer: AgentRole, layout: maximize(Third), want: EqualLayout, wantCode: CodeVideoNotEnabledForAll, wantParties: []Role{Customer}},
		{name: "three-party, two without video", three: true, videoOff: []Role{Third, Customer},
			viewer: AgentRole, layout: maximize(AgentRole), want: EqualLayout, wantCode: CodeVideoNotEnabledForAll, wantParties: []Role{Customer, Third}},
		{name: "three-party, the viewer's own video off", three: true, videoOff: []Role{AgentRole},
			viewer: AgentRole, layout: maximize(Customer), want: EqualLayout, wantCode: CodeVideoNotEnabledForAll, wantParties: []Role{AgentRole}},
		{name: "three-party, equal needs no video", three: true, videoOff: []Role{Customer},
			viewer: AgentRole, layout: EqualLayout, want: EqualLayout},
		// The all-video rule is three-party only: a pair may maximize
		// whoever, camera or not.
		{name: "two-party with video off", videoOff: []Role{AgentRole},
			viewer: Customer, layout: maximize(AgentRole), want: maximize(AgentRole)},
		// sfu forwards each camera: there is no picture to enlarge in.
		{name: "maximize in sfu mode", sfu: true, viewer: Customer, layout: maximize(AgentRole),
			want: EqualLayout, wantCode: CodeLayoutUnsupportedInSFU},
		{name: "equal in sfu mode", sfu: true, viewer: Customer, layout: EqualLayout, want: EqualLayout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := MCU
			if tt.sfu {
				mode = SFU
			}
			f := newFixture(t, withMode(mode))
			id := f.callOf(tt.three, tt.videoOff...)
			if tt.selfHidden {
				f.must(f.c.SetSelfView(id, tt.viewer, false))
			}
			before := layouts(f.state(id))
			f.rec.reset()

			err := f.c.SetLayout(id, tt.viewer, tt.layout)
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != "" {
				f.wantNothingChanged()
				if got := layouts(f.state(id)); !reflect.DeepEqual(got, before) {
					t.Errorf("a refusal changed layouts to %v", got)
				}
				if got := err.(*Error).Parties; !slices.Equal(got, tt.wantParties) {
					t.Errorf("Error.Parties = %v, want %v", got, tt.wantParties)
				}
				return
			}
			s := f.rec.lastState(id)
			if s == nil {
				t.Fatal("Changed was not told")
			}
			want := before
			want[tt.viewer] = tt.want
			if got := layouts(s); !reflect.DeepEqual(got, want) {
				t.Errorf("layouts %v, want %v (only the viewer's changes)", got, want)
			}
		})
	}
}

func TestEachViewerHasItsOwnLayout(t *testing.T) {
	f := newFixture(t)
	id := f.callOf(true)
	f.must(f.c.SetLayout(id, Customer, maximize(AgentRole)))
	f.must(f.c.SetLayout(id, AgentRole, maximize(Third)))
	s := f.state(id)
	want := map[Role]Layout{Customer: maximize(AgentRole), AgentRole: maximize(Third), Third: EqualLayout}
	if got := layouts(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("layouts %v, want %v", got, want)
	}
	wantFocus := map[Role]string{Customer: "agent", AgentRole: "third", Third: ""}
	for r, focus := range wantFocus {
		if v := s.ViewOf(r); v.Focus != focus {
			t.Errorf("%s sees focus %q, want %q", r, v.Focus, focus)
		}
	}
}

func TestMaximizeAllowedAgainWhenVideoIsBackOn(t *testing.T) {
	f := newFixture(t)
	id := f.callOf(true, Third)
	wantCode(t, f.c.SetLayout(id, Customer, maximize(AgentRole)), CodeVideoNotEnabledForAll)
	f.must(f.c.SetVideo(id, Third, true))
	f.must(f.c.SetLayout(id, Customer, maximize(AgentRole)))
	if p, _ := f.state(id).Party(Customer); p.Layout != maximize(AgentRole) {
		t.Errorf("customer's layout %v, want agent maximized", p.Layout)
	}
}

func ps(r Role, selfView bool, l Layout) PartyState {
	return PartyState{Role: r, Name: string(r), Video: true, Audio: true, SelfView: selfView, Layout: l}
}

func TestViewOf(t *testing.T) {
	eq := EqualLayout
	tests := []struct {
		name   string
		snap   Snapshot
		viewer Role
		want   View
	}{
		{"equal", Snapshot{Parties: []PartyState{ps(Customer, true, eq), ps(AgentRole, true, eq)}},
			AgentRole, View{Mode: layout.Equal, Tiles: []string{"customer", "agent"}}},
		{"equal of three in tile order", Snapshot{Parties: []PartyState{ps(Customer, true, eq), ps(AgentRole, true, eq), ps(Third, true, eq)}},
			Third, View{Mode: layout.Equal, Tiles: []string{"customer", "agent", "third"}}},
		{"self view off", Snapshot{Parties: []PartyState{ps(Customer, true, eq), ps(AgentRole, false, eq), ps(Third, true, eq)}},
			AgentRole, View{Mode: layout.Equal, Tiles: []string{"customer", "third"}}},
		{"another's self view off does not matter", Snapshot{Parties: []PartyState{ps(Customer, false, eq), ps(AgentRole, true, eq)}},
			AgentRole, View{Mode: layout.Equal, Tiles: []string{"customer", "agent"}}},
		{"maximize", Snapshot{Parties: []PartyState{ps(Customer, true, eq), ps(AgentRole, true, maximize(Customer)), ps(Third, true, eq)}},
			AgentRole, View{Mode: layout.Maximize, Focus: "customer", Tiles: []string{"customer", "agent", "third"}}},
		{"maximize with self view off", Snapshot{Parties: []PartyState{ps(Customer, true, eq), ps(AgentRole, false, maximize(Third)), ps(Third, true, eq)}},
			AgentRole, View{Mode: layout.Maximize, Focus: "third", Tiles: []string{"customer", "third"}}},
		{"maximized self hidden falls back to equal", Snapshot{Parties: []PartyState{ps(Customer, false, maximize(Customer)), ps(AgentRole, true, eq)}},
			Customer, View{Mode: layout.Equal, Tiles: []string{"agent"}}},
		{"maximized party gone falls back to equal", Snapshot{Parties: []PartyState{ps(Customer, true, maximize(Third)), ps(AgentRole, true, eq)}},
			Customer, View{Mode: layout.Equal, Tiles: []string{"customer", "agent"}}},
		{"share: the screen large", Snapshot{Share: AgentRole, Parties: []PartyState{ps(Customer, true, eq), ps(AgentRole, true, eq)}},
			Customer, View{Mode: layout.Maximize, Focus: ScreenSource, Tiles: []string{"customer", "agent", "screen"}}},
		{"share overrides maximize", Snapshot{Share: Customer, Parties: []PartyState{ps(Customer, true, eq), ps(AgentRole, true, maximize(Customer)), ps(Third, true, eq)}},
			AgentRole, View{Mode: layout.Maximize, Focus: ScreenSource, Tiles: []string{"customer", "agent", "third", "screen"}}},
		{"share with self view off", Snapshot{Share: Customer, Parties: []PartyState{ps(Customer, false, eq), ps(AgentRole, true, eq)}},
			Customer, View{Mode: layout.Maximize, Focus: ScreenSource, Tiles: []string{"agent", "screen"}}},
		{"ended call", Snapshot{Ended: true}, Customer, View{Mode: layout.Equal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.snap.ViewOf(tt.viewer)
			if !reflect.DeepEqual(v, tt.want) {
				t.Fatalf("ViewOf(%s) = %+v, want %+v", tt.viewer, v, tt.want)
			}
			spec := v.Spec()
			if want := (layout.Spec{Parties: tt.want.Tiles, Mode: tt.want.Mode, Focus: tt.want.Focus}); !reflect.DeepEqual(spec, want) {
				t.Fatalf("Spec() = %+v, want %+v", spec, want)
			}
			if _, err := layout.Tiles(1280, 720, spec); err != nil {
				t.Errorf("layout refuses the view's spec %+v: %v", spec, err)
			}
		})
	}
}

// Views follow what happens in the call.
func TestViewsThroughTheCenter(t *testing.T) {
	f := newFixture(t)
	id := f.callOf(true)
	f.must(f.c.SetLayout(id, Customer, maximize(Third)))
	f.must(f.c.SetSelfView(id, AgentRole, false))
	wantSpecs := map[Role]layout.Spec{
		Customer:  {Parties: []string{"customer", "agent", "third"}, Mode: layout.Maximize, Focus: "third"},
		AgentRole: {Parties: []string{"customer", "third"}, Mode: layout.Equal},
		Third:     {Parties: []string{"customer", "agent", "third"}, Mode: layout.Equal},
	}
	s := f.state(id)
	for r, want := range wantSpecs {
		if got := s.ViewOf(r).Spec(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: spec %+v, want %+v", r, got, want)
		}
	}

	f.must(f.c.StartShare(id, Third))
	s = f.state(id)
	shared := map[Role][]string{
		Customer:  {"customer", "agent", "third", "screen"},
		AgentRole: {"customer", "third", "screen"},
		Third:     {"customer", "agent", "third", "screen"},
	}
	for r, tiles := range shared {
		want := layout.Spec{Parties: tiles, Mode: layout.Maximize, Focus: ScreenSource}
		if got := s.ViewOf(r).Spec(); !reflect.DeepEqual(got, want) {
			t.Errorf("sharing, %s: spec %+v, want %+v", r, got, want)
		}
	}
}

// Turning video off in a three-party call undoes what needs everyone's
// video: maximized layouts go back to equal, a share stops, each told why.
func TestVideoOffUndoesAllVideoRules(t *testing.T) {
	tests := []struct {
		name      string
		three     bool
		maximize  map[Role]Role // viewer → maximized party
		share     Role
		off       Role
		wantReset []Role // viewers told layout.reset
		wantStop  bool   // share.stopped to all
	}{
		{name: "maximizers reset and share stops", three: true,
			maximize: map[Role]Role{Customer: AgentRole, AgentRole: Customer}, share: Customer, off: Third,
			wantReset: []Role{Customer, AgentRole}, wantStop: true},
		{name: "maximizing the one who turned off", three: true,
			maximize: map[Role]Role{Third: AgentRole}, off: AgentRole, wantReset: []Role{Third}},
		{name: "the maximizer turns its own video off", three: true,
			maximize: map[Role]Role{Third: Customer}, off: Third, wantReset: []Role{Third}},
		{name: "the sharer turns its video off", three: true, share: AgentRole, off: AgentRole, wantStop: true},
		{name: "nothing to undo", three: true, off: Customer},
		{name: "two-party: the rule does not apply",
			maximize: map[Role]Role{Customer: AgentRole, AgentRole: AgentRole}, share: AgentRole, off: AgentRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.callOf(tt.three)
			for viewer, party := range tt.maximize {
				f.must(f.c.SetLayout(id, viewer, maximize(party)))
			}
			if tt.share != "" {
				f.must(f.c.StartShare(id, tt.share))
			}
			before := layouts(f.state(id))
			f.rec.reset()
			f.must(f.c.SetVideo(id, tt.off, false))

			s := f.rec.lastState(id)
			if p, _ := s.Party(tt.off); p.Video {
				t.Errorf("Changed shows %s's video on", tt.off)
			}
			for _, p := range s.Parties {
				resets := partyEvents[LayoutReset](f.rec, id, p.Role)
				if slices.Contains(tt.wantReset, p.Role) {
					if len(resets) != 1 || resets[0].Reason != CodeVideoNotEnabledForAll ||
						!slices.Equal(resets[0].Parties, []Role{tt.off}) || resets[0].Message == "" {
						t.Errorf("%s got %+v, want one layout.reset video_not_enabled_for_all naming %s", p.Role, resets, tt.off)
					}
					if p.Layout != EqualLayout {
						t.Errorf("%s's layout %v, want equal", p.Role, p.Layout)
					}
					continue
				}
				if len(resets) != 0 {
					t.Errorf("%s got %+v, want no reset", p.Role, resets)
				}
				if p.Layout != before[p.Role] {
					t.Errorf("%s's layout changed to %v", p.Role, p.Layout)
				}
			}
			for _, p := range s.Parties {
				stops := partyEvents[ShareStopped](f.rec, id, p.Role)
				want := []ShareStopped(nil)
				if tt.wantStop {
					want = []ShareStopped{{Party: tt.share, Reason: CodeVideoNotEnabledForAll}}
				}
				if !reflect.DeepEqual(stops, want) {
					t.Errorf("%s got %+v, want %+v", p.Role, stops, want)
				}
			}
			if wantShare := map[bool]Role{true: "", false: tt.share}[tt.wantStop]; s.Share != wantShare {
				t.Errorf("share %q, want %q", s.Share, wantShare)
			}
		})
	}
}

func TestVideoBackOnUndoesNothing(t *testing.T) {
	f := newFixture(t)
	id := f.callOf(true, Customer)
	f.must(f.c.SetLayout(id, AgentRole, EqualLayout))
	f.rec.reset()
	f.must(f.c.SetVideo(id, Customer, true))
	for _, r := range Roles {
		if got := f.rec.partyTypes(id, r); len(got) != 0 {
			t.Errorf("%s got %v", r, got)
		}
	}
	if p, _ := f.rec.lastState(id).Party(Customer); !p.Video {
		t.Error("Changed shows the customer's video off")
	}
}

func TestShare(t *testing.T) {
	tests := []struct {
		name        string
		sfu         bool
		three       bool
		videoOff    []Role
		sharing     Role // who shares beforehand
		by          Role
		stop        bool
		wantCode    string
		wantParties []Role
		wantShare   Role
	}{
		{name: "start", by: Customer, wantShare: Customer},
		{name: "start in a three-party call", three: true, by: Third, wantShare: Third},
		{name: "one at a time", sharing: AgentRole, by: Customer, wantCode: CodeShareInProgress, wantShare: AgentRole},
		{name: "start again by the sharer", sharing: AgentRole, by: AgentRole, wantShare: AgentRole},
		{name: "three-party with video off", three: true, videoOff: []Role{Customer}, by: AgentRole,
			wantCode: CodeVideoNotEnabledForAll, wantParties: []Role{Customer}},
		{name: "two-party with video off", videoOff: []Role{Customer}, by: Customer, wantShare: Customer},
		{name: "absent party", by: Third, wantCode: CodePartyNotPresent},
		{name: "sfu mode", sfu: true, by: Customer, wantCode: CodeShareUnsupportedInSFU},
		{name: "stop by the sharer", sharing: Customer, by: Customer, stop: true},
		{name: "stop by another", sharing: Customer, by: AgentRole, stop: true, wantCode: CodeNotSharing, wantShare: Customer},
		{name: "stop with nobody sharing", by: AgentRole, stop: true, wantCode: CodeNotSharing},
		{name: "stop by an absent party", sharing: Customer, by: Third, stop: true, wantCode: CodePartyNotPresent, wantShare: Customer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := MCU
			if tt.sfu {
				mode = SFU
			}
			f := newFixture(t, withMode(mode))
			id := f.callOf(tt.three, tt.videoOff...)
			if tt.sharing != "" {
				f.must(f.c.StartShare(id, tt.sharing))
			}
			f.rec.reset()
			var err error
			if tt.stop {
				err = f.c.StopShare(id, tt.by)
			} else {
				err = f.c.StartShare(id, tt.by)
			}
			wantCode(t, err, tt.wantCode)
			if got := f.state(id).Share; got != tt.wantShare {
				t.Errorf("share %q, want %q", got, tt.wantShare)
			}
			switch {
			case tt.wantCode != "":
				f.wantNothingChanged()
				if got := err.(*Error).Parties; !slices.Equal(got, tt.wantParties) {
					t.Errorf("Error.Parties = %v, want %v", got, tt.wantParties)
				}
			case tt.sharing == tt.by && !tt.stop: // nothing to do
				f.wantNothingChanged()
			case tt.stop:
				for _, r := range roles(f.state(id)) {
					if got := partyEvents[ShareStopped](f.rec, id, r); !reflect.DeepEqual(got, []ShareStopped{{tt.by, ReasonStopped}}) {
						t.Errorf("%s got %+v, want share.stopped stopped", r, got)
					}
				}
				fallthrough
			default:
				if s := f.rec.lastState(id); s == nil || s.Share != tt.wantShare {
					t.Errorf("Changed share %+v, want %q", s, tt.wantShare)
				}
			}
		})
	}
}

func TestAudioAndSelfViewFlags(t *testing.T) {
	tests := []struct {
		name string
		set  func(c *Center, id string, r Role, on bool) error
		get  func(PartyState) bool
	}{
		{"audio", (*Center).SetAudio, func(p PartyState) bool { return p.Audio }},
		{"self view", (*Center).SetSelfView, func(p PartyState) bool { return p.SelfView }},
		{"video", (*Center).SetVideo, func(p PartyState) bool { return p.Video }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.callOf(false)
			for _, on := range []bool{false, true} {
				f.rec.reset()
				f.must(tt.set(f.c, id, Customer, on))
				s := f.rec.lastState(id)
				if s == nil {
					t.Fatal("Changed was not told")
				}
				if c, _ := s.Party(Customer); tt.get(c) != on {
					t.Errorf("customer's %s is %v, want %v", tt.name, tt.get(c), on)
				}
				if a, _ := s.Party(AgentRole); !tt.get(a) {
					t.Errorf("the agent's %s changed too", tt.name)
				}
			}
			f.rec.reset()
			wantCode(t, tt.set(f.c, id, Third, false), CodePartyNotPresent)
			wantCode(t, tt.set(f.c, "nope", Customer, false), CodeCallNotFound)
			f.wantNothingChanged()
		})
	}
}

// Muting is not turning video off: nothing that needs everyone's video is
// undone.
func TestAudioOffUndoesNothing(t *testing.T) {
	f := newFixture(t)
	id := f.callOf(true)
	f.must(f.c.SetLayout(id, Customer, maximize(Third)))
	f.must(f.c.StartShare(id, AgentRole))
	f.rec.reset()
	f.must(f.c.SetAudio(id, Third, false))
	s := f.state(id)
	if p, _ := s.Party(Customer); p.Layout != maximize(Third) || s.Share != AgentRole {
		t.Errorf("after a mute: layout %v, share %q; want both kept", p.Layout, s.Share)
	}
}

// Hiding one's own tile while maximizing oneself goes back to equal, told
// why; hiding it while maximizing another changes nothing else.
func TestHidingSelfWhileMaximized(t *testing.T) {
	tests := []struct {
		name       string
		maximized  Role // the customer's maximized party
		wantLayout Layout
		wantReset  bool
	}{
		{name: "maximizing oneself", maximized: Customer, wantLayout: EqualLayout, wantReset: true},
		{name: "maximizing the other", maximized: AgentRole, wantLayout: maximize(AgentRole)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id := f.callOf(false)
			f.must(f.c.SetLayout(id, Customer, maximize(tt.maximized)))
			f.rec.reset()
			f.must(f.c.SetSelfView(id, Customer, false))

			s := f.rec.lastState(id)
			if s == nil {
				t.Fatal("Changed was not told")
			}
			p, _ := s.Party(Customer)
			if p.SelfView || p.Layout != tt.wantLayout {
				t.Errorf("customer: self view %v, layout %v; want hidden and %v", p.SelfView, p.Layout, tt.wantLayout)
			}
			// What the state says is what the picture shows.
			if v := s.ViewOf(Customer); string(tt.wantLayout.Party) != v.Focus {
				t.Errorf("view focus %q, layout %v: they disagree", v.Focus, tt.wantLayout)
			}
			resets := partyEvents[LayoutReset](f.rec, id, Customer)
			want := []LayoutReset(nil)
			if tt.wantReset {
				want = []LayoutReset{{Reason: CodePartyNotInView, Parties: []Role{Customer}}}
			}
			for i := range resets {
				if resets[i].Message == "" {
					t.Errorf("layout.reset without a message")
				}
				resets[i].Message = ""
			}
			if !reflect.DeepEqual(resets, want) {
				t.Errorf("customer told %+v, want %+v", resets, want)
			}
			if got := f.rec.partyTypes(id, AgentRole); len(got) != 0 {
				t.Errorf("the agent was told %v", got)
			}
		})
	}
}
