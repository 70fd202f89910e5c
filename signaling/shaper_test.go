package signaling_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// shapedNet is the machine's network with a downlink cap per destination
// on the UDP sockets the server opens through it: packets to a capped
// address wait in a queue that drops what does not fit and leave at the
// capped rate, as on a slow link. It also counts the bytes sent to every
// destination.
type shapedNet struct {
	transport.Net
	mu    sync.Mutex
	links map[string]*link // by destination address
	sent  map[string]int   // bytes by destination address
}

func newShapedNet(t *testing.T) *shapedNet {
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	s := &shapedNet{Net: n, links: map[string]*link{}, sent: map[string]int{}}
	t.Cleanup(s.stop)
	return s
}

// ListenUDP implements transport.Net.
func (s *shapedNet) ListenUDP(network string, addr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := s.Net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	return &shapedConn{UDPConn: c, net: s}, nil
}

// limit caps what reaches addr at kbps, with a queue of queueFor at that
// rate; a later call changes the cap.
func (s *shapedNet) limit(addr string, kbps int, queueFor time.Duration) {
	rate, size := kbps*1000, int(queueFor.Seconds()*float64(kbps*1000)/8)
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.links[addr]; l != nil {
		l.mu.Lock()
		l.rate, l.limit = rate, size
		l.mu.Unlock()
		return
	}
	l := &link{rate: rate, limit: size, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	s.links[addr] = l
	go l.run()
}

// sentTo is how many bytes have left for addr (through its link, if
// capped).
func (s *shapedNet) sentTo(addr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent[addr]
}

func (s *shapedNet) stop() {
	s.mu.Lock()
	links := s.links
	s.links = map[string]*link{}
	s.mu.Unlock()
	for _, l := range links {
		close(l.quit)
		<-l.done
	}
}

// shapedConn is one of the server's UDP sockets on a shapedNet.
type shapedConn struct {
	transport.UDPConn
	net *shapedNet
}

// WriteTo sends p at once, or queues it on addr's link.
func (c *shapedConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	s := c.net
	s.mu.Lock()
	l := s.links[addr.String()]
	if l == nil {
		s.sent[addr.String()] += len(p)
	}
	s.mu.Unlock()
	if l == nil {
		return c.UDPConn.WriteTo(p, addr)
	}
	l.push(packet{data: append([]byte(nil), p...), to: addr, conn: c})
	return len(p), nil
}

// packet waits on a link.
type packet struct {
	data []byte
	to   net.Addr
	conn *shapedConn
}

// link is a capped path: a drop-tail queue of at most limit bytes,
// drained at rate bits a second.
type link struct {
	mu          sync.Mutex
	rate, limit int
	queue       []packet
	queued      int // bytes

	wake       chan struct{}
	quit, done chan struct{}
}

func (l *link) push(p packet) {
	l.mu.Lock()
	if l.queued+len(p.data) > l.limit {
		l.mu.Unlock()
		return // the queue is full: dropped
	}
	l.queue = append(l.queue, p)
	l.queued += len(p.data)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run sends each packet once the link has carried the ones before it.
func (l *link) run() {
	defer close(l.done)
	free := time.Now() // when the link is done with what it carries
	for {
		l.mu.Lock()
		if len(l.queue) == 0 {
			l.mu.Unlock()
			select {
			case <-l.wake:
				continue
			case <-l.quit:
				return
			}
		}
		p, rate := l.queue[0], l.rate
		l.mu.Unlock()
		free = later(free, time.Now()).Add(time.Duration(len(p.data)*8) * time.Second / time.Duration(rate))
		select {
		case <-time.After(time.Until(free)):
		case <-l.quit:
			return
		}
		l.mu.Lock()
		l.queue = l.queue[1:]
		l.queued -= len(p.data)
		l.mu.Unlock()
		s := p.conn.net
		s.mu.Lock()
		s.sent[p.to.String()] += len(p.data)
		s.mu.Unlock()
		_, _ = p.conn.UDPConn.WriteTo(p.data, p.to)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
