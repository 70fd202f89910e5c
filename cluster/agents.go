package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
// Writes leave in order from one goroutine; Publish, Deliver and Reject
// only queue them, since the center calls them under its lock.
type Agents struct {
	c    *Cluster
	host AgentHost
	log  *slog.Logger

	qmu           sync.Mutex
	queue         []outgoing
	resyncPending bool // a resync is queued or under way
	wake          chan struct{}
	seq           uint64 // of the last facts written; owned by the writer

	// mu guards what the node has taken from the others: the sequence
	// number of the newest facts applied per node and agent.
	mu   sync.Mutex
	seen map[string]map[string]uint64

	pubsub    *redis.PubSub
	done      chan struct{}
	stopped   sync.WaitGroup
	closeOnce sync.Once
}

// outgoing is one queued write: facts to record and publish, or a
// message to another node's inbox.
type outgoing struct {
	agent string
	facts *call.AgentFacts
	node  string // inbox of
	msg   *inboxMessage
	sync  bool // write every agent's facts again, then read the others'
}

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
	a := &Agents{c: c, host: host, log: c.log, wake: make(chan struct{}, 1),
		seq: uint64(time.Now().UnixNano()), seen: map[string]map[string]uint64{}, done: make(chan struct{})}
	a.pubsub = c.rdb.Subscribe(context.Background(), c.key("agents"), c.inbox(c.opts.NodeID))
	a.stopped.Add(3)
	go a.write()
	go a.read()
	go a.tick()
	c.mu.Lock()
	c.agents = a
	c.mu.Unlock()
	return a
}

func (c *Cluster) inbox(node string) string    { return c.key("inbox", node) }
func (c *Cluster) factsKey(node string) string { return c.key("facts", node) }

// Publish implements call.Peers.
func (a *Agents) Publish(agentID string, f call.AgentFacts) {
	a.enqueue(outgoing{agent: agentID, facts: &f})
}

// Deliver implements call.Peers.
func (a *Agents) Deliver(node, agentID string, ev call.Event) {
	data, err := json.Marshal(ev)
	if err != nil {
		a.log.Error("agent event", "type", ev.EventType(), "err", err)
		return
	}
	a.enqueue(outgoing{node: node, msg: &inboxMessage{Agent: agentID, Kind: ev.EventType(), Event: data}})
}

// Reject implements call.Peers.
func (a *Agents) Reject(node, agentID, request string) {
	a.enqueue(outgoing{node: node, msg: &inboxMessage{Agent: agentID, Kind: kindReject, Request: request}})
}

func (a *Agents) enqueue(o outgoing) {
	a.qmu.Lock()
	if o.sync {
		if a.resyncPending {
			a.qmu.Unlock()
			return // one is queued: a slow Redis does not pile them up
		}
		a.resyncPending = true
	}
	a.queue = append(a.queue, o)
	a.qmu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *Agents) take() []outgoing {
	a.qmu.Lock()
	defer a.qmu.Unlock()
	q := a.queue
	a.queue = nil
	return q
}

// write sends the queued writes in order until Close, then what is left.
func (a *Agents) write() {
	defer a.stopped.Done()
	for {
		select {
		case <-a.wake:
			a.send(a.take())
		case <-a.done:
			a.send(a.take())
			return
		}
	}
}

func (a *Agents) send(q []outgoing) {
	for _, o := range q {
		ctx, cancel := context.WithTimeout(context.Background(), a.c.opts.Heartbeat)
		var err error
		switch {
		case o.sync:
			err = a.resync(ctx)
			a.qmu.Lock()
			a.resyncPending = false
			a.qmu.Unlock()
		case o.facts != nil:
			err = a.writeFacts(ctx, map[string]call.AgentFacts{o.agent: *o.facts}, true)
		default:
			o.msg.From = a.c.opts.NodeID
			err = a.post(ctx, o.node, o.msg)
		}
		cancel()
		if err != nil {
			a.log.Warn("cluster agents", "err", err)
		}
	}
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

func (a *Agents) post(ctx context.Context, node string, m *inboxMessage) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := a.c.rdb.Publish(ctx, a.c.inbox(node), data).Err(); err != nil {
		return unavailable(err)
	}
	return nil
}

// tick has the writer write the node's facts again and read the others'
// every heartbeat.
func (a *Agents) tick() {
	defer a.stopped.Done()
	t := time.NewTicker(a.c.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
			a.enqueue(outgoing{sync: true})
		}
	}
}

// resync writes this node's facts again (they expire with its heartbeat;
// a Redis that restarted lost them), reads every live node's, and
// forgets the nodes that are no longer live.
func (a *Agents) resync(ctx context.Context) error {
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
		for agent, data := range all {
			var m factsMessage
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				return fmt.Errorf("cluster: node %s's facts of %s: %w", node, agent, err)
			}
			a.apply(node, agent, m)
		}
	}
	a.forgetAllBut(live)
	return nil
}

// apply hands the host another node's facts unless newer ones came
// first.
func (a *Agents) apply(node, agent string, m factsMessage) {
	a.mu.Lock()
	defer a.mu.Unlock()
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

// forgetAllBut forgets the facts of every node not in live.
func (a *Agents) forgetAllBut(live []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	alive := map[string]bool{}
	for _, n := range live {
		alive[n] = true
	}
	for node := range a.seen {
		if !alive[node] {
			delete(a.seen, node)
			a.log.Warn("a node stopped heartbeating: its agents' facts are forgotten", "dead_node", node)
			a.host.ForgetPeer(node)
		}
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
