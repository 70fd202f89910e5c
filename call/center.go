package call

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// DefaultHelpTimeout is how long an offered agent has to answer.
const DefaultHelpTimeout = 20 * time.Second

// DefaultRejoinGrace is how long a party whose connection dropped keeps its
// seat: long enough for a page to reload or a phone to change networks.
const DefaultRejoinGrace = 30 * time.Second

// DefaultJoinTimeout is how long a created call waits for its first
// party: routing hands out its links, and a call nobody takes up ends
// rather than hold a --max-calls slot for ever.
const DefaultJoinTimeout = 10 * time.Minute

// Dialer places calls to external numbers (SIP dial-out). It is called
// with the Center's lock held: it must not block, nor call the Center
// back before returning. What happens to a dial it reports through the
// Center's DialRinging, DialAnswered and DialFailed.
type Dialer interface {
	// Dial starts calling number, as the dial plan checked it, for help
	// request dial of call callID. An error fails the request at once
	// (gateway_error).
	Dial(callID, dial, number string) error
	// Hangup ends dial: a CANCEL while it rings, a BYE once answered. A
	// dial that already ended is no error.
	Hangup(dial string)
}

// Params configures a Center.
type Params struct {
	Directory   Directory
	Notifier    Notifier      // required
	Clock       Clock         // nil: RealClock
	HelpTimeout time.Duration // 0: DefaultHelpTimeout
	VideoMode   VideoMode     // "": MCU
	Dialer      Dialer        // nil: number mode is refused
	DialPlan    DialPlan      // the numbers Dialer may be given
	MaxCalls    int           // 0: no limit
	RejoinGrace time.Duration // 0: DefaultRejoinGrace
	JoinTimeout time.Duration // 0: DefaultJoinTimeout
	NewID       func() string // nil: random ids
	// HelpEnded, when set, hears how each help request ended: "accepted"
	// or its failure reason. It runs under the center's lock (metrics).
	HelpEnded func(outcome string)
}

// Center holds every call and agent, and applies the product's rules. All
// its methods are safe for concurrent use; each runs under one lock.
//
// One lock, not one per call or per agent, because every rule reads state
// from more than one of them: a join makes its agent busy and declines the
// offer ringing on it, a help offer picks among agents for a call, a
// sign-out moves a call's request on. One lock also keeps the Notifier's
// events in the order the changes happened. It is held only for in-memory
// bookkeeping once per signaling message or timeout, which costs nothing
// next to the media, whose path never takes it.
//
// Its methods are grouped by concern: the call registry (registry.go),
// parties joining and leaving (parties.go), seats kept while a party
// reconnects (rejoin.go), help-seeking (help.go), agents'
// presence, the directory and picking an agent from a queue (presence.go),
// the rules on video, audio, layout and share (rules.go), snapshots
// (snapshot.go) and counts for metrics (stats.go).
type Center struct {
	dir         Directory
	notify      Notifier
	clock       Clock
	helpTimeout time.Duration
	videoMode   VideoMode
	dialer      Dialer
	dialPlan    DialPlan
	maxCalls    int
	rejoinGrace time.Duration
	joinTimeout time.Duration
	newID       func() string
	helpEnded   func(outcome string)

	mu         sync.Mutex
	peers      Peers  // the other nodes of a cluster; nil alone
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
		dialPlan:    p.DialPlan,
		maxCalls:    p.MaxCalls,
		rejoinGrace: p.RejoinGrace,
		joinTimeout: p.JoinTimeout,
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
	if c.joinTimeout <= 0 {
		c.joinTimeout = DefaultJoinTimeout
	}
	if c.rejoinGrace <= 0 {
		c.rejoinGrace = DefaultRejoinGrace
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
