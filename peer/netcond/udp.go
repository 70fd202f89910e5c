package netcond

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v5"
)

// maxDatagram is the largest datagram a socket reads.
const maxDatagram = 1 << 16

// udpConn is a UDP socket whose datagrams cross the Net's links. A
// goroutine reads the real socket and hands each datagram that passes the
// inbound link to the inbox at its due time; writes pass the outbound
// link and go out at theirs.
//
// It has none of *net.UDPConn's AddrPort methods, so that pion cannot go
// around ReadFrom and WriteTo. A socket made by DialUDP is not connected
// underneath: it remembers its peer (remote), sends to it and reads only
// from it.
type udpConn struct {
	n      *Net
	conn   *net.UDPConn
	remote *net.UDPAddr // DialUDP's peer, nil for a listening socket
	in     *inbox

	closeOnce sync.Once
	closeErr  error
}

var _ transport.UDPConn = (*udpConn)(nil)

// newUDPConn wraps conn and starts its reader, which the Net waits for.
func newUDPConn(n *Net, conn *net.UDPConn, remote *net.UDPAddr) (*udpConn, error) {
	c := &udpConn{n: n, conn: conn, remote: remote, in: newInbox(false)}
	if !n.track(c) {
		_ = conn.Close()
		return nil, net.ErrClosed
	}
	n.wg.Add(1)
	go c.readLoop()
	return c, nil
}

// readLoop reads the real socket until it closes.
func (c *udpConn) readLoop() {
	defer c.n.wg.Done()
	defer c.in.close(net.ErrClosed, true)
	buf := make([]byte, maxDatagram)
	for {
		n, addr, err := c.conn.ReadFrom(buf)
		if err != nil {
			return // closed: an unconnected socket reports no ICMP errors
		}
		if c.remote != nil && !sameUDP(addr, c.remote) {
			continue
		}
		c.n.arrive(c.in, chunk{data: append([]byte(nil), buf[:n]...), addr: addr})
	}
}

func sameUDP(a net.Addr, b *net.UDPAddr) bool {
	u, ok := a.(*net.UDPAddr)
	return ok && u.Port == b.Port && u.IP.Equal(b.IP)
}

// ReadFrom returns the next datagram that crossed the inbound link.
func (c *udpConn) ReadFrom(p []byte) (int, net.Addr, error) {
	ch, err := c.in.take()
	if err != nil {
		return 0, nil, &net.OpError{Op: "read", Net: "udp", Source: c.conn.LocalAddr(), Err: err}
	}
	return copy(p, ch.data), ch.addr, nil
}

// ReadFromUDP is ReadFrom with a *net.UDPAddr.
func (c *udpConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	n, addr, err := c.ReadFrom(p)
	u, _ := addr.(*net.UDPAddr)
	return n, u, err
}

// ReadMsgUDP is ReadFromUDP: no out-of-band data crosses a Net.
func (c *udpConn) ReadMsgUDP(p, _ []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	n, addr, err = c.ReadFromUDP(p)
	return n, 0, 0, addr, err
}

// Read reads a datagram, from the peer for a dialled socket.
func (c *udpConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFrom(p)
	return n, err
}

// WriteTo sends p to addr across the outbound link. A datagram the link
// drops is reported sent, as the network would.
func (c *udpConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	due, pass := c.n.depart(p)
	switch {
	case !pass:
		return len(p), nil
	case !due.After(time.Now()):
		return c.conn.WriteTo(p, addr)
	}
	data := append([]byte(nil), p...)
	c.n.sched.at(due, func() { _, _ = c.conn.WriteTo(data, addr) })
	return len(p), nil
}

// WriteToUDP is WriteTo.
func (c *udpConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	return c.WriteTo(p, addr)
}

// WriteMsgUDP is WriteTo (to the peer if addr is nil); out-of-band data
// is not sent.
func (c *udpConn) WriteMsgUDP(p, _ []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	if addr == nil {
		addr = c.remote
	}
	n, err = c.WriteTo(p, addr)
	return n, 0, err
}

// Write sends p to the peer of a dialled socket.
func (c *udpConn) Write(p []byte) (int, error) {
	if c.remote == nil {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.conn.LocalAddr(), Err: errors.New("not connected")}
	}
	return c.WriteTo(p, c.remote)
}

// Close closes the socket and waits for nothing: the Net's Close waits
// for the reader.
func (c *udpConn) Close() error {
	c.closeOnce.Do(func() {
		c.closeErr = c.conn.Close()
		c.in.close(net.ErrClosed, true)
		c.n.untrack(c)
	})
	return c.closeErr
}

// LocalAddr is the real socket's address.
func (c *udpConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr is a dialled socket's peer, nil for a listening one.
func (c *udpConn) RemoteAddr() net.Addr {
	if c.remote == nil {
		return nil
	}
	return c.remote
}

// SetDeadline sets both deadlines.
func (c *udpConn) SetDeadline(t time.Time) error {
	c.in.deadline.Set(t)
	return c.conn.SetWriteDeadline(t)
}

// SetReadDeadline bounds ReadFrom's wait.
func (c *udpConn) SetReadDeadline(t time.Time) error {
	c.in.deadline.Set(t)
	return nil
}

// SetWriteDeadline bounds the real socket's writes.
func (c *udpConn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// SetReadBuffer sets the real socket's receive buffer.
func (c *udpConn) SetReadBuffer(bytes int) error { return c.conn.SetReadBuffer(bytes) }

// SetWriteBuffer sets the real socket's send buffer.
func (c *udpConn) SetWriteBuffer(bytes int) error { return c.conn.SetWriteBuffer(bytes) }
