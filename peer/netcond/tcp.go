package netcond

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/transport/v5"
)

// tcpConn is a TCP connection whose bytes cross the Net's links: nothing
// is lost, but they wait for outages to end, for their turn at the cap,
// and for the delay. A goroutine reads the real connection and hands the
// bytes to the inbox when due; another writes what Write queued when due.
// While bytes are held the goroutine does not read on, so the sender's
// window fills as behind a stalled path.
type tcpConn struct {
	n    *Net
	conn *net.TCPConn
	in   *inbox
	out  chan outgoing
	done chan struct{} // closed by Close: the writer stops

	readMu   sync.Mutex // serializes Read; guards leftover
	leftover []byte

	writeMu sync.Mutex // serializes Write; guards lastDue
	lastDue time.Time
	queued  atomic.Int64 // writes queued and not yet written

	closeOnce sync.Once
	closeErr  error
}

// outgoing is bytes to write at due, or the write side's close.
type outgoing struct {
	data       []byte
	due        time.Time
	closeWrite bool
}

var _ transport.TCPConn = (*tcpConn)(nil)

// outQueue is how many writes wait for their due time before Write
// blocks.
const outQueue = 256

func newTCPConn(n *Net, conn *net.TCPConn) (*tcpConn, error) {
	c := &tcpConn{n: n, conn: conn, in: newInbox(true), out: make(chan outgoing, outQueue), done: make(chan struct{})}
	if !n.track(c) {
		_ = conn.Close()
		return nil, net.ErrClosed
	}
	n.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return c, nil
}

// readLoop reads the real connection until it ends, holding each piece
// until it is due.
func (c *tcpConn) readLoop() {
	defer c.n.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.conn.Read(buf)
		if n > 0 {
			due := c.n.streamDue(c.n.in, n)
			if !c.waitUntil(due) {
				c.in.close(net.ErrClosed, true)
				return
			}
			c.in.put(chunk{data: append([]byte(nil), buf[:n]...)})
		}
		if err != nil {
			c.in.close(err, false)
			return
		}
	}
}

// writeLoop writes what Write queued, each piece when due.
func (c *tcpConn) writeLoop() {
	defer c.n.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case o := <-c.out:
			if !c.waitUntil(o.due) {
				return
			}
			if o.closeWrite {
				_ = c.conn.CloseWrite()
			} else {
				_, _ = c.conn.Write(o.data)
			}
			c.queued.Add(-1)
		}
	}
}

// waitUntil sleeps until t and then out any silence of the Net, or
// returns false if the connection closes.
func (c *tcpConn) waitUntil(t time.Time) bool {
	if d := time.Until(t); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-c.done:
			return false
		}
	}
	for quiet := c.n.silence(); quiet != nil; quiet = c.n.silence() {
		select {
		case <-quiet:
		case <-c.done:
			return false
		}
	}
	return true
}

// Read reads what has crossed the inbound link.
func (c *tcpConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if len(c.leftover) == 0 {
		ch, err := c.in.take()
		if err != nil {
			return 0, err
		}
		c.leftover = ch.data
	}
	n := copy(p, c.leftover)
	c.leftover = c.leftover[n:]
	return n, nil
}

// Write queues p to cross the outbound link, or writes it at once when
// it is due now and nothing is queued ahead of it.
func (c *tcpConn) Write(p []byte) (int, error) {
	return c.send(outgoing{data: p})
}

// send writes or queues o, in order.
func (c *tcpConn) send(o outgoing) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	now := time.Now()
	o.due = later(c.n.streamDue(c.n.out, len(o.data)), c.lastDue)
	c.lastDue = o.due
	if c.queued.Load() == 0 && !o.due.After(now) && c.n.silence() == nil {
		if o.closeWrite {
			return 0, c.conn.CloseWrite()
		}
		return c.conn.Write(o.data)
	}
	o.data = append([]byte(nil), o.data...)
	c.queued.Add(1)
	select {
	case c.out <- o:
		return len(o.data), nil
	case <-c.done:
		c.queued.Add(-1)
		return 0, net.ErrClosed
	}
}

// ReadFrom copies r to the connection through Write.
func (c *tcpConn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c}, r)
}

// CloseWrite shuts the write side once what is queued is written.
func (c *tcpConn) CloseWrite() error {
	_, err := c.send(outgoing{closeWrite: true})
	return err
}

// CloseRead shuts the read side.
func (c *tcpConn) CloseRead() error { return c.conn.CloseRead() }

// Close closes the connection; what is queued is not written.
func (c *tcpConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.closeErr = c.conn.Close()
		c.in.close(net.ErrClosed, true)
		c.n.untrack(c)
	})
	return c.closeErr
}

// LocalAddr is the real connection's.
func (c *tcpConn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr is the real connection's.
func (c *tcpConn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets both deadlines.
func (c *tcpConn) SetDeadline(t time.Time) error {
	c.in.deadline.Set(t)
	return c.conn.SetWriteDeadline(t)
}

// SetReadDeadline bounds Read's wait.
func (c *tcpConn) SetReadDeadline(t time.Time) error {
	c.in.deadline.Set(t)
	return nil
}

// SetWriteDeadline bounds the real connection's writes.
func (c *tcpConn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// SetLinger is the real connection's.
func (c *tcpConn) SetLinger(sec int) error { return c.conn.SetLinger(sec) }

// SetKeepAlive is the real connection's.
func (c *tcpConn) SetKeepAlive(on bool) error { return c.conn.SetKeepAlive(on) }

// SetKeepAlivePeriod is the real connection's.
func (c *tcpConn) SetKeepAlivePeriod(d time.Duration) error { return c.conn.SetKeepAlivePeriod(d) }

// SetNoDelay is the real connection's.
func (c *tcpConn) SetNoDelay(noDelay bool) error { return c.conn.SetNoDelay(noDelay) }

// SetReadBuffer is the real connection's.
func (c *tcpConn) SetReadBuffer(bytes int) error { return c.conn.SetReadBuffer(bytes) }

// SetWriteBuffer is the real connection's.
func (c *tcpConn) SetWriteBuffer(bytes int) error { return c.conn.SetWriteBuffer(bytes) }
