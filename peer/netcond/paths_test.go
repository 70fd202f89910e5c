package netcond

import (
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// arrival is a numbered datagram as received.
type arrival struct {
	seq      int
	sent, at time.Time
}

// receiver collects the numbered datagrams a socket reads until it
// closes.
type receiver struct {
	mu       sync.Mutex
	got      []arrival
	changed  chan struct{}
	finished chan struct{}
}

func receive(conn net.PacketConn) *receiver {
	r := &receiver{changed: make(chan struct{}, 1), finished: make(chan struct{})}
	go func() {
		defer close(r.finished)
		buf := make([]byte, maxDatagram)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			a := arrival{at: time.Now()}
			if n >= 16 {
				a.seq = int(binary.BigEndian.Uint64(buf))
				a.sent = time.Unix(0, int64(binary.BigEndian.Uint64(buf[8:])))
			}
			r.mu.Lock()
			r.got = append(r.got, a)
			r.mu.Unlock()
			select {
			case r.changed <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

// wait waits until n datagrams arrived, or d passed, and returns them.
func (r *receiver) wait(n int, d time.Duration) []arrival {
	deadline := time.After(d)
	for {
		r.mu.Lock()
		got := slices.Clone(r.got)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.changed:
		case <-deadline:
			return got
		}
	}
}

// path is a socket made through a Net and a plain one, on loopback.
type path struct {
	n       *Net
	through net.PacketConn // made through n
	plain   *net.UDPConn
}

func newPath(t *testing.T, c Conditions) *path {
	t.Helper()
	n, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	through, err := n.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		plain.Close()
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return &path{n: n, through: through, plain: plain}
}

// ends returns the sender and the receiver of a direction: out sends
// through the Net, in receives through it.
func (p *path) ends(out bool) (from, to net.PacketConn) {
	if out {
		return p.through, p.plain
	}
	return p.plain, p.through
}

// datagram is numbered seq, stamped with the send time, size bytes long.
func datagram(seq, size int) []byte {
	b := make([]byte, max(size, 16))
	binary.BigEndian.PutUint64(b, uint64(seq))
	binary.BigEndian.PutUint64(b[8:], uint64(time.Now().UnixNano()))
	return b
}

func send(t *testing.T, from, to net.PacketConn, seq, size int) {
	t.Helper()
	if _, err := from.WriteTo(datagram(seq, size), to.LocalAddr()); err != nil {
		t.Fatal(err)
	}
}

// sendCounted sends count datagrams in batches, waiting after each for
// the link to see them all and what passed to arrive, so that no kernel
// buffer overflows; it returns what arrived.
func sendCounted(t *testing.T, p *path, out bool, count int) []arrival {
	t.Helper()
	from, to := p.ends(out)
	r := receive(to)
	var got []arrival
	for seq := 0; seq < count; {
		for end := min(seq+100, count); seq < end; seq++ {
			send(t, from, to, seq, 100)
		}
		c := p.seen(t, out, seq)
		if got = r.wait(int(c.Passed), 5*time.Second); len(got) < int(c.Passed) {
			t.Fatalf("%d datagrams passed the link, %d arrived", c.Passed, len(got))
		}
	}
	return got
}

// seen waits until a direction's link has seen n datagrams and returns
// its counters.
func (p *path) seen(t *testing.T, out bool, n int) Counters {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for {
		in, o := p.n.Counters()
		c := in
		if out {
			c = o
		}
		if int(c.Passed+c.Dropped()) >= n {
			return c
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the link saw %+v of %d datagrams", c, n)
		}
	}
}
