package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// Call is a call as the cluster lists it: which node holds it, and what
// it is now.
type Call struct {
	ID      string    `json:"call"`
	Node    string    `json:"node"`
	State   string    `json:"state"`
	Parties []string  `json:"parties"` // roles present
	Created time.Time `json:"created"`
}

// PutCall records c (created, or changed) under its node.
func (c *Cluster) PutCall(ctx context.Context, call Call) error {
	data, err := json.Marshal(call)
	if err != nil {
		return err
	}
	pipe := c.rdb.TxPipeline()
	pipe.Set(ctx, c.key("call", call.ID), data, 0)
	pipe.SAdd(ctx, c.key("calls"), call.ID)
	pipe.SAdd(ctx, c.key("node-calls", call.Node), call.ID)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// DeleteCall takes an ended call off the list.
func (c *Cluster) DeleteCall(ctx context.Context, id string) error {
	call, err := c.Call(ctx, id)
	if errors.Is(err, ErrNoCall) {
		return nil
	}
	if err != nil {
		return err
	}
	pipe := c.rdb.TxPipeline()
	pipe.Del(ctx, c.key("call", id))
	pipe.SRem(ctx, c.key("calls"), id)
	pipe.SRem(ctx, c.key("node-calls", call.Node), id)
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// Call reads one call's record: ErrNoCall if no node holds it.
func (c *Cluster) Call(ctx context.Context, id string) (Call, error) {
	var call Call
	err := c.record(ctx, c.key("call", id), &call)
	if errors.Is(err, redis.Nil) {
		return Call{}, ErrNoCall
	}
	return call, err
}

// CallNode is the live node that holds call id.
func (c *Cluster) CallNode(ctx context.Context, id string) (Node, error) {
	call, err := c.Call(ctx, id)
	if err != nil {
		return Node{}, err
	}
	n, err := c.node(ctx, call.Node)
	if errors.Is(err, redis.Nil) {
		return Node{}, ErrNoCall // its node is dead
	}
	return n, err
}

// Calls lists every call in the cluster, oldest first.
func (c *Cluster) Calls(ctx context.Context) ([]Call, error) {
	ids, err := c.rdb.SMembers(ctx, c.key("calls")).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	calls := make([]Call, 0, len(ids))
	for _, id := range ids {
		call, err := c.Call(ctx, id)
		if errors.Is(err, ErrNoCall) {
			continue // ended meanwhile
		}
		if err != nil {
			return nil, err
		}
		calls = append(calls, call)
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i].Created.Before(calls[j].Created) })
	return calls, nil
}

// listedCalls is how many calls the list holds on node id: a call
// placed there counts at once, before the node's next heartbeat does.
func (c *Cluster) listedCalls(ctx context.Context, id string) (int, error) {
	n, err := c.rdb.SCard(ctx, c.key("node-calls", id)).Result()
	if err != nil {
		return 0, unavailable(err)
	}
	return int(n), nil
}
