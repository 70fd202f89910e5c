package netcond

import (
	"io"
	"net"
)

// ForwardTCP returns a local address (on 127.0.0.1) whose connections are
// forwarded to remote through the Net, so that they cross its links. It
// is for what dials TCP without asking the Net: pion's ICE-TCP dials a
// remote passive candidate with a net.Dialer of its own, so a client
// points it here instead. One remote has one forwarder, which lives until
// Close.
func (n *Net) ForwardTCP(remote *net.TCPAddr) (*net.TCPAddr, error) {
	key := remote.String()
	n.mu.Lock()
	if local, ok := n.forwards[key]; ok {
		n.mu.Unlock()
		return local, nil
	}
	n.mu.Unlock()
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	local := l.Addr().(*net.TCPAddr)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		_ = l.Close()
		return nil, net.ErrClosed
	}
	if prior, ok := n.forwards[key]; ok {
		n.mu.Unlock()
		_ = l.Close()
		return prior, nil
	}
	n.forwards[key] = local
	n.open[l] = struct{}{}
	n.wg.Add(1)
	n.mu.Unlock()
	go n.forward(l, remote)
	return local, nil
}

func (n *Net) isClosed() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// forward accepts connections until the listener closes, joining each to
// a connection to remote through the Net.
func (n *Net) forward(l *net.TCPListener, remote *net.TCPAddr) {
	defer n.wg.Done()
	for {
		near, err := l.AcceptTCP()
		if err != nil {
			return
		}
		if !n.track(near) {
			_ = near.Close()
			return
		}
		far, err := n.DialTCP("tcp4", nil, remote)
		if err != nil {
			_ = near.Close()
			n.untrack(near)
			continue
		}
		n.wg.Add(2)
		go n.pipe(near, far)
		go n.pipe(far, near)
	}
}

// pipe copies from src to dst until either ends, then closes both, but
// not while the Net is silenced: a dead link carries no close either.
func (n *Net) pipe(dst, src io.ReadWriteCloser) {
	defer n.wg.Done()
	_, _ = io.Copy(dst, src)
	for quiet := n.silence(); quiet != nil && !n.isClosed(); quiet = n.silence() {
		select {
		case <-quiet:
		case <-n.done:
		}
	}
	_ = dst.Close()
	_ = src.Close()
	n.untrack(dst)
	n.untrack(src)
}
