package netcond

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// Net is a transport.Net over the host's network whose UDP sockets and
// TCP connections cross two links, in (to this side) and out, with the
// Conditions given. Addresses, interfaces and name resolution are the
// host's (stdnet's). Its sockets are real, bound to real ports: the other
// side needs no change.
//
// Close closes every socket made through it and waits for their
// goroutines.
type Net struct {
	std     *stdnet.Net
	start   time.Time
	in, out *link
	sched   schedule
	silent  atomic.Bool
	wg      sync.WaitGroup // the sockets' goroutines
	done    chan struct{}  // closed by Close

	mu sync.Mutex
	// quiet, while silenced, is closed when the silence ends.
	quiet    chan struct{}
	open     map[io.Closer]struct{}
	forwards map[string]*net.TCPAddr // ForwardTCP's, by remote address
	closed   bool
}

var _ transport.Net = (*Net)(nil)

// New makes a Net with c each way, starting now: outage windows count
// from here.
func New(c Conditions) (*Net, error) {
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("netcond: %w", err)
	}
	seed := c.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	start := time.Now()
	return &Net{std: std, start: start, in: newLink(start, c, seed, 1), out: newLink(start, c, seed, 2),
		open: map[io.Closer]struct{}{}, forwards: map[string]*net.TCPAddr{}, done: make(chan struct{})}, nil
}

// Set changes the conditions of each direction from now on; outage
// windows still count from the Net's start.
func (n *Net) Set(in, out Conditions) {
	n.in.set(in)
	n.out.set(out)
}

// Silence makes the Net a dead link (on) until it is called again (off):
// every datagram either way is dropped (and not counted) and TCP bytes
// are held, while the sockets stay open, so that the other side sees
// nothing at all, not even a close.
func (n *Net) Silence(on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case on && n.quiet == nil:
		n.quiet = make(chan struct{})
	case !on && n.quiet != nil:
		close(n.quiet)
		n.quiet = nil
	}
	n.silent.Store(on)
}

// silence returns, while the Net is silenced, a channel closed when the
// silence ends; nil otherwise.
func (n *Net) silence() <-chan struct{} {
	if !n.silent.Load() {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.quiet
}

// Counters returns what each direction did to UDP datagrams so far.
func (n *Net) Counters() (in, out Counters) {
	return n.in.counters(), n.out.counters()
}

// depart decides an outbound datagram's fate.
func (n *Net) depart(p []byte) (time.Time, bool) {
	if n.silent.Load() {
		return time.Time{}, false
	}
	return n.out.datagram(time.Now(), p)
}

// arrive takes an inbound datagram across the link to the inbox.
func (n *Net) arrive(in *inbox, ch chunk) {
	if n.silent.Load() {
		return
	}
	now := time.Now()
	due, pass := n.in.datagram(now, ch.data)
	switch {
	case !pass:
	case !due.After(now):
		in.put(ch)
	default:
		n.sched.at(due, func() { in.put(ch) })
	}
}

// streamDue is when size bytes of TCP sent now cross l, silence aside.
func (n *Net) streamDue(l *link, size int) time.Time {
	return l.stream(time.Now(), size)
}

// track registers a socket for Close; false once the Net is closed.
func (n *Net) track(c io.Closer) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return false
	}
	n.open[c] = struct{}{}
	return true
}

func (n *Net) untrack(c io.Closer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.open, c)
}

// Close closes every socket, listener and forwarder made through the Net,
// drops the datagrams still on their way, and waits for the goroutines.
// Nothing can be made through it afterwards.
func (n *Net) Close() error {
	n.mu.Lock()
	if !n.closed {
		close(n.done)
	}
	n.closed = true
	open := make([]io.Closer, 0, len(n.open))
	for c := range n.open {
		open = append(open, c)
	}
	n.mu.Unlock()
	var errs []error
	for _, c := range open {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	n.sched.close()
	n.wg.Wait()
	return errors.Join(errs...)
}

// Interfaces are the host's.
func (n *Net) Interfaces() ([]*transport.Interface, error) { return n.std.Interfaces() }

// InterfaceByIndex is the host's.
func (n *Net) InterfaceByIndex(i int) (*transport.Interface, error) { return n.std.InterfaceByIndex(i) }

// InterfaceByName is the host's.
func (n *Net) InterfaceByName(name string) (*transport.Interface, error) {
	return n.std.InterfaceByName(name)
}

// ResolveIPAddr is the host's.
func (n *Net) ResolveIPAddr(network, address string) (*net.IPAddr, error) {
	return n.std.ResolveIPAddr(network, address)
}

// ResolveUDPAddr is the host's.
func (n *Net) ResolveUDPAddr(network, address string) (*net.UDPAddr, error) {
	return n.std.ResolveUDPAddr(network, address)
}

// ResolveTCPAddr is the host's.
func (n *Net) ResolveTCPAddr(network, address string) (*net.TCPAddr, error) {
	return n.std.ResolveTCPAddr(network, address)
}

// ListenPacket opens a UDP socket ("udp", "udp4" or "udp6") through the
// Net.
func (n *Net) ListenPacket(network, address string) (net.PacketConn, error) {
	addr, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, err
	}
	return n.ListenUDP(network, addr)
}

// ListenUDP opens a UDP socket through the Net.
func (n *Net) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return newUDPConn(n, conn, nil)
}

// DialUDP opens a UDP socket through the Net that talks to raddr only.
func (n *Net) DialUDP(network string, laddr, raddr *net.UDPAddr) (transport.UDPConn, error) {
	if raddr == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("no remote address")}
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return newUDPConn(n, conn, raddr)
}

// DialTCP connects through the Net.
func (n *Net) DialTCP(network string, laddr, raddr *net.TCPAddr) (transport.TCPConn, error) {
	conn, err := net.DialTCP(network, laddr, raddr)
	if err != nil {
		return nil, err
	}
	return newTCPConn(n, conn)
}

// Dial connects over UDP or TCP through the Net.
func (n *Net) Dial(network, address string) (net.Conn, error) {
	return n.dial(&net.Dialer{}, network, address)
}

func (n *Net) dial(d *net.Dialer, network, address string) (net.Conn, error) {
	switch network {
	case "udp", "udp4", "udp6":
		raddr, err := net.ResolveUDPAddr(network, address)
		if err != nil {
			return nil, err
		}
		laddr, _ := d.LocalAddr.(*net.UDPAddr)
		return n.DialUDP(network, laddr, raddr)
	case "tcp", "tcp4", "tcp6":
		conn, err := d.Dial(network, address)
		if err != nil {
			return nil, err
		}
		return newTCPConn(n, conn.(*net.TCPConn))
	}
	return nil, &net.OpError{Op: "dial", Net: network, Err: transport.ErrNotSupported}
}

// ListenTCP listens through the Net: the connections it accepts cross
// the links.
func (n *Net) ListenTCP(network string, laddr *net.TCPAddr) (transport.TCPListener, error) {
	l, err := net.ListenTCP(network, laddr)
	if err != nil {
		return nil, err
	}
	if !n.track(l) {
		_ = l.Close()
		return nil, net.ErrClosed
	}
	return &tcpListener{TCPListener: l, n: n}, nil
}

// CreateDialer makes a dialer whose connections cross the Net.
func (n *Net) CreateDialer(d *net.Dialer) transport.Dialer {
	return dialer{n: n, d: d}
}

// CreateListenConfig makes a listen config whose sockets cross the Net.
func (n *Net) CreateListenConfig(*net.ListenConfig) transport.ListenConfig {
	return listenConfig{n: n}
}

// tcpListener wraps each accepted connection.
type tcpListener struct {
	*net.TCPListener
	n *Net
}

// Accept waits for the next connection.
func (l *tcpListener) Accept() (net.Conn, error) { return l.AcceptTCP() }

// AcceptTCP waits for the next connection.
func (l *tcpListener) AcceptTCP() (transport.TCPConn, error) {
	conn, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	return newTCPConn(l.n, conn)
}

type dialer struct {
	n *Net
	d *net.Dialer
}

func (d dialer) Dial(network, address string) (net.Conn, error) {
	return d.n.dial(d.d, network, address)
}

type listenConfig struct{ n *Net }

func (c listenConfig) Listen(_ context.Context, network, address string) (net.Listener, error) {
	addr, err := net.ResolveTCPAddr(network, address)
	if err != nil {
		return nil, err
	}
	return c.n.ListenTCP(network, addr)
}

func (c listenConfig) ListenPacket(_ context.Context, network, address string) (net.PacketConn, error) {
	return c.n.ListenPacket(network, address)
}
