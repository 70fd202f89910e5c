package signaling

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/cluster"
)

// Headers between the nodes of a cluster. They are believed only with
// the cluster's API key (relayKeyHeader, or the API's bearer key).
const (
	// placedHeader marks a POST /api/calls another node has placed here:
	// create it, do not place it again.
	placedHeader = "X-Threeway-Placed"
	// baseHeader carries the links' base URL the client used, so that a
	// call placed on another node still gets links through the address
	// the client knows (the balancer's).
	baseHeader = "X-Threeway-Base"
	// relayKeyHeader marks a WebSocket another node relays here for its
	// call; with it X-Forwarded-For names the client.
	relayKeyHeader = "X-Threeway-Relay-Key"
)

// clusterTimeout bounds one Redis round trip made while a client waits.
const clusterTimeout = 2 * time.Second

// Codes of the cluster's refusals.
const (
	// CodeClusterUnavailable: Redis cannot be reached, so no call can be
	// placed; running calls go on.
	CodeClusterUnavailable = "cluster_unavailable"
)

// clusterCall is a call as GET /api/calls lists it.
type clusterCall struct {
	Call    string    `json:"call"`
	Node    string    `json:"node"`
	State   string    `json:"state"`
	Parties []string  `json:"parties"`
	Created time.Time `json:"created"`
}

func listedCall(s *call.Snapshot, node string) cluster.Call {
	c := cluster.Call{ID: s.ID, Node: node, State: string(s.State()), Parties: []string{}, Created: s.Created}
	for _, p := range s.Parties {
		c.Parties = append(c.Parties, string(p.Role))
	}
	return c
}

// listCalls answers GET /api/calls: the cluster's calls with their node,
// or this node's.
func (srv *Server) listCalls(w http.ResponseWriter, r *http.Request) {
	var calls []cluster.Call
	if cl := srv.params.Cluster; cl != nil {
		ctx, cancel := context.WithTimeout(r.Context(), clusterTimeout)
		defer cancel()
		var err error
		if calls, err = cl.Calls(ctx); err != nil {
			srv.writeAPIError(w, http.StatusServiceUnavailable, CodeClusterUnavailable, "The cluster's call list cannot be read: "+err.Error())
			return
		}
	} else {
		for _, s := range srv.center.Snapshots() {
			calls = append(calls, listedCall(s, srv.params.NodeID))
		}
	}
	out := make([]clusterCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, clusterCall{Call: c.ID, Node: c.Node, State: c.State, Parties: c.Parties, Created: c.Created})
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}

// placeCall decides where POST /api/calls is served: here (true), or it
// has been answered, by the node it was placed on or with a refusal.
func (srv *Server) placeCall(w http.ResponseWriter, r *http.Request, body []byte) bool {
	cl := srv.params.Cluster
	if cl == nil || r.Header.Get(placedHeader) != "" {
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterTimeout)
	defer cancel()
	node, err := cl.Place(ctx)
	switch {
	case errors.Is(err, cluster.ErrNoNode):
		srv.writeAPIError(w, http.StatusServiceUnavailable, call.CodeServerFull, "Every node is full or draining; try again later.")
		return false
	case err != nil:
		srv.writeAPIError(w, http.StatusServiceUnavailable, CodeClusterUnavailable, "No call can be placed while the cluster's store is unreachable: "+err.Error())
		return false
	case node.ID == cl.NodeID():
		return true
	}
	srv.forwardCreate(w, r, node, body)
	return false
}

// forwardCreate has node create the call and answers with its answer.
func (srv *Server) forwardCreate(w http.ResponseWriter, r *http.Request, node cluster.Node, body []byte) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, node.URL+"/api/calls", bytes.NewReader(body))
	if err != nil {
		srv.writeAPIError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(placedHeader, srv.params.Cluster.NodeID())
	req.Header.Set(baseHeader, requestBase(r))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		srv.writeAPIError(w, http.StatusBadGateway, CodeClusterUnavailable, "Node "+node.ID+" did not take the call: "+err.Error())
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// listCreated puts a call just created here on the cluster's list, so
// that placement counts it and any node finds it; a call the list cannot
// take is ended, since no other node could route its parties.
func (srv *Server) listCreated(ctx context.Context, id string) error {
	if srv.params.Cluster == nil {
		return nil
	}
	s, err := srv.center.Snapshot(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, clusterTimeout)
	defer cancel()
	return srv.params.Cluster.PutCall(ctx, listedCall(s, srv.params.NodeID))
}

// trustedPeerNode tells whether r comes from another node of the cluster
// (it bears the API key).
func (srv *Server) trustedPeerNode(r *http.Request) bool {
	key := r.Header.Get(relayKeyHeader)
	return key != "" && srv.params.APIKey != "" &&
		subtle.ConstantTimeCompare([]byte(key), []byte(srv.params.APIKey)) == 1
}

// clusterEnded turns a join's call_not_found into call_ended when the
// cluster knows the call ended with its node (the node stopped
// heartbeating): the party is told its call is over, not that it never
// was.
func (srv *Server) clusterEnded(callID string, perr *ProtocolError) *ProtocolError {
	cl := srv.params.Cluster
	if cl == nil || perr == nil || perr.Code != call.CodeCallNotFound {
		return perr
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	_, ended := cl.Ended(ctx, callID)
	if !ended {
		_, err := cl.Call(ctx, callID)
		_, nodeErr := cl.CallNode(ctx, callID)
		ended = err == nil && errors.Is(nodeErr, cluster.ErrNoCall) // listed, its node gone
	}
	if !ended {
		return perr
	}
	return protoErr(call.CodeCallEnded, "This call ended: the server it ran on stopped.")
}

// relayTarget is the node that holds the call a WebSocket asks for
// (`/ws?call=ID`), when it is another node's; nil to serve it here. A
// socket another node relays here is served here.
func (srv *Server) relayTarget(r *http.Request) *cluster.Node {
	if srv.trustedPeerNode(r) {
		return nil
	}
	return srv.otherNodeOf(r.Context(), r.URL.Query().Get("call"))
}

// otherNodeOf is the node that holds call id when that is another node of
// the cluster; nil when the call is this node's, or unknown or gone (what
// is done with it here then says so).
func (srv *Server) otherNodeOf(ctx context.Context, id string) *cluster.Node {
	cl := srv.params.Cluster
	if cl == nil || id == "" {
		return nil
	}
	if _, err := srv.center.Snapshot(id); err == nil {
		return nil // ours
	}
	ctx, cancel := context.WithTimeout(ctx, clusterTimeout)
	defer cancel()
	node, err := cl.CallNode(ctx, id)
	if err != nil || node.ID == cl.NodeID() {
		return nil
	}
	return &node
}

// relay passes a client's WebSocket through to node, which serves its
// call; media then flows between the client and that node directly.
func (srv *Server) relay(w http.ResponseWriter, r *http.Request, node *cluster.Node) {
	target, err := url.Parse(node.URL)
	if err != nil {
		http.Error(w, "bad node URL", http.StatusBadGateway)
		return
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the client's Host: the node checks Origin against it
			pr.SetXForwarded()
			pr.Out.Header.Set(relayKeyHeader, srv.params.APIKey)
		},
		ErrorLog: slog.NewLogLogger(srv.log.Handler(), slog.LevelDebug),
	}
	srv.log.Debug("relay a call's socket", "call", r.URL.Query().Get("call"), "node", node.ID)
	proxy.ServeHTTP(w, r)
}

// callList keeps the cluster's list of this node's calls in step with
// them. The notifier notes each change under the center's lock; a
// goroutine writes the latest of each call to Redis.
type callList struct {
	cl   *cluster.Cluster
	node string
	log  *slog.Logger

	mu    sync.Mutex
	dirty map[string]*call.Snapshot

	wake          chan struct{}
	done, stopped chan struct{}
}

func newCallList(cl *cluster.Cluster, node string, log *slog.Logger) *callList {
	l := &callList{cl: cl, node: node, log: log, dirty: map[string]*call.Snapshot{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	go l.run()
	return l
}

// note queues s to be written; it never blocks.
func (l *callList) note(s *call.Snapshot) {
	l.mu.Lock()
	l.dirty[s.ID] = s
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *callList) run() {
	defer close(l.stopped)
	for {
		select {
		case <-l.done:
			l.flush()
			return
		case <-l.wake:
			l.flush()
		}
	}
}

// flush writes every call noted since the last flush: its record, or
// its removal once ended. A write that fails is logged; the next change
// of the call writes it again.
func (l *callList) flush() {
	l.mu.Lock()
	dirty := l.dirty
	l.dirty = map[string]*call.Snapshot{}
	l.mu.Unlock()
	for id, s := range dirty {
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		var err error
		if s.Ended {
			err = l.cl.DeleteCall(ctx, id)
		} else {
			err = l.cl.PutCall(ctx, listedCall(s, l.node))
		}
		cancel()
		if err != nil {
			l.log.Warn("cluster call list", "call", id, "err", err)
		}
	}
}

func (l *callList) stop() {
	close(l.done)
	<-l.stopped
}
