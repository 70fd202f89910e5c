package call

// Counts is a point-in-time census of the center, for metrics.
type Counts struct {
	Calls   int
	Parties map[Role]int
	Agents  map[PresenceState]int
	Help    int // requests pending
	// CallsByState counts calls by CallState.
	CallsByState map[CallState]int
	// PartiesByMedia counts parties by whether their video and audio are
	// on.
	PartiesByMedia map[MediaState]int
	Sharing        int // parties sharing their screen
	// Reconnecting counts parties whose seat waits for them to come back
	// (they are counted in Parties too).
	Reconnecting int
}

// CallState is where a call stands, for metrics: every open call is in
// exactly one.
type CallState string

// Call states.
const (
	// Waiting: fewer than two parties and no help on the way (created,
	// the parties not joined yet).
	Waiting CallState = "waiting"
	// TwoParty: two parties talk and no help is sought.
	TwoParty CallState = "two_party"
	// SeekingHelp: a help request is pending.
	SeekingHelp CallState = "seeking_help"
	// ThreeParty: three parties talk.
	ThreeParty CallState = "three_party"
)

// CallStates lists every CallState.
var CallStates = []CallState{Waiting, TwoParty, SeekingHelp, ThreeParty}

// MediaState is whether a party's camera and microphone are on.
type MediaState struct{ Video, Audio bool }

// state is the call's CallState.
func (cs *callState) state() CallState { return callStateOf(cs.help != nil, len(cs.parties)) }

// callStateOf is the CallState of a call with parties present and, if
// seeking, a help request pending.
func callStateOf(seeking bool, parties int) CallState {
	switch {
	case seeking:
		return SeekingHelp
	case parties >= 3:
		return ThreeParty
	case parties == 2:
		return TwoParty
	}
	return Waiting
}

// Counts counts calls (by state), parties (by role, by media and those
// reconnecting), agents by presence, pending help requests and screen
// shares.
func (c *Center) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := Counts{Calls: len(c.calls), Parties: map[Role]int{}, Agents: map[PresenceState]int{},
		CallsByState: map[CallState]int{}, PartiesByMedia: map[MediaState]int{}}
	for _, cs := range c.calls {
		n.CallsByState[cs.state()]++
		for r, p := range cs.parties {
			n.Parties[r]++
			n.PartiesByMedia[MediaState{Video: p.video, Audio: p.audio}]++
			if p.reconnecting {
				n.Reconnecting++
			}
		}
		if cs.help != nil {
			n.Help++
		}
		if cs.share != "" {
			n.Sharing++
		}
	}
	for _, a := range c.agents {
		n.Agents[a.state]++
	}
	return n
}
