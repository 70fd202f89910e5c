package signaling

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/threeway-mcu/threeway/mixer"
)

// ServerParams configures a signaling Server.
type ServerParams struct {
	Media  mixer.Params // every call's mixer
	ICE    ICEParams
	Logger *slog.Logger
}

// Server accepts parties on /ws and keeps the calls they join.
type Server struct {
	params ServerParams
	log    *slog.Logger

	mu       sync.Mutex
	rooms    map[string]*room
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// NewServer returns a Server with no calls.
func NewServer(p ServerParams) *Server {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	return &Server{
		params:   p,
		log:      p.Logger,
		rooms:    map[string]*room{},
		sessions: map[*session]struct{}{},
	}
}

// ServeHTTP upgrades a request to a WebSocket and runs its session.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		srv.log.Debug("websocket upgrade", "err", err)
		return
	}
	conn.SetReadLimit(64 << 10)
	s := newSession(srv, conn)
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

// room returns the call id, making it on first use.
func (srv *Server) room(id string) (*room, error) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if r := srv.rooms[id]; r != nil && !r.isClosed() {
		return r, nil
	}
	mp := srv.params.Media
	log := srv.log.With("call_id", id)
	mp.Logger = log
	m, err := mixer.New(mp)
	if err != nil {
		return nil, err
	}
	r := &room{id: id, mixer: m, log: log, parties: map[string]*session{}}
	srv.rooms[id] = r
	return r, nil
}

// dropRoom forgets an empty room and stops its media.
func (srv *Server) dropRoom(r *room) {
	srv.mu.Lock()
	if srv.rooms[r.id] == r {
		delete(srv.rooms, r.id)
	}
	srv.mu.Unlock()
	r.mixer.Close()
}

// CallCount is how many calls are running.
func (srv *Server) CallCount() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.rooms)
}

// Close hangs up every party and waits for their sessions to end.
func (srv *Server) Close(ctx context.Context) error {
	srv.mu.Lock()
	srv.closed = true
	for s := range srv.sessions {
		s.conn.Close(websocket.StatusGoingAway, "server shutting down")
	}
	srv.mu.Unlock()
	done := make(chan struct{})
	go func() {
		srv.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
