package signaling

import (
	"context"
	"net/http"
	"time"

	"github.com/threeway-mcu/threeway/call"
)

// DefaultDrain is how long running calls may go on once the server is
// told to stop.
const DefaultDrain = 30 * time.Second

// drainPoll is how often a drain looks whether every call has ended.
const drainPoll = 100 * time.Millisecond

// Drain stops the server gently: /readyz answers 503 and no call is
// created from now on; every socket, party or console, is told
// `server_shutdown` with the time left; the calls go on until they end
// (or nobody is in them) or d has passed, and Close then ends what is
// left, each party told `left` with server_shutdown.
func (srv *Server) Drain(ctx context.Context, d time.Duration) error {
	end := time.Now().Add(d)
	for _, s := range srv.stopSessions(func() { srv.draining = true }) {
		s.send(serverMessage{Type: "server_shutdown", InMS: d.Milliseconds()})
	}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for srv.center.JoinedCallCount() > 0 && time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return srv.Close(ctx)
		case <-tick.C:
		}
	}
	return srv.Close(ctx)
}

// stopping tells whether the server drains or has closed: it is not
// ready, and creates no calls.
func (srv *Server) stopping() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.draining || srv.closed
}

// refuseWhileStopping answers a request for a new call while the server
// stops.
func (srv *Server) refuseWhileStopping(w http.ResponseWriter) bool {
	if !srv.stopping() {
		return false
	}
	w.Header().Set("Retry-After", "10")
	srv.writeAPIError(w, http.StatusServiceUnavailable, call.ReasonServerShutdown, "the server is shutting down: it takes no new calls")
	return true
}
