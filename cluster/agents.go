package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/threeway-mcu/threeway/call"
)

// AgentHost is the call center whose agents a node shares: a
// *call.Center.
type AgentHost interface {
	SetPeerAgent(node, agentID string, f call.AgentFacts)
	ForgetPeer(node string)
	AgentFacts() map[string]call.AgentFacts
	DeliverToAgent(agentID string, ev call.Event)
	RejectHelp(agentID, request string) error
}

// Agents shares a node's agents with the others; it is the center's
// call.Peers. Each node keeps its facts about each agent in a hash of
// its own (agent → facts, with a sequence number), which lives as long
// as the node's heartbeat, and publishes each change on a channel every
// node reads. A node also reads the others' hashes every heartbeat, so a
// message missed while Redis was away is made good, and forgets the
// facts of a node whose heartbeat stopped. Offers, their withdrawals and
// rejections go to the node concerned on its inbox channel.
//
// Writes leave from one goroutine; Publish, Deliver and Reject only queue
// them, since the center calls them under its lock. The queue holds the
// latest facts of each agent and messages not yet stale, so a Redis that
// is slow or away does not make it grow.
type Agents struct {
	c    *Cluster
	host AgentHost
	log  *slog.Logger

	// What the writer has still to do, under qmu: the latest facts of
	// each agent (older ones are never worth writing), messages to other
	// nodes, and whether a resync is due. resyncs counts those done.
	qmu      sync.Mutex
	facts    map[string]call.AgentFacts
	messages []outgoing
	resync   bool
	resyncs  int
	wake     chan struct{}

	// Owned by the writer.
	seq        uint64    // of the last facts written
	lastSynced time.Time // the last resync that reached Redis

	// mu guards what the node has taken from the others: the sequence
	// number of the newest facts applied per node and agent, resyncs in a
	// row that found a node not live, and the nodes forgotten since.
	mu     sync.Mutex
	seen   map[string]map[string]uint64
	missed map[string]int
	gone   map[string]bool

	pubsub    *redis.PubSub
	done      chan struct{}
	stopped   sync.WaitGroup
	closeOnce sync.Once
}

// outgoing is a message queued for another node's inbox.
type outgoing struct {
	node string
	msg  *inboxMessage
	at   time.Time
}

// staleMessage is how old a message to another node may get in the
// queue (Redis slow or away) before it is dropped rather than sent: an
// offer or withdrawal that late would mislead the console.
const staleMessage = 5 * time.Second

// deadAfter is how many resyncs in a row must find a node's heartbeat
// key gone before its facts are forgotten: one could be a Redis that
// restarted and has not heard every heartbeat again yet.
const deadAfter = 2

// factsMessage is a node's facts about an agent, on the agents channel
// and (without Node) in the node's hash.
type factsMessage struct {
	Node  string          `json:"node,omitempty"`
	Agent string          `json:"agent,omitempty"`
	Seq   uint64          `json:"seq"`
	Facts call.AgentFacts `json:"facts"`
}

// inboxMessage is what one node sends another about an agent.
type inboxMessage struct {
	From    string          `json:"from"`
	Agent   string          `json:"agent"`
	Kind    string          `json:"kind"` // an event type, or "help.reject"
	Event   json.RawMessage `json:"event,omitempty"`
	Request string          `json:"request,omitempty"`
}

const kindReject = "help.reject"

// ShareAgents starts sharing host's agents with the cluster's other nodes
// and returns the center's Peers. Close stops it.
func (c *Cluster) ShareAgents(host AgentHost) *Agents {
	a := &Agents{c: c, host: host, log: c.log, facts: map[string]call.AgentFacts{}, wake: make(chan struct{}, 1),
		seq: uint64(time.Now().UnixNano()), lastSynced: time.Now(),
		seen: map[string]map[string]uint64{}, missed: map[string]int{}, gone: map[string]bool{}, done: make(chan struct{})}
	a.pubsub = c.subscribe(c.key("agents"), c.inbox(c.opts.NodeID))
	a.stopped.Add(2)
	go a.write()
	go a.read()
	c.mu.Lock()
	c.agents = a
	c.mu.Unlock()
	return a
}

// subscribe subscribes to channels and waits (a heartbeat at most) until
// Redis confirms each, so that nothing published from then on is missed;
// the resyncs make good what a subscription not yet confirmed misses.
func (c *Cluster) subscribe(channels ...string) *redis.PubSub {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Heartbeat)
	defer cancel()
	ps := c.rdb.Subscribe(ctx, channels...)
	for range channels {
		if _, err := ps.Receive(ctx); err != nil {
			c.log.Warn("cluster agents: subscribe", "err", err)
			break
		}
	}
	return ps
}

func (c *Cluster) inbox(node string) string    { return c.key("inbox", node) }
func (c *Cluster) factsKey(node string) string { return c.key("facts", node) }

// Publish implements call.Peers.
func (a *Agents) Publish(agentID string, f call.AgentFacts) {
	a.qmu.Lock()
	a.facts[agentID] = f
	a.qmu.Unlock()
	a.poke()
}

// Deliver implements call.Peers.
func (a *Agents) Deliver(node, agentID string, ev call.Event) {
	data, err := json.Marshal(ev)
	if err != nil {
		a.log.Error("agent event", "type", ev.EventType(), "err", err)
		return
	}
	a.queueMessage(node, &inboxMessage{Agent: agentID, Kind: ev.EventType(), Event: data})
}

// Reject implements call.Peers.
func (a *Agents) Reject(node, agentID, request string) {
	a.queueMessage(node, &inboxMessage{Agent: agentID, Kind: kindReject, Request: request})
}

func (a *Agents) queueMessage(node string, m *inboxMessage) {
	a.qmu.Lock()
	a.messages = append(a.messages, outgoing{node: node, msg: m, at: time.Now()})
	a.qmu.Unlock()
	a.poke()
}

// askResync has the writer resync soon (every heartbeat); one pending at
// a time.
func (a *Agents) askResync() {
	a.qmu.Lock()
	a.resync = true
	a.qmu.Unlock()
	a.poke()
}

func (a *Agents) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (a *Agents) take() (facts map[string]call.AgentFacts, messages []outgoing, resync bool) {
	a.qmu.Lock()
	defer a.qmu.Unlock()
	facts, messages, resync = a.facts, a.messages, a.resync
	a.facts, a.messages, a.resync = map[string]call.AgentFacts{}, nil, false
	return facts, messages, resync
}

// write does the queued writes until Close, then sends what messages it
// can in a second; the node's facts go with it.
func (a *Agents) write() {
	defer a.stopped.Done()
	for {
		select {
		case <-a.wake:
			a.flush()
		case <-a.done:
			_, messages, _ := a.take()
			a.post(messages, time.Now().Add(time.Second))
			return
		}
	}
}

// flush writes the facts queued, then the messages, then resyncs if due.
func (a *Agents) flush() {
	facts, messages, resync := a.take()
	if len(facts) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), a.c.opts.Heartbeat)
		// A failed write is made good by the next resync's.
		if err := a.writeFacts(ctx, facts, true); err != nil {
			a.log.Warn("cluster agents: publish facts", "agents", len(facts), "err", err)
		}
		cancel()
	}
	a.post(messages, time.Time{})
	if resync {
		a.resyncNow()
	}
}

// post sends messages to other nodes' inboxes, dropping those gone stale
// and, once Redis is known to be away or the deadline (if any) passed,
// the rest.
func (a *Agents) post(messages []outgoing, deadline time.Time) {
	for _, o := range messages {
		if time.Since(o.at) > staleMessage || !a.c.Reachable() || (!deadline.IsZero() && time.Now().After(deadline)) {
			a.log.Warn("cluster agents: a message to another node dropped", "node", o.node, "kind", o.msg.Kind,
				"agent", o.msg.Agent, "reachable", a.c.Reachable())
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), a.c.opts.Heartbeat)
		o.msg.From = a.c.opts.NodeID
		if err := a.postOne(ctx, o.node, o.msg); err != nil {
			a.log.Warn("cluster agents: a message to another node", "node", o.node, "kind", o.msg.Kind, "err", err)
		}
		cancel()
	}
}

// resyncNow resyncs; while Redis stays away for longer than the TTL, the
// other nodes have forgotten this one, and it forgets them.
func (a *Agents) resyncNow() {
	ctx, cancel := context.WithTimeout(context.Background(), a.c.opts.Heartbeat)
	defer cancel()
	err := a.resyncOnce(ctx)
	switch {
	case err == nil:
		a.lastSynced = time.Now()
	case time.Since(a.lastSynced) > a.c.opts.TTL:
		a.log.Warn("cluster agents: Redis away past the TTL: the other nodes' facts are forgotten", "err", err)
		a.forgetMissing(nil, true)
	default:
		a.log.Warn("cluster agents: resync", "err", err)
	}
	a.qmu.Lock()
	a.resyncs++
	a.qmu.Unlock()
}

// writeFacts records facts in the node's hash, which lives as long as
// its heartbeat key, and publishes each change when announce is set.
func (a *Agents) writeFacts(ctx context.Context, facts map[string]call.AgentFacts, announce bool) error {
	me := a.c.opts.NodeID
	pipe := a.c.rdb.TxPipeline()
	for agent, f := range facts {
		a.seq++
		m := factsMessage{Seq: a.seq, Facts: f}
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		pipe.HSet(ctx, a.c.factsKey(me), agent, data)
		if announce {
			m.Node, m.Agent = me, agent
			if data, err = json.Marshal(m); err != nil {
				return err
			}
			pipe.Publish(ctx, a.c.key("agents"), data)
		}
	}
	pipe.PExpire(ctx, a.c.factsKey(me), a.c.opts.TTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

func (a *Agents) postOne(ctx context.Context, node string, m *inboxMessage) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := a.c.rdb.Publish(ctx, a.c.inbox(node), data).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// resyncOnce writes this node's facts again (they expire with its
// heartbeat; a Redis that restarted lost them), reads every live node's,
// and forgets the nodes no longer live.
func (a *Agents) resyncOnce(ctx context.Context) error {
	if err := a.writeFacts(ctx, a.host.AgentFacts(), false); err != nil {
		return err
	}
	live, err := a.c.liveNodes(ctx)
	if err != nil {
		return err
	}
	for _, node := range live {
		if node == a.c.opts.NodeID {
			continue
		}
		all, err := a.c.rdb.HGetAll(ctx, a.c.factsKey(node)).Result()
		if err != nil {
			return unavailable(err)
		}
		a.revive(node)
		for agent, data := range all {
			var m factsMessage
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				return fmt.Errorf("cluster: node %s's facts of %s: %w", node, agent, err)
			}
			a.apply(node, agent, m)
		}
	}
	a.forgetMissing(live, false)
	return nil
}

// revive takes a node found live back from the forgotten.
func (a *Agents) revive(node string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.gone, node)
	delete(a.missed, node)
}

// apply hands the host another node's facts unless newer ones came
// first, or the node was forgotten (a late message of a dead node).
func (a *Agents) apply(node, agent string, m factsMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gone[node] {
		return
	}
	seen := a.seen[node]
	if seen == nil {
		seen = map[string]uint64{}
		a.seen[node] = seen
	}
	if m.Seq <= seen[agent] {
		return
	}
	seen[agent] = m.Seq
	a.host.SetPeerAgent(node, agent, m.Facts)
}

// forgetMissing forgets the facts of each node not in live for deadAfter
// resyncs in a row, or at once (now).
func (a *Agents) forgetMissing(live []string, now bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for node := range a.seen {
		if slices.Contains(live, node) {
			continue
		}
		if a.missed[node]++; a.missed[node] < deadAfter && !now {
			continue
		}
		delete(a.seen, node)
		delete(a.missed, node)
		a.gone[node] = true
		a.log.Warn("a node stopped heartbeating: its agents' facts are forgotten", "dead_node", node)
		a.host.ForgetPeer(node)
	}
}

// read takes the other nodes' facts and this node's inbox as they come.
func (a *Agents) read() {
	defer a.stopped.Done()
	for msg := range a.pubsub.Channel() {
		if err := a.receive(msg); err != nil {
			a.log.Warn("cluster agents: a message", "channel", msg.Channel, "err", err)
		}
	}
}

func (a *Agents) receive(msg *redis.Message) error {
	if msg.Channel == a.c.key("agents") {
		var m factsMessage
		if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil {
			return err
		}
		if m.Node != a.c.opts.NodeID {
			a.apply(m.Node, m.Agent, m)
		}
		return nil
	}
	var m inboxMessage
	if err := json.Unmarshal([]byte(msg.Payload), &m); err != nil {
		return err
	}
	switch m.Kind {
	case kindReject:
		if err := a.host.RejectHelp(m.Agent, m.Request); err != nil {
			// The request ended meanwhile (answered, timed out).
			a.log.Debug("a rejection from another node", "from", m.From, "agent", m.Agent, "err", err)
		}
		return nil
	case call.HelpOffer{}.EventType():
		return deliver[call.HelpOffer](a.host, m)
	case call.HelpWithdrawn{}.EventType():
		return deliver[call.HelpWithdrawn](a.host, m)
	}
	return fmt.Errorf("unknown kind %q from %s", m.Kind, m.From)
}

func deliver[E call.Event](host AgentHost, m inboxMessage) error {
	var ev E
	if err := json.Unmarshal(m.Event, &ev); err != nil {
		return err
	}
	host.DeliverToAgent(m.Agent, ev)
	return nil
}

// close stops sharing: what is queued is written, and the node's facts
// are taken out (the others forget them when its heartbeat key goes).
func (a *Agents) close(ctx context.Context) {
	a.closeOnce.Do(func() {
		close(a.done)
		_ = a.pubsub.Close() // ends read
		a.stopped.Wait()
		_ = a.c.rdb.Del(ctx, a.c.factsKey(a.c.opts.NodeID)).Err()
	})
}
