package call

// Counts is a point-in-time census of the center, for metrics.
type Counts struct {
	Calls   int
	Parties map[Role]int
	Agents  map[PresenceState]int
	Help    int // requests pending
}

// Counts counts calls, parties by role, agents by presence and pending
// help requests.
func (c *Center) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := Counts{Calls: len(c.calls), Parties: map[Role]int{}, Agents: map[PresenceState]int{}}
	for _, cs := range c.calls {
		for r := range cs.parties {
			n.Parties[r]++
		}
		if cs.help != nil {
			n.Help++
		}
	}
	for _, a := range c.agents {
		n.Agents[a.state]++
	}
	return n
}
