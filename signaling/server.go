package signaling

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/cluster"
	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/mixer"
)

// DefaultTokenTTL is how long issued tokens stay valid.
const DefaultTokenTTL = 12 * time.Hour

// DefaultMediaTimeout is how long a joined party has to connect its
// media: long enough for a person to answer the browser's camera prompt.
const DefaultMediaTimeout = time.Minute

// ServerParams configures a signaling Server.
type ServerParams struct {
	Media  mixer.Params // every call's mixer; nil CPU: one set of slots for all calls
	ICE    ICEParams
	Calls  call.Params // the call center; its Notifier is the Server
	Secret []byte      // signs tokens; empty: a random one
	APIKey string      // bearer key of /api; empty: the API refuses everything
	// TokenTTL bounds issued tokens' life; 0: DefaultTokenTTL.
	TokenTTL time.Duration
	// MediaTimeout drops a party whose media has not connected this long
	// after it joined (left: no_media); 0: DefaultMediaTimeout.
	MediaTimeout time.Duration
	Logger       *slog.Logger
	// Metrics, when set, is served at /metrics and fed by every call.
	Metrics *metrics.Metrics
	Sockets SocketLimits
	// AllowedOrigins are the hosts (patterns as path.Match reads them,
	// e.g. "app.example.com" or "*.example.com") of pages served
	// elsewhere that may open /ws; the server's own host always may.
	AllowedOrigins []string
	// NoSendLimits turns send.limits off: every camera sends what it
	// captures, whatever its tiles need (for comparisons).
	NoSendLimits bool
	// NoViewerCanvas composes every picture at the full canvas, whatever
	// size its viewer shows it at (view.size), for comparisons.
	NoViewerCanvas bool
	// Cluster makes the server a node of a cluster (cluster.Open): calls
	// are placed on the node with the most headroom, listed cluster-wide,
	// and a call's socket reaching another node is relayed here. nil: a
	// single node.
	Cluster *cluster.Cluster
	// NodeID names the node in GET /api/calls.
	NodeID string
	// NoAudioDTX makes silence cost what sound does (for comparisons):
	// answers do not ask for Opus DTX, every voice is decoded whatever
	// its audio level says, and every listener is sent its mix encoded.
	NoAudioDTX bool
}

// Server is threeway's network edge: the /ws protocol, the /api routes,
// and the media of every call.
type Server struct {
	params ServerParams
	log    *slog.Logger
	center *call.Center
	tokens tokens
	ice    *iceSockets // shared by every PeerConnection

	mu       sync.Mutex
	rooms    map[string]*room       // media by call id
	legs     map[legKey]*leg        // parties by call and role
	phones   map[legKey]*PhoneAudio // parties dialled over SIP
	consoles map[string][]*session  // agent consoles by agent id
	sessions map[*session]struct{}
	// socketCount and socketsFrom count the sockets admitted, in all
	// and by client address (sockets.go).
	socketCount int
	socketsFrom map[string]int
	draining    bool // Drain: calls go on, none is created
	closed      bool
	wg          sync.WaitGroup // sessions
	closers     sync.WaitGroup // legs closing their media
	// roomWorkers are the rooms' goroutines, which close the rooms' media
	// as they end.
	roomWorkers sync.WaitGroup
	// calls keeps the cluster's call list in step (nil: a single node).
	calls *callList
}

// legKey names a party: a role in a call.
type legKey struct {
	call string
	role call.Role
}

// NewServer returns a Server with no calls.
func NewServer(p ServerParams) (*Server, error) {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.TokenTTL <= 0 {
		p.TokenTTL = DefaultTokenTTL
	}
	if p.MediaTimeout <= 0 {
		p.MediaTimeout = DefaultMediaTimeout
	}
	if p.Sockets.AuthTimeout <= 0 {
		p.Sockets.AuthTimeout = DefaultAuthTimeout
	}
	if len(p.Secret) == 0 {
		p.Secret = make([]byte, 32)
		if _, err := rand.Read(p.Secret); err != nil {
			return nil, fmt.Errorf("token secret: %w", err)
		}
	}
	srv := &Server{
		params:      p,
		log:         p.Logger,
		tokens:      tokens{secret: p.Secret, ttl: p.TokenTTL, now: time.Now},
		rooms:       map[string]*room{},
		legs:        map[legKey]*leg{},
		phones:      map[legKey]*PhoneAudio{},
		consoles:    map[string][]*session{},
		sessions:    map[*session]struct{}{},
		socketsFrom: map[string]int{},
	}
	if p.Metrics != nil {
		srv.params.Media.Observer = p.Metrics
	}
	if p.Media.CPU == nil {
		srv.params.Media.CPU = mixer.NewCPUSlots(0) // every call's views share the CPUs
	}
	cp := p.Calls
	cp.Notifier = notifier{srv}
	if p.Metrics != nil {
		cp.HelpEnded = p.Metrics.HelpOutcome
	}
	srv.center = call.NewCenter(cp)
	if p.Cluster != nil {
		srv.SetCluster(p.Cluster)
	}
	var err error
	if srv.ice, err = openICESockets(p.ICE); err != nil {
		return nil, fmt.Errorf("media sockets: %w", err)
	}
	if p.Metrics != nil {
		for _, c := range []prometheus.Collector{
			metrics.CenterCollector(srv.center),
			metrics.StatesCollector("threeway_party_connections",
				"Parties' media connections by state: new (no offer yet), connecting, connected, disconnected (ICE lost, may recover), failed.",
				connectionStates, srv.connectionStates),
		} {
			if err := p.Metrics.Register(c); err != nil {
				srv.ice.close()
				return nil, fmt.Errorf("metrics: %w", err)
			}
		}
	}
	return srv, nil
}

// SetCluster makes the server a node of cl, before it serves: a node's
// address is known once it listens, and its membership needs it. The
// node lists its calls in the cluster and shares its agents.
func (srv *Server) SetCluster(cl *cluster.Cluster) {
	srv.params.Cluster = cl
	if srv.params.NodeID == "" {
		srv.params.NodeID = cl.NodeID()
	}
	srv.calls = newCallList(cl, srv.params.NodeID, srv.log)
	srv.center.SetPeers(cl.ShareAgents(srv.center))
}

// Center is the server's call center.
func (srv *Server) Center() *call.Center { return srv.center }

// Routes registers every route on one mux: ClientRoutes, HealthRoutes and
// MetricsRoutes.
func (srv *Server) Routes(mux *http.ServeMux) {
	srv.ClientRoutes(mux)
	srv.HealthRoutes(mux)
	srv.MetricsRoutes(mux)
}

// ClientRoutes registers what pages and the contact center's systems
// use: /ws and the /api routes.
func (srv *Server) ClientRoutes(mux *http.ServeMux) {
	mux.Handle("/ws", srv)
	srv.apiRoutes(mux)
}

// HealthRoutes registers /healthz and /readyz.
func (srv *Server) HealthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if srv.stopping() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}

// MetricsRoutes registers /metrics, when the server has Metrics.
func (srv *Server) MetricsRoutes(mux *http.ServeMux) {
	if srv.params.Metrics != nil {
		mux.Handle("GET /metrics", srv.params.Metrics.Handler())
	}
}

// observe is the metrics sink, or nil.
func (srv *Server) observe() *metrics.Metrics { return srv.params.Metrics }

// ServeHTTP upgrades a request to a WebSocket and runs its session.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	addr := clientAddress(r)
	if srv.trustedPeerNode(r) {
		addr = relayedClient(r, addr)
	}
	if why := srv.admitSocket(addr); why != "" {
		refuseSocket(w, why)
		return
	}
	defer srv.releaseSocket(addr)
	if node := srv.relayTarget(r); node != nil {
		srv.relay(w, r, node)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: srv.params.AllowedOrigins})
	if err != nil {
		srv.log.Debug("websocket upgrade", "err", err)
		return
	}
	conn.SetReadLimit(-1) // the session's own limit, which closes with our code (readLoop)
	s := newSession(srv, conn)
	s.client = addr
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	srv.sessions[s] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	defer srv.wg.Done()
	s.run(r.Context())
	srv.mu.Lock()
	delete(srv.sessions, s)
	srv.mu.Unlock()
}

// CallCount is how many calls are open.
func (srv *Server) CallCount() int { return srv.center.CallCount() }

// Close ends every call (each party hears `left` with server_shutdown,
// and no seat waits for a party any more), every session, then the media,
// within ctx; the media sockets close last, or when ctx ends.
func (srv *Server) Close(ctx context.Context) error {
	defer srv.ice.close()
	sessions := srv.stopSessions(func() { srv.closed = true })
	srv.center.EndAll(call.ReasonServerShutdown)
	if srv.calls != nil {
		defer srv.calls.stop() // after the ended calls' removals are noted
	}
	for _, s := range sessions {
		s.shutdown()
	}
	if err := waitAll(ctx, &srv.wg, &srv.closers); err != nil {
		return err
	}
	// No session is left to open a room; the rooms whose calls ended are
	// closing already, the others are stopped.
	srv.mu.Lock()
	rooms := srv.rooms
	srv.rooms = map[string]*room{}
	srv.mu.Unlock()
	for _, r := range rooms {
		r.stop()
	}
	return waitAll(ctx, &srv.roomWorkers)
}

// stopSessions marks the server stopping (mark runs under srv.mu) and
// returns the sessions open at that moment.
func (srv *Server) stopSessions(mark func()) []*session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	mark()
	sessions := make([]*session, 0, len(srv.sessions))
	for s := range srv.sessions {
		sessions = append(sessions, s)
	}
	return sessions
}

// waitAll waits for every group in turn, or until ctx is done.
func waitAll(ctx context.Context, groups ...*sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		for _, g := range groups {
			g.Wait()
		}
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// addLeg registers a party's leg before the center admits it, so that no
// event for it is lost; it refuses a role that already has a live leg. A
// leg whose media is lost gives way and is returned (displaced): its
// party may be rejoining from another socket while this one is half open.
// The center decides whether the seat is taken back; if it refuses,
// restoreLeg puts the displaced leg back.
func (srv *Server) addLeg(l *leg) (r *room, displaced *leg, perr *ProtocolError) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	key := legKey{l.callID, l.role}
	if old := srv.legs[key]; old != nil {
		if !old.lost.Load() {
			return nil, nil, protoErr(CodeRoleTaken, "Someone is already in this call as the %s (is this link open in another tab?).", roleWords(l.role))
		}
		displaced = old
	}
	r = srv.rooms[l.callID]
	if r == nil {
		r = newRoom(srv, l.callID)
		srv.rooms[l.callID] = r
	}
	srv.legs[key] = l
	return r, displaced, nil
}

// restoreLeg registers a leg addLeg displaced again, after the center
// refused the leg that displaced it.
func (srv *Server) restoreLeg(l *leg) {
	if l == nil {
		return
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	key := legKey{l.callID, l.role}
	if srv.legs[key] == nil && !l.ended.Load() {
		srv.legs[key] = l
	}
}

// removeLeg forgets l if it is still its role's leg.
func (srv *Server) removeLeg(l *leg) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	key := legKey{l.callID, l.role}
	if srv.legs[key] == l {
		delete(srv.legs, key)
	}
}

func (srv *Server) legOf(callID string, role call.Role) *leg {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.legs[legKey{callID, role}]
}

func (srv *Server) addConsole(agentID string, s *session) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.consoles[agentID] = append(srv.consoles[agentID], s)
}

func (srv *Server) removeConsole(agentID string, s *session) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	list := srv.consoles[agentID]
	for i, c := range list {
		if c == s {
			srv.consoles[agentID] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(srv.consoles[agentID]) == 0 {
		delete(srv.consoles, agentID)
	}
}

func (srv *Server) consolesOf(agentID string) []*session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return append([]*session(nil), srv.consoles[agentID]...)
}

// removeRoom unregisters r if it is still its call's room; r's worker
// calls it as it ends.
func (srv *Server) removeRoom(r *room) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.rooms[r.id] == r {
		delete(srv.rooms, r.id)
	}
}

// closeUnusedRoom stops the room a failed join opened, unless its call is
// open or has a party: no call state will ever end such a room.
func (srv *Server) closeUnusedRoom(callID string) {
	// The center's lock is taken before srv.mu, never under it.
	if _, err := srv.center.Snapshot(callID); err == nil {
		return
	}
	srv.mu.Lock()
	for key := range srv.legs {
		if key.call == callID {
			srv.mu.Unlock()
			return
		}
	}
	r := srv.rooms[callID]
	delete(srv.rooms, callID)
	srv.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

// connectionStates are the media connection states of parties, as
// PeerConnection states name them.
var connectionStates = []string{
	webrtc.PeerConnectionStateNew.String(), webrtc.PeerConnectionStateConnecting.String(),
	webrtc.PeerConnectionStateConnected.String(), webrtc.PeerConnectionStateDisconnected.String(),
	webrtc.PeerConnectionStateFailed.String(),
}

// connectionStates counts the parties' media connections by state.
func (srv *Server) connectionStates() map[string]int {
	srv.mu.Lock()
	legs := make([]*leg, 0, len(srv.legs))
	for _, l := range srv.legs {
		legs = append(legs, l)
	}
	srv.mu.Unlock()
	n := map[string]int{}
	for _, l := range legs {
		state := webrtc.PeerConnectionStateNew
		if pc := l.peer(); pc != nil {
			state = pc.ConnectionState()
		}
		n[state.String()]++
	}
	srv.mu.Lock()
	n[webrtc.PeerConnectionStateConnected.String()] += len(srv.phones) // a phone's RTP flows once it answered
	srv.mu.Unlock()
	return n
}

// packetDiscarded counts an inbound packet dropped unread.
func (srv *Server) packetDiscarded() {
	if m := srv.observe(); m != nil {
		m.PacketDiscarded()
	}
}
