package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

// runner holds one run's state.
type runner struct {
	params   Params
	api      *api   // the first server's: agents, console tokens
	apis     []*api // every server's, by Params.Servers
	wsURL    string // the first server's /ws
	queue    string
	mu       sync.Mutex
	helpers  map[string]*peer.Peer // signed-in consoles by agent id
	calls    []*callRun
	meter    *meter
	progress *progress
}

// Run holds Params.Calls three-party calls for Params.Duration after
// ramping them up, and reports what every stream saw. Calls the server
// refuses are reported, not waited for.
func Run(ctx context.Context, p Params) (*Result, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &runner{
		params:   p,
		wsURL:    wsURLOf(p.Server),
		helpers:  map[string]*peer.Peer{},
		progress: newProgress(p.Progress),
	}
	for _, s := range p.Servers {
		r.apis = append(r.apis, &api{base: s, key: p.APIKey, http: &http.Client{Timeout: 10 * time.Second}})
	}
	r.api = r.apis[0]
	defer r.close()
	// Encode the parties' loops now, not in the first call's joins.
	if err := peer.Prepare(r.peerConfig("", "", ""), roles...); err != nil {
		return nil, err
	}
	callAgents, helperAgents, err := r.pickAgents(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.signInHelpers(ctx, helperAgents); err != nil {
		return nil, err
	}
	r.meter = newMeter(r)
	r.meter.start(ctx)
	started := time.Now()
	r.rampUp(ctx, callAgents)
	r.meter.hold(ctx)
	select {
	case <-time.After(p.Duration):
	case <-ctx.Done():
	}
	res := r.meter.stop(context.WithoutCancel(ctx))
	r.progress.done()
	for _, c := range r.calls {
		c.tearDown()
	}
	res.Calls = p.Calls
	res.DurationS = time.Since(started).Seconds()
	r.checkSLOs(res)
	return res, nil
}

// pickAgents chooses the helpers (signed in, with the queue's skill) and
// the calls' agents (the rest), one of each per call.
func (r *runner) pickAgents(ctx context.Context) (callAgents, helpers []string, err error) {
	agents, err := r.api.agents(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list agents: %w", err)
	}
	r.queue = r.params.Queue
	if r.queue == "" {
		r.queue = largestQueue(agents)
	}
	var rest []string
	for _, a := range agents {
		if len(helpers) < r.params.Calls && slices.Contains(a.Skills, r.queue) && a.State != "busy" {
			helpers = append(helpers, a.ID)
			continue
		}
		rest = append(rest, a.ID)
	}
	if len(helpers) < r.params.Calls || len(rest) < r.params.Calls {
		return nil, nil, fmt.Errorf("%w: %d calls need %d agents with skill %q and %d more; the server lists %d agents (run it with a larger --directory)",
			ErrParams, r.params.Calls, r.params.Calls, r.queue, r.params.Calls, len(agents))
	}
	return rest[:r.params.Calls], helpers, nil
}

func largestQueue(agents []agentInfo) string {
	count := map[string]int{}
	best := ""
	for _, a := range agents {
		for _, s := range a.Skills {
			count[s]++
			if count[s] > count[best] || (count[s] == count[best] && s < best) {
				best = s
			}
		}
	}
	return best
}

// signInHelpers opens one auto-accepting console per helper agent; over
// a cluster they sign in on each node in turn, and are offered help for
// calls on any node.
func (r *runner) signInHelpers(ctx context.Context, ids []string) error {
	for i, id := range ids {
		if err := r.signInHelper(ctx, id, wsURLOf(r.params.Servers[i%len(r.params.Servers)])); err != nil {
			return err
		}
	}
	return nil
}

// signInHelper opens helper id's auto-accepting console on the server of
// wsURL.
func (r *runner) signInHelper(ctx context.Context, id, wsURL string) error {
	token, err := r.api.consoleToken(ctx, id)
	if err != nil {
		return fmt.Errorf("console token for %s: %w", id, err)
	}
	// Helpers join as the third party.
	cfg := r.camera(peer.Config{URL: wsURL, Name: id, Loopback: r.params.Loopback, AutoAccept: true,
		Reconnect: true, Network: r.params.Impair["third"], Logger: r.params.Logger})
	p, err := peer.Connect(ctx, cfg)
	if err != nil {
		return fmt.Errorf("console %s: %w", id, err)
	}
	r.mu.Lock()
	r.helpers[id] = p
	r.mu.Unlock()
	if err := p.SignIn(ctx, token); err != nil {
		return fmt.Errorf("console %s signs in: %w", id, err)
	}
	return nil
}

// clustered tells whether the run spreads over several nodes.
func (r *runner) clustered() bool { return len(r.apis) > 1 }

// wsURLOf is the signaling WebSocket of a server's base URL.
func wsURLOf(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

// rampUp starts the calls at the ramp rate, each on its own goroutine, and
// waits until all are up or failed.
func (r *runner) rampUp(ctx context.Context, agents []string) {
	interval := time.Duration(float64(time.Second) / r.params.Ramp)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var wg sync.WaitGroup
	for i, agent := range agents {
		c := &callRun{index: i, peers: map[string]*peer.Peer{}, started: map[string]time.Time{}}
		r.calls = append(r.calls, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			setupCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			r.setUp(setupCtx, c, agent)
			r.meter.ready(c)
		}()
		if i < len(agents)-1 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}
	wg.Wait()
}

func (r *runner) close() {
	for _, c := range r.calls {
		for role, p := range c.peers {
			if role != "third" {
				p.Close()
			}
		}
	}
	for _, p := range r.helpers {
		p.Close()
	}
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scrape reads every server's /metrics: one server's sample, or the sum
// of a cluster's nodes, each also kept by its node id (or URL).
func (r *runner) scrape(ctx context.Context) processSample {
	if !r.clustered() {
		return r.api.scrape(ctx)
	}
	var sum processSample
	for _, a := range r.apis {
		n := a.scrape(ctx)
		key := n.Node
		if key == "" {
			key = a.base
		}
		sum.merge(n, key)
	}
	sum.At = time.Now()
	return sum
}
