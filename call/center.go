package call

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// DefaultHelpTimeout is how long an offered agent has to answer.
const DefaultHelpTimeout = 20 * time.Second

// Dialer places calls to external numbers (SIP dial-out).
type Dialer interface {
	// Dial starts calling number for callID; the outcome comes back
	// through the Center later.
	Dial(callID, number string) error
}

// Params configures a Center.
type Params struct {
	Directory   Directory
	Notifier    Notifier      // required
	Clock       Clock         // nil: RealClock
	HelpTimeout time.Duration // 0: DefaultHelpTimeout
	VideoMode   VideoMode     // "": MCU
	Dialer      Dialer        // nil: number mode is refused
	MaxCalls    int           // 0: no limit
	NewID       func() string // nil: random ids
	// HelpEnded, when set, hears how each help request ended: "accepted"
	// or its failure reason. It runs under the center's lock (metrics).
	HelpEnded func(outcome string)
}

// Center holds every call and agent, and applies the product's rules. All
// its methods are safe for concurrent use; each runs under one lock.
type Center struct {
	dir         Directory
	notify      Notifier
	clock       Clock
	helpTimeout time.Duration
	videoMode   VideoMode
	dialer      Dialer
	maxCalls    int
	newID       func() string
	helpEnded   func(outcome string)

	mu         sync.Mutex
	seq        uint64 // of the last snapshot
	calls      map[string]*callState
	ended      map[string]bool
	endedOrder []string
	agents     map[string]*agentState
	agentOrder []string
}

// NewCenter returns a Center with no calls; every agent is offline.
func NewCenter(p Params) *Center {
	c := &Center{
		dir:         p.Directory,
		notify:      p.Notifier,
		clock:       p.Clock,
		helpTimeout: p.HelpTimeout,
		videoMode:   p.VideoMode,
		dialer:      p.Dialer,
		maxCalls:    p.MaxCalls,
		newID:       p.NewID,
		helpEnded:   p.HelpEnded,
		calls:       map[string]*callState{},
		ended:       map[string]bool{},
		agents:      map[string]*agentState{},
	}
	if c.clock == nil {
		c.clock = RealClock{}
	}
	if c.helpTimeout <= 0 {
		c.helpTimeout = DefaultHelpTimeout
	}
	if c.videoMode == "" {
		c.videoMode = MCU
	}
	if c.newID == nil {
		c.newID = randomID
	}
	if c.helpEnded == nil {
		c.helpEnded = func(string) {}
	}
	now := c.clock.Now()
	for _, a := range p.Directory.Agents {
		c.agents[a.ID] = &agentState{Agent: a, chosen: Idle, state: Offline, since: now}
		c.agentOrder = append(c.agentOrder, a.ID)
	}
	return c
}

// VideoMode is the server's video mode.
func (c *Center) VideoMode() VideoMode { return c.videoMode }

func randomID() string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// CreateCall opens a call between a customer and the named agent, as the
// contact center's routing would. The parties join it afterwards.
func (c *Center) CreateCall(customer, agentID string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.agents[agentID]; !ok {
		return "", refuse(CodeUnknownAgent, "no agent %q", agentID)
	}
	if c.maxCalls > 0 && len(c.calls) >= c.maxCalls {
		return "", refuse(CodeServerFull, "the server holds its maximum of %d calls", c.maxCalls)
	}
	id := c.newID()
	c.calls[id] = &callState{id: id, customer: customer, agentID: agentID, parties: map[Role]*party{}}
	return id, nil
}

// CallCount is how many calls are open.
func (c *Center) CallCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.calls)
}

// Snapshot returns a call's current state.
func (c *Center) Snapshot(callID string) (*Snapshot, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err := c.openCall(callID)
	if err != nil {
		return nil, err
	}
	return c.snapshot(cs), nil
}

// openCall finds a call that has not ended. Caller holds c.mu.
func (c *Center) openCall(id string) (*callState, error) {
	cs := c.calls[id]
	switch {
	case cs == nil && c.ended[id]:
		return nil, refuse(CodeCallEnded, "call %s has ended", id)
	case cs == nil:
		return nil, refuse(CodeCallNotFound, "no call %q", id)
	}
	return cs, nil
}

// partyOf finds a present party. Caller holds c.mu.
func (c *Center) partyOf(callID string, role Role) (*callState, *party, error) {
	cs, err := c.openCall(callID)
	if err != nil {
		return nil, nil, err
	}
	p := cs.parties[role]
	if p == nil {
		return nil, nil, refuse(CodePartyNotPresent, "no %s in call %s", role, callID)
	}
	return cs, p, nil
}
