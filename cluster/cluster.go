// Package cluster makes threeway servers one service through Redis: each
// node registers itself under a key with a short TTL, refreshed by a
// heartbeat that carries its load; a call lives on one node, and the
// cluster knows which (the call list). Any node places a new call on the
// node with the most headroom and finds the node of a call a client asks
// for. It is the only package that talks to Redis.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for Options' zero fields.
const (
	DefaultHeartbeat = time.Second
	DefaultTTL       = 3 * time.Second
	// keyPrefix namespaces every key; one Redis may serve several
	// clusters under different prefixes (Options.Prefix).
	keyPrefix = "threeway"
)

// Errors a caller tells apart.
var (
	// ErrUnavailable: Redis cannot be reached; running calls go on, new
	// ones cannot be placed.
	ErrUnavailable = errors.New("cluster: redis unavailable")
	// ErrNoNode: every node is draining or full.
	ErrNoNode = errors.New("cluster: no node can take a call")
	// ErrNoCall: no node holds the call.
	ErrNoCall = errors.New("cluster: no such call")
)

// unavailable wraps a Redis error as ErrUnavailable.
func unavailable(err error) error { return fmt.Errorf("%w: %w", ErrUnavailable, err) }

// Options configures a node's membership.
type Options struct {
	RedisURL string // redis://host:port/db
	NodeID   string
	// URL is where the other nodes reach this node's HTTP API and /ws,
	// e.g. http://10.0.0.5:8080.
	URL string
	// MaxCalls is the node's capacity (--max-calls); 0: no limit but its
	// CPU.
	MaxCalls int
	// Directory is the digest of the node's directory
	// (call.Directory.Digest); a node whose differs is warned of.
	Directory string
	// Heartbeat is how often the node refreshes its key; TTL how long the
	// key lives without a refresh, after which the node is dead.
	Heartbeat, TTL time.Duration
	// Prefix namespaces the keys; "" is "threeway".
	Prefix string
	// Load reports the node's calls and CPU now; called every heartbeat.
	Load   func() Load
	Logger *slog.Logger
}

// Load is what a node measures of itself.
type Load struct {
	Calls      int
	Cores      float64 // CPU cores the node may use
	CPUSeconds float64 // the process's CPU time so far (user+system)
}

// Cluster is this node's membership: its heartbeat, and reads of the
// other nodes and of the call list.
type Cluster struct {
	opts Options
	rdb  *redis.Client
	log  *slog.Logger

	mu       sync.Mutex
	draining bool
	// otherDirectory remembers, by node, a different directory digest
	// already warned of.
	otherDirectory map[string]string
	last           Load      // at the previous heartbeat
	lastAt         time.Time // when
	cpu            float64   // cores in use, over the last heartbeat period
	agents         *Agents   // ShareAgents's

	reachable atomic.Bool // the last heartbeat reached Redis

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open connects to Redis, checks it answers, and starts the heartbeat;
// Close stops it and takes the node out.
func Open(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.NodeID == "" || opts.URL == "" {
		return nil, fmt.Errorf("cluster: node id and URL are required")
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Prefix == "" {
		opts.Prefix = keyPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ro, err := redis.ParseURL(opts.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("cluster: redis URL %q: %w", opts.RedisURL, err)
	}
	// Short timeouts: a Redis that does not answer must not hold up a
	// call's signaling, which goes on without it.
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = time.Second, time.Second, time.Second
	ro.MaxRetries, ro.DialerRetries = 1, 1
	redisLogger.set(opts.Logger)
	c := &Cluster{opts: opts, rdb: redis.NewClient(ro), log: opts.Logger.With("node", opts.NodeID),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := c.beat(ctx); err != nil {
		_ = c.rdb.Close()
		return nil, err
	}
	go c.run()
	return c, nil
}

// redisLogger takes go-redis's own log lines (its connection pool's
// failed dials), which it writes to stderr otherwise, at Debug: the
// errors reach the callers, who log them once.
var redisLogger = &logAdapter{}

type logAdapter struct {
	once sync.Once
	log  *slog.Logger
}

func (a *logAdapter) set(log *slog.Logger) {
	a.once.Do(func() {
		a.log = log
		redis.SetLogger(a)
	})
}

func (a *logAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// NodeID is this node's name in the cluster.
func (c *Cluster) NodeID() string { return c.opts.NodeID }

// SetDraining marks the node as taking no new calls (SIGTERM), from its
// next heartbeat, which it sends at once.
func (c *Cluster) SetDraining(on bool) {
	c.mu.Lock()
	c.draining = on
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.beat(ctx); err != nil {
		c.log.Warn("heartbeat", "err", err)
	}
}

// Close stops the heartbeat and takes the node out, so that no call is
// placed on it any more; its calls' records go with the calls. A node
// that stops without Close is dead once its key expires: a live node
// then ends its calls on the list (reapDead).
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		<-c.stopped
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if a := c.sharedAgents(); a != nil {
			a.close(ctx)
		}
		pipe := c.rdb.TxPipeline() // a node that leaves is not dead: nobody reaps it
		pipe.Del(ctx, c.nodeKey(c.opts.NodeID))
		pipe.SRem(ctx, c.key("nodes"), c.opts.NodeID)
		_, c.closeErr = pipe.Exec(ctx)
		if err := c.rdb.Close(); c.closeErr == nil {
			c.closeErr = err
		}
	})
	return c.closeErr
}

func (c *Cluster) run() {
	defer close(c.stopped)
	t := time.NewTicker(c.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if a := c.sharedAgents(); a != nil {
				a.askResync()
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.Heartbeat)
			if err := c.beat(ctx); err != nil {
				c.log.Warn("heartbeat", "err", err)
			} else if err := c.reapDead(ctx); err != nil {
				c.log.Warn("reap dead nodes", "err", err)
			} else if err := c.compareDirectories(ctx); err != nil {
				c.log.Warn("compare directories", "err", err)
			}
			cancel()
		}
	}
}

// beat writes the node's record with its load, under a key that lives
// TTL.
func (c *Cluster) beat(ctx context.Context) error {
	n := c.measure()
	data, err := json.Marshal(n)
	if err != nil {
		return err
	}
	pipe := c.rdb.TxPipeline()
	pipe.Set(ctx, c.nodeKey(n.ID), data, c.opts.TTL)
	pipe.SAdd(ctx, c.key("nodes"), n.ID)
	_, err = pipe.Exec(ctx)
	c.reachable.Store(err == nil)
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// sharedAgents is ShareAgents's, or nil.
func (c *Cluster) sharedAgents() *Agents {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agents
}

// Reachable tells whether the node's last heartbeat reached Redis: while
// it does not, nothing that needs the other nodes (a new call, a help
// request) can be done.
func (c *Cluster) Reachable() bool { return c.reachable.Load() }

// measure is the node's record now: its calls, and the CPU it used per
// second since the last heartbeat.
func (c *Cluster) measure() Node {
	var load Load
	if c.opts.Load != nil {
		load = c.opts.Load()
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lastAt.IsZero() {
		if d := now.Sub(c.lastAt).Seconds(); d > 0 {
			c.cpu = (load.CPUSeconds - c.last.CPUSeconds) / d
		}
	}
	c.last, c.lastAt = load, now
	return Node{ID: c.opts.NodeID, URL: c.opts.URL, Calls: load.Calls, MaxCalls: c.opts.MaxCalls,
		Cores: load.Cores, CPU: c.cpu, Draining: c.draining, Directory: c.opts.Directory, At: now}
}

// compareDirectories warns, once per node and digest, of a live node
// whose directory differs from this node's: agents and queues are shared
// by id, so an agent one node lacks is neither offered help nor shown
// there.
func (c *Cluster) compareDirectories(ctx context.Context) error {
	if c.opts.Directory == "" {
		return nil
	}
	live, err := c.liveNodes(ctx)
	if err != nil {
		return err
	}
	for _, id := range live {
		n, err := c.node(ctx, id)
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return err
		}
		if n.Directory == "" || n.Directory == c.opts.Directory || !c.firstWarning(id, n.Directory) {
			continue
		}
		c.log.Error("another node's directory differs from this node's: start every node with the same --directory, or agents and queues one node lacks are neither shown nor offered help there",
			"other_node", id, "other_directory", n.Directory, "directory", c.opts.Directory)
	}
	return nil
}

// firstWarning notes that node has directory digest, and tells whether
// that is news.
func (c *Cluster) firstWarning(node, digest string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.otherDirectory[node] == digest {
		return false
	}
	if c.otherDirectory == nil {
		c.otherDirectory = map[string]string{}
	}
	c.otherDirectory[node] = digest
	return true
}

// liveNodes are the ids of the nodes whose heartbeat key has not
// expired, sorted.
func (c *Cluster) liveNodes(ctx context.Context) ([]string, error) {
	live, _, err := c.members(ctx)
	return live, err
}

// members are the ids of the node set, sorted, split into the live and
// the dead (whose heartbeat key expired, not yet reaped).
func (c *Cluster) members(ctx context.Context) (live, dead []string, err error) {
	ids, err := c.rdb.SMembers(ctx, c.key("nodes")).Result()
	if err != nil {
		return nil, nil, unavailable(err)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n, err := c.rdb.Exists(ctx, c.nodeKey(id)).Result()
		if err != nil {
			return nil, nil, unavailable(err)
		}
		if n == 1 {
			live = append(live, id)
		} else {
			dead = append(dead, id)
		}
	}
	return live, dead, nil
}

// Nodes are the live nodes (their keys have not expired), by id.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	ids, err := c.rdb.SMembers(ctx, c.key("nodes")).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	sort.Strings(ids)
	var nodes []Node
	for _, id := range ids {
		n, err := c.node(ctx, id)
		if errors.Is(err, redis.Nil) {
			continue // dead: its key expired
		}
		if err != nil {
			return nil, err
		}
		listed, err := c.listedCalls(ctx, id)
		if err != nil {
			return nil, err
		}
		n.Calls = max(n.Calls, listed)
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// node reads node id's heartbeat record; redis.Nil if it expired.
func (c *Cluster) node(ctx context.Context, id string) (Node, error) {
	var n Node
	return n, c.record(ctx, c.nodeKey(id), &n)
}

// record reads the JSON record under key into v: redis.Nil if there is
// none, ErrUnavailable if Redis does not answer.
func (c *Cluster) record(ctx context.Context, key string, v any) error {
	data, err := c.rdb.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return err
	case err != nil:
		return unavailable(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("cluster: the record %s: %w", key, err)
	}
	return nil
}

// Place picks the node for a new call: the one with the most headroom,
// never a draining or full one.
func (c *Cluster) Place(ctx context.Context) (Node, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return Node{}, err
	}
	best, found := Node{}, false
	for _, n := range nodes {
		if n.Draining || n.Headroom() <= 0 {
			continue
		}
		if !found || n.Headroom() > best.Headroom() {
			best, found = n, true
		}
	}
	if !found {
		return Node{}, ErrNoNode
	}
	return best, nil
}

func (c *Cluster) key(parts ...string) string {
	k := c.opts.Prefix
	for _, p := range parts {
		k += ":" + p
	}
	return k
}

func (c *Cluster) nodeKey(id string) string { return c.key("node", id) }
