package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Why a call of the list ended without its node saying so.
const (
	// EndedNodeFailed: the call's node stopped heartbeating.
	EndedNodeFailed = "node_failed"
)

// endedKeep is how long an ended call's reason is kept, so that a late
// join hears call_ended rather than call_not_found.
const endedKeep = time.Hour

// reapDead takes the calls of nodes whose heartbeat key expired off the
// list, each marked ended with EndedNodeFailed, and the nodes off the
// node set. One live node does it for each dead one (a lock for a TTL).
func (c *Cluster) reapDead(ctx context.Context) error {
	_, dead, err := c.members(ctx)
	if err != nil {
		return err
	}
	for _, id := range dead {
		if id == c.opts.NodeID {
			continue // this node's own key lapsed while Redis was away
		}
		won, err := c.rdb.SetNX(ctx, c.key("reaping", id), c.opts.NodeID, c.opts.TTL).Result()
		if err != nil {
			return unavailable(err)
		}
		if won {
			if err := c.reap(ctx, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// reap ends dead node id's calls on the list and forgets the node.
func (c *Cluster) reap(ctx context.Context, id string) error {
	calls, err := c.rdb.SMembers(ctx, c.key("node-calls", id)).Result()
	if err != nil {
		return unavailable(err)
	}
	pipe := c.rdb.TxPipeline()
	for _, call := range calls {
		pipe.Set(ctx, c.key("ended", call), EndedNodeFailed, endedKeep)
		pipe.Del(ctx, c.key("call", call))
		pipe.SRem(ctx, c.key("calls"), call)
	}
	pipe.Del(ctx, c.key("node-calls", id))
	pipe.SRem(ctx, c.key("nodes"), id)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(err)
	}
	c.log.Warn("a node stopped heartbeating: its calls ended", "dead_node", id, "calls", len(calls))
	return nil
}

// Ended tells why call id ended without its node, if it did.
func (c *Cluster) Ended(ctx context.Context, id string) (string, bool) {
	reason, err := c.rdb.Get(ctx, c.key("ended", id)).Result()
	if errors.Is(err, redis.Nil) || err != nil {
		return "", false
	}
	return reason, true
}
