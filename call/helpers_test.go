package call

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// ---- fake clock ----------------------------------------------------------

// fakeClock is a Clock whose time moves only when a test calls Advance.
// Timers fire inside Advance, one at a time in due order (ties in the order
// they were set), with no lock of the clock held, so they take the Center's
// lock like real timer goroutines do.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer // pending
}

type fakeTimer struct {
	clock *fakeClock
	due   time.Time
	seq   int
	f     func()
	done  bool // fired or stopped
}

var epoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{now: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{clock: c, due: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == t })
	return true
}

// Advance moves the time forward by d, firing every timer due by then.
// Each runs with Now() at its due time.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if t.due.After(end) {
				continue
			}
			if next == nil || t.due.Before(next.due) || t.due.Equal(next.due) && t.seq < next.seq {
				next = t
			}
		}
		if next == nil {
			if c.now.Before(end) {
				c.now = end
			}
			c.mu.Unlock()
			return
		}
		next.done = true
		c.timers = slices.DeleteFunc(c.timers, func(x *fakeTimer) bool { return x == next })
		if next.due.After(c.now) {
			c.now = next.due
		}
		c.mu.Unlock()
		next.f()
	}
}

// pending is how many timers are set and have neither fired nor stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

func TestFakeClock(t *testing.T) {
	c := newFakeClock()
	var fired []string
	c.AfterFunc(3*time.Second, func() { fired = append(fired, "c@"+c.Now().Sub(epoch).String()) })
	c.AfterFunc(1*time.Second, func() { fired = append(fired, "a@"+c.Now().Sub(epoch).String()) })
	stopped := c.AfterFunc(2*time.Second, func() { fired = append(fired, "stopped") })
	c.AfterFunc(1*time.Second, func() { fired = append(fired, "b@"+c.Now().Sub(epoch).String()) })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true once, then false")
	}
	c.Advance(2 * time.Second)
	if want := []string{"a@1s", "b@1s"}; !slices.Equal(fired, want) {
		t.Fatalf("after 2s fired %v, want %v", fired, want)
	}
	if got := c.Now().Sub(epoch); got != 2*time.Second {
		t.Fatalf("now = %v, want 2s", got)
	}
	c.Advance(time.Second)
	if want := []string{"a@1s", "b@1s", "c@3s"}; !slices.Equal(fired, want) {
		t.Fatalf("after 3s fired %v, want %v", fired, want)
	}
	if c.pending() != 0 {
		t.Fatalf("pending = %d, want 0", c.pending())
	}
}

// ---- recording notifier --------------------------------------------------

// note is one thing the Center told its Notifier.
type note struct {
	snap  *Snapshot // Changed
	call  string    // Changed, ToParty
	role  Role      // ToParty
	agent string    // ToAgent
	ev    Event     // ToParty, ToAgent
}

// recorder is a Notifier that keeps everything in order.
type recorder struct {
	mu    sync.Mutex
	notes []note
}

func (r *recorder) add(n note) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, n)
}

func (r *recorder) Changed(s *Snapshot) { r.add(note{snap: s, call: s.ID}) }

func (r *recorder) ToParty(callID string, role Role, ev Event) {
	r.add(note{call: callID, role: role, ev: ev})
}

func (r *recorder) ToAgent(agentID string, ev Event) { r.add(note{agent: agentID, ev: ev}) }

// reset forgets everything recorded so far: what follows is the effect of
// the action under test.
func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = nil
}

func (r *recorder) all() []note {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.notes)
}

// since returns what was recorded from index i on, and the index to ask
// from next time.
func (r *recorder) since(i int) ([]note, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i > len(r.notes) { // reset meanwhile
		i = 0
	}
	return slices.Clone(r.notes[i:]), len(r.notes)
}

// states are the Changed snapshots of a call, in order.
func (r *recorder) states(callID string) []*Snapshot {
	var out []*Snapshot
	for _, n := range r.all() {
		if n.snap != nil && n.call == callID {
			out = append(out, n.snap)
		}
	}
	return out
}

// lastState is the last Changed snapshot of a call, nil if none.
func (r *recorder) lastState(callID string) *Snapshot {
	s := r.states(callID)
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}

// toParty is every event delivered to one party, in order.
func (r *recorder) toParty(callID string, role Role) []Event {
	var out []Event
	for _, n := range r.all() {
		if n.snap == nil && n.agent == "" && n.call == callID && n.role == role {
			out = append(out, n.ev)
		}
	}
	return out
}

// toAgent is every event delivered to an agent's consoles, in order.
func (r *recorder) toAgent(agentID string) []Event {
	var out []Event
	for _, n := range r.all() {
		if n.agent == agentID {
			out = append(out, n.ev)
		}
	}
	return out
}

// partyTypes lists the event types one party got, in order.
func (r *recorder) partyTypes(callID string, role Role) []string {
	return types(r.toParty(callID, role))
}

func types(evs []Event) []string {
	out := []string{}
	for _, ev := range evs {
		out = append(out, ev.EventType())
	}
	return out
}

// ofType keeps the events of type T.
func ofType[T Event](evs []Event) []T {
	var out []T
	for _, ev := range evs {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// partyEvents are the events of type T one party got.
func partyEvents[T Event](r *recorder, callID string, role Role) []T {
	return ofType[T](r.toParty(callID, role))
}

// agentEvents are the events of type T an agent got.
func agentEvents[T Event](r *recorder, agentID string) []T {
	return ofType[T](r.toAgent(agentID))
}

// last is the last element, or the zero value and false.
func last[T any](s []T) (T, bool) {
	if len(s) == 0 {
		var zero T
		return zero, false
	}
	return s[len(s)-1], true
}

// ---- fake dialer -----------------------------------------------------------

type dialed struct{ call, number string }

type fakeDialer struct {
	mu     sync.Mutex
	calls  []dialed
	dials  []string // the request of each call
	hungUp []string
	err    error
}

func (d *fakeDialer) Dial(callID, dial, number string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, dialed{callID, number})
	d.dials = append(d.dials, dial)
	return d.err
}

func (d *fakeDialer) Hangup(dial string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hungUp = append(d.hungUp, dial)
}

// ---- fixture ---------------------------------------------------------------

const customerName = "Ann Customer"

// fixture is a Center on a fake clock with a recording notifier and ids
// id1, id2, … in the order the Center asks for them.
type fixture struct {
	t     *testing.T
	c     *Center
	clock *fakeClock
	rec   *recorder
}

const testHelpTimeout = 15 * time.Second

// newFixture makes a Center with the default directory, a 15 s help
// timeout, and whatever tweaks change.
func newFixture(t *testing.T, tweaks ...func(*Params)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: newFakeClock(), rec: &recorder{}}
	n := 0
	p := Params{
		Directory:   DefaultDirectory(),
		Notifier:    f.rec,
		Clock:       f.clock,
		HelpTimeout: testHelpTimeout,
		NewID:       func() string { n++; return fmt.Sprintf("id%d", n) }, // under the Center's lock
	}
	for _, tw := range tweaks {
		tw(&p)
	}
	f.c = NewCenter(p)
	return f
}

func withDialer(d Dialer) func(*Params)  { return func(p *Params) { p.Dialer = d } }
func withMode(m VideoMode) func(*Params) { return func(p *Params) { p.VideoMode = m } }

func withDialAllow(allow string) func(*Params) {
	return func(p *Params) {
		plan, err := NewDialPlan(allow)
		if err != nil {
			panic(err)
		}
		p.DialPlan = plan
	}
}
func withMaxCalls(n int) func(*Params)        { return func(p *Params) { p.MaxCalls = n } }
func withDirectory(d Directory) func(*Params) { return func(p *Params) { p.Directory = d } }

// must fails the test on a refusal.
func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("unexpected refusal: %v", err)
	}
}

// signIn signs agents in one second apart, so the first named has been
// idle longest.
func (f *fixture) signIn(ids ...string) {
	f.t.Helper()
	for _, id := range ids {
		f.clock.Advance(time.Second)
		_, err := f.c.SignIn(id)
		f.must(err)
	}
}

// create opens a call of customerName with agentID.
func (f *fixture) create(agentID string) string {
	f.t.Helper()
	id, err := f.c.CreateCall(customerName, agentID)
	f.must(err)
	return id
}

// join adds a party; agent and third join as their agent id.
func (f *fixture) join(callID string, role Role, agentID string) *Snapshot {
	f.t.Helper()
	s, err := f.c.Join(callID, role, "", agentID)
	f.must(err)
	return s
}

// twoParty opens a call with its customer and agent joined.
func (f *fixture) twoParty(agentID string) string {
	f.t.Helper()
	id := f.create(agentID)
	f.join(id, Customer, "")
	f.join(id, AgentRole, agentID)
	return id
}

// ask makes the call's agent request help.
func (f *fixture) ask(callID string, req HelpRequest) string {
	f.t.Helper()
	rid, err := f.c.RequestHelp(callID, AgentRole, req)
	f.must(err)
	return rid
}

func byQueue(q string) HelpRequest  { return HelpRequest{Mode: ByQueue, Queue: q} }
func byAgent(a string) HelpRequest  { return HelpRequest{Mode: ByAgent, Agent: a} }
func byNumber(n string) HelpRequest { return HelpRequest{Mode: ByNumber, Number: n} }

// accept makes agentID accept reqID.
func (f *fixture) accept(agentID, reqID string) *Snapshot {
	f.t.Helper()
	s, err := f.c.AcceptHelp(agentID, reqID)
	f.must(err)
	return s
}

// threeParty opens a call of agentID with its customer, and brings helper
// in as the third party (signing helper in if needed).
func (f *fixture) threeParty(agentID, helper string) string {
	f.t.Helper()
	if f.agent(helper).State == Offline {
		f.signIn(helper)
	}
	id := f.twoParty(agentID)
	f.accept(helper, f.ask(id, byAgent(helper)))
	return id
}

// state is the call's current snapshot.
func (f *fixture) state(callID string) *Snapshot {
	f.t.Helper()
	s, err := f.c.Snapshot(callID)
	f.must(err)
	return s
}

// roles lists the parties of a snapshot.
func roles(s *Snapshot) []Role {
	out := []Role{}
	for _, p := range s.Parties {
		out = append(out, p.Role)
	}
	return out
}

// agent is one agent's status.
func (f *fixture) agent(id string) AgentStatus {
	f.t.Helper()
	for _, a := range f.c.Agents() {
		if a.ID == id {
			return a
		}
	}
	f.t.Fatalf("no agent %q", id)
	return AgentStatus{}
}

// presence is one agent's state.
func (f *fixture) presence(id string) PresenceState { return f.agent(id).State }

// wantPresence checks agents' states.
func (f *fixture) wantPresence(want map[string]PresenceState) {
	f.t.Helper()
	for id, s := range want {
		if got := f.presence(id); got != s {
			f.t.Errorf("agent %s is %s, want %s", id, got, s)
		}
	}
}

// lastOffer is the last help.offer an agent got.
func (f *fixture) lastOffer(agentID string) HelpOffer {
	f.t.Helper()
	o, ok := last(agentEvents[HelpOffer](f.rec, agentID))
	if !ok {
		f.t.Fatalf("agent %s was offered nothing", agentID)
	}
	return o
}

// offeredTo lists, in order, the agents that got a help.offer.
func (f *fixture) offeredTo() []string {
	out := []string{}
	for _, n := range f.rec.all() {
		if _, ok := n.ev.(HelpOffer); ok {
			out = append(out, n.agent)
		}
	}
	return out
}

// wantCode checks that err is a refusal with code, or nil when code is "".
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected refusal: %v", err)
		}
		return
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want refusal %s", err, code)
	}
	if ce.Code != code {
		t.Fatalf("code = %s (%v), want %s", ce.Code, err, code)
	}
	if ce.Message == "" {
		t.Errorf("refusal %s has no message", code)
	}
}

// wantNothingChanged checks that nothing was recorded since the last reset.
func (f *fixture) wantNothingChanged() {
	f.t.Helper()
	if n := f.rec.all(); len(n) != 0 {
		f.t.Errorf("a refusal notified %d things, first %+v", len(n), n[0])
	}
}
