package signaling

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultAuthTimeout is how long a socket may stay neither a party nor
// an agent console before it is closed.
const DefaultAuthTimeout = 10 * time.Second

// SocketLimits bound the WebSockets the server keeps: every open socket
// holds a file descriptor and a few goroutines whatever it does.
type SocketLimits struct {
	// Max is the most sockets open at once; 0: no limit. Set below the
	// process's file limit, it keeps descriptors in reserve, so that
	// /healthz, /api and the media keep answering when sockets pile up.
	Max int
	// PerAddress is the most from one client address; 0: no limit. A
	// contact center's agents may share one NAT address: it counts them.
	PerAddress int
	// AuthTimeout closes a socket that has not joined a call or signed
	// in this long after it opened or its leg ended; 0:
	// DefaultAuthTimeout.
	AuthTimeout time.Duration
}

// admitSocket counts a new socket from addr in, or says why it is
// refused.
func (srv *Server) admitSocket(addr string) string {
	lim := srv.params.Sockets
	srv.mu.Lock()
	defer srv.mu.Unlock()
	switch {
	case lim.Max > 0 && srv.socketCount >= lim.Max:
		return "the server holds its most sockets (" + strconv.Itoa(lim.Max) + ")"
	case lim.PerAddress > 0 && srv.socketsFrom[addr] >= lim.PerAddress:
		return "this address holds its most sockets (" + strconv.Itoa(lim.PerAddress) + ")"
	}
	srv.socketCount++
	srv.socketsFrom[addr]++
	return ""
}

// releaseSocket counts a socket admitted from addr as closed.
func (srv *Server) releaseSocket(addr string) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.socketCount--
	if srv.socketsFrom[addr]--; srv.socketsFrom[addr] <= 0 {
		delete(srv.socketsFrom, addr)
	}
}

// clientAddress is the address a request came from, without its port.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// relayedClient is the client address a node that relays a socket here
// names (X-Forwarded-For's first), or addr.
func relayedClient(r *http.Request, addr string) string {
	first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-For"), ",")
	if first = strings.TrimSpace(first); first != "" {
		return first
	}
	return addr
}

// refuseSocket answers an upgrade the limits refuse: 503, to try later.
func refuseSocket(w http.ResponseWriter, why string) {
	w.Header().Set("Retry-After", "10")
	http.Error(w, why, http.StatusServiceUnavailable)
}
