package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

// roles are the parties of every call, in tile order, as peer names them.
var roles = peer.Roles()

// callRun is one synthetic three-party call.
type callRun struct {
	index int
	id    string
	node  string                // the node the call was placed on
	peers map[string]*peer.Peer // by role; "third" is a helper console
	// started is when each role connected: its join began, or, for the
	// helper, the help offer it accepted at once arrived.
	started map[string]time.Time
	// helpAt is when the agent asked for help, helpJoinedAt when the
	// helper's `joined` arrived.
	helpAt, helpJoinedAt time.Time
	refused              string // the server's refusal code, if any
	err                  error
}

// setUp walks the product's path: the API creates the call, customer and
// agent join, the agent asks the queue for help, and a helper console
// accepts (automatically) and joins as the third party.
func (r *runner) setUp(ctx context.Context, c *callRun, agent string) {
	// In a cluster the calls are created through every node in turn, and
	// their parties join through the next one (which relays them).
	api := r.apis[c.index%len(r.apis)]
	links, err := api.createCall(ctx, fmt.Sprintf("Load Customer %d", c.index), agent)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			c.refused = ae.Code
		}
		c.err = fmt.Errorf("create call: %w", err)
		return
	}
	c.id, c.node = links.Call, links.Node
	for _, j := range []struct{ role, token string }{{"customer", links.Customer.Token}, {"agent", links.Agent.Token}} {
		c.started[j.role] = time.Now()
		cfg := r.peerConfig(c.id, j.role, j.token)
		cfg.URL = wsURLOf(r.params.Servers[(c.index+1)%len(r.params.Servers)])
		p, err := peer.Join(ctx, cfg)
		if err != nil {
			var se *peer.ServerError
			if errors.As(err, &se) {
				c.refused = se.Code
			}
			c.err = fmt.Errorf("%s joins: %w", j.role, err)
			return
		}
		c.peers[j.role] = p
	}
	c.helpAt = time.Now()
	if err := c.peers["agent"].Send(map[string]string{"type": "help.request", "mode": "queue", "queue": r.queue}); err != nil {
		c.err = fmt.Errorf("help request: %w", err)
		return
	}
	helper, err := r.helperFor(ctx, c)
	if err != nil {
		c.err = err
		return
	}
	c.peers["third"] = helper
	if c.err = r.chooseLayouts(c); c.err == nil {
		c.err = c.waitForPictures(ctx, r.focusOf)
	}
}

// focusOf is the party role's chosen layout makes large ("" for equal
// tiles).
func (r *runner) focusOf(role string) string {
	switch {
	case r.params.Layout == Maximize:
		return "customer"
	case r.params.Layout == Mixed && role == "customer":
		return "agent"
	case r.params.Layout == Mixed && role == "agent":
		return "customer"
	}
	return ""
}

// waitForPictures waits until every party has decoded pictures since the
// layouts were chosen, in its chosen layout, so that the call counts as up
// (and its streams are watched for freezes and gaps) once its media flows
// as it will for the hold: the helper's first picture and a viewer's move
// to its new view are join time, not freezes.
func (c *callRun) waitForPictures(ctx context.Context, focusOf func(role string) string) error {
	since := map[string]int{}
	for _, role := range roles {
		since[role] = c.peers[role].Counters().FramesDecoded
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		waiting := ""
		for _, role := range roles {
			st := c.peers[role].Counters()
			if st.FramesDecoded < since[role]+2 || !showsLayout(st.Tiles, focusOf(role)) {
				waiting = role
			}
		}
		if waiting == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s receives no pictures in its layout: %w", waiting, ctx.Err())
		case <-tick.C:
		}
	}
}

// showsLayout reports whether a picture's tiles are every party's, with
// focus's far larger than the others' (any sizes when focus is "").
func showsLayout(tiles map[string]peer.Tile, focus string) bool {
	for _, role := range roles {
		if _, ok := tiles[role]; !ok {
			return false
		}
	}
	for _, role := range roles {
		if focus != "" && role != focus && 2*tiles[role].Pixels > tiles[focus].Pixels {
			return false
		}
	}
	return true
}

// helperFor waits until the request is accepted and returns the console
// that joined.
func (r *runner) helperFor(ctx context.Context, c *callRun) (*peer.Peer, error) {
	m, err := c.peers["agent"].WaitFor(ctx, "help.progress", func(m peer.Message) bool {
		return field(m, "state") == "accepted"
	})
	if err != nil {
		failed := "no help.failed"
		if f, ferr := c.peers["agent"].WaitFor(ctx, "help.failed", nil); ferr == nil {
			failed = string(f.Raw)
		}
		return nil, fmt.Errorf("help never accepted (%s): %w", failed, err)
	}
	var progress struct {
		Agent struct{ ID string } `json:"agent"`
	}
	_ = json.Unmarshal(m.Raw, &progress)
	r.mu.Lock()
	helper := r.helpers[progress.Agent.ID]
	r.mu.Unlock()
	if helper == nil {
		return nil, fmt.Errorf("help accepted by %q, not one of ours", progress.Agent.ID)
	}
	inCall := func(m peer.Message) bool { return field(m, "call") == c.id }
	joined, err := helper.WaitFor(ctx, "joined", inCall)
	if err != nil {
		return nil, fmt.Errorf("helper %s never joined: %w", progress.Agent.ID, err)
	}
	// The console accepts an offer as it arrives: that is its connect.
	offer, err := helper.WaitFor(ctx, "help.offer", inCall)
	if err != nil {
		return nil, fmt.Errorf("helper %s joined without an offer: %w", progress.Agent.ID, err)
	}
	c.started["third"], c.helpJoinedAt = offer.At, joined.At
	return helper, nil
}

// chooseLayouts has each viewer pick its layout.
func (r *runner) chooseLayouts(c *callRun) error {
	for _, role := range roles {
		focus := r.focusOf(role)
		if focus == "" {
			continue
		}
		msg := map[string]string{"type": "layout.set", "mode": "maximize", "party": focus}
		if err := c.peers[role].Send(msg); err != nil {
			return fmt.Errorf("%s sets its layout: %w", role, err)
		}
	}
	return nil
}

func (r *runner) peerConfig(callID, role, token string) peer.Config {
	return r.camera(peer.Config{URL: r.wsURL, Call: callID, Role: role, Name: "load-" + role, Token: token,
		Loopback: r.params.Loopback, Network: r.params.Impair[role], Reconnect: true, Logger: r.params.Logger})
}

// camera gives cfg the run's camera and its way with send.limits, and
// its microphone.
func (r *runner) camera(cfg peer.Config) peer.Config {
	cfg.Width, cfg.Height, cfg.FPS = r.params.Sender.Width, r.params.Sender.Height, r.params.Sender.FPS
	cfg.IgnoreSendLimits = r.params.IgnoreSendLimits
	cfg.ViewWidth, cfg.ViewHeight = r.params.ViewSize.Width, r.params.ViewSize.Height
	cfg.Audio, cfg.NoAudioDTX = r.params.Audio, r.params.NoAudioDTX
	return cfg
}

// tearDown hangs up every party of the call; helpers stay signed in.
func (c *callRun) tearDown() {
	for role, p := range c.peers {
		if role == "third" {
			_ = p.Send(map[string]string{"type": "hangup"})
			continue
		}
		_ = p.Leave()
	}
}

func field(m peer.Message, name string) string {
	var v map[string]any
	_ = json.Unmarshal(m.Raw, &v)
	s, _ := v[name].(string)
	return s
}
