package cluster

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// open joins a node to the cluster in mr, with a fixed load.
func open(t *testing.T, mr *miniredis.Miniredis, id string, load Load, maxCalls int) *Cluster {
	t.Helper()
	c, err := Open(context.Background(), Options{RedisURL: "redis://" + mr.Addr() + "/0", NodeID: id,
		URL: "http://" + id, MaxCalls: maxCalls, Heartbeat: time.Hour, TTL: 3 * time.Second,
		Load: func() Load { return load }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A call goes to the node with the most headroom; a draining or full
// node takes none; a node whose heartbeat key expired is dead and gone
// from the list.
func TestPlacement(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	busy := open(t, mr, "busy", Load{Calls: 4, Cores: 2, CPUSeconds: 0}, 0)
	idle := open(t, mr, "idle", Load{Cores: 2}, 0)
	full := open(t, mr, "full", Load{Calls: 2, Cores: 2}, 2)
	_ = busy
	_ = full
	n, err := idle.Place(ctx)
	if err != nil || n.ID != "idle" {
		t.Fatalf("placed on %q (%v), want the idle node", n.ID, err)
	}
	idle.SetDraining(true)
	if n, err = busy.Place(ctx); err != nil || n.ID != "busy" {
		t.Fatalf("with the idle node draining, placed on %q (%v), want busy (full is full)", n.ID, err)
	}
	// Calls listed on busy count at once: 16 fill its 1.6 cores at the
	// 0.1 core a call not yet measured is taken to cost.
	for i := range 16 {
		if err := busy.PutCall(ctx, Call{ID: string(rune('a' + i)), Node: "busy", Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := busy.Place(ctx); !errors.Is(err, ErrNoNode) {
		t.Fatalf("with every node draining or full: %v, want ErrNoNode", err)
	}
	mr.FastForward(4 * time.Second) // no heartbeat for longer than the TTL
	nodes, err := busy.Nodes(ctx)
	if err != nil || len(nodes) != 0 {
		t.Fatalf("after the TTL without heartbeats: %v nodes (%v), want none", nodes, err)
	}
}

// The call list: a call's record names its node, lists with the others,
// and goes when deleted; a call on a dead node has no node.
func TestCallList(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	a := open(t, mr, "a", Load{Cores: 2}, 0)
	b := open(t, mr, "b", Load{Cores: 2}, 0)
	t0 := time.Unix(1000, 0)
	for i, id := range []string{"c1", "c2"} {
		if err := a.PutCall(ctx, Call{ID: id, Node: []string{"a", "b"}[i], State: "waiting", Created: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	calls, err := b.Calls(ctx)
	if err != nil || len(calls) != 2 || calls[0].ID != "c1" || calls[1].Node != "b" {
		t.Fatalf("calls %+v (%v)", calls, err)
	}
	if n, err := b.CallNode(ctx, "c1"); err != nil || n.ID != "a" || n.URL != "http://a" {
		t.Fatalf("c1's node %+v (%v), want a", n, err)
	}
	if err := a.DeleteCall(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CallNode(ctx, "c1"); !errors.Is(err, ErrNoCall) {
		t.Fatalf("a deleted call: %v, want ErrNoCall", err)
	}
	if err := b.Close(); err != nil { // b leaves: its key goes
		t.Fatal(err)
	}
	if _, err := a.CallNode(ctx, "c2"); !errors.Is(err, ErrNoCall) {
		t.Fatalf("a call on a node that left: %v, want ErrNoCall", err)
	}
}

// With Redis gone, reads and placement fail with ErrUnavailable, and a
// node cannot join.
func TestRedisUnavailable(t *testing.T) {
	mr := miniredis.RunT(t)
	c := open(t, mr, "a", Load{Cores: 2}, 0)
	addr := mr.Addr()
	if !c.Reachable() {
		t.Fatal("a node that just joined is not reachable")
	}
	mr.Close()
	if _, err := c.Place(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("placing with Redis gone: %v, want ErrUnavailable", err)
	}
	if err := c.beat(context.Background()); !errors.Is(err, ErrUnavailable) || c.Reachable() {
		t.Fatalf("a heartbeat with Redis gone: %v, reachable %v; want ErrUnavailable, unreachable", err, c.Reachable())
	}
	if _, err := Open(context.Background(), Options{RedisURL: "redis://" + addr + "/0", NodeID: "b", URL: "http://b"}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("joining with Redis gone: %v, want ErrUnavailable", err)
	}
}

// A node that stops heartbeating is dead after the TTL: a live node takes
// its calls off the list, each marked ended with node_failed, and the
// node off the node set; a node that leaves (Close) is not reaped.
func TestDeadNodesCallsEnd(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	live := open(t, mr, "live", Load{Cores: 2}, 0)
	dead := open(t, mr, "dead", Load{Cores: 2}, 0)
	for _, call := range []Call{{ID: "c1", Node: "dead"}, {ID: "c2", Node: "live"}} {
		if err := live.PutCall(ctx, call); err != nil {
			t.Fatal(err)
		}
	}
	// dead's heartbeat stops (its goroutine runs hourly here); its key
	// expires, live's is refreshed.
	mr.FastForward(4 * time.Second)
	if err := live.beat(ctx); err != nil {
		t.Fatal(err)
	}
	if err := live.reapDead(ctx); err != nil {
		t.Fatal(err)
	}
	calls, err := live.Calls(ctx)
	if err != nil || len(calls) != 1 || calls[0].ID != "c2" {
		t.Fatalf("calls after the reap: %+v (%v), want only c2", calls, err)
	}
	if why, ok := live.Ended(ctx, "c1"); !ok || why != EndedNodeFailed {
		t.Errorf("c1 ended %q (%v), want %s", why, ok, EndedNodeFailed)
	}
	if _, ok := live.Ended(ctx, "c2"); ok {
		t.Error("a live node's call is marked ended")
	}
	if members, _ := mr.Members("threeway:nodes"); len(members) != 1 || members[0] != "live" {
		t.Errorf("nodes %v, want only live", members)
	}
	_ = dead
}

// A node whose directory differs from this node's is warned of, once.
func TestDifferentDirectoryIsWarnedOf(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	var logs bytes.Buffer
	openWith := func(id, directory string, log *slog.Logger) *Cluster {
		c, err := Open(ctx, Options{RedisURL: "redis://" + mr.Addr() + "/0", NodeID: id, URL: "http://" + id,
			Directory: directory, Heartbeat: time.Hour, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := openWith("a", "d1", slog.New(slog.NewTextHandler(&logs, nil)))
	openWith("b", "d1", nil)
	if err := a.compareDirectories(ctx); err != nil || logs.Len() != 0 {
		t.Fatalf("the same directory: %v, logged %q", err, logs.String())
	}
	openWith("c", "d2", nil)
	for range 2 {
		if err := a.compareDirectories(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Count(logs.String(), "directory differs"); got != 1 || !strings.Contains(logs.String(), "other_node=c") {
		t.Errorf("logged %q, want one warning naming node c", logs.String())
	}
}
