package netcond

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer echoes every TCP connection on loopback until the test ends.
func echoServer(t *testing.T) *net.TCPAddr {
	t.Helper()
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr)
}

func newNet(t *testing.T, c Conditions) *Net {
	t.Helper()
	n, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return n
}

// roundTrip writes one byte and times its echo.
func roundTrip(t *testing.T, c net.Conn) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

func TestTCPDelaysEachWay(t *testing.T) {
	echo := echoServer(t)
	n := newNet(t, Conditions{Delay: 30 * time.Millisecond})
	dialled, err := n.Dial("tcp4", echo.String())
	if err != nil {
		t.Fatal(err)
	}
	forward, err := n.ForwardTCP(echo)
	if err != nil {
		t.Fatal(err)
	}
	forwarded, err := net.DialTCP("tcp4", nil, forward)
	if err != nil {
		t.Fatal(err)
	}
	defer forwarded.Close()
	for name, c := range map[string]net.Conn{"dialled": dialled, "forwarded": forwarded} {
		for range 3 {
			if rtt := roundTrip(t, c); rtt < 60*time.Millisecond || rtt > 110*time.Millisecond {
				t.Errorf("%s: round trip %v with 30 ms each way", name, rtt)
			}
		}
	}
}

func TestTCPKeepsOrderUnderJitter(t *testing.T) {
	echo := echoServer(t)
	n := newNet(t, Conditions{Delay: 5 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 5})
	c, err := n.Dial("tcp4", echo.String())
	if err != nil {
		t.Fatal(err)
	}
	const count = 200
	var sent bytes.Buffer
	for i := range count {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		sent.Write(b[:])
		if _, err := c.Write(b[:]); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, sent.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Error("the stream came back out of order")
	}
}

func TestTCPRateAndOutageStall(t *testing.T) {
	echo := echoServer(t)
	n := newNet(t, Conditions{Rate: 800_000, Outages: []Outage{{At: 0, For: 300 * time.Millisecond}}})
	c, err := n.Dial("tcp4", echo.String())
	if err != nil {
		t.Fatal(err)
	}
	// 25 KB each way at 800 kbit/s: 250 ms out, 250 ms back, after the
	// 300 ms outage (which the echo's return leg misses).
	const size = 25_000
	data := bytes.Repeat([]byte("threeway"), size/8)
	start := time.Now()
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 1)
	if _, err := io.ReadFull(c, first); err != nil {
		t.Fatal(err)
	}
	firstAt := time.Since(start)
	rest := make([]byte, size-1)
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("first byte back after %v, all %d after %v", firstAt, size, took)
	if firstAt < 300*time.Millisecond {
		t.Errorf("the first byte came back after %v, inside a 300 ms outage", firstAt)
	}
	if took < 750*time.Millisecond || took > 1000*time.Millisecond {
		t.Errorf("%d bytes each way at 800 kbit/s after a 300 ms stall took %v, want about 800 ms", size, took)
	}
	if !bytes.Equal(append(first, rest...), data) {
		t.Error("the stream came back changed")
	}
}

// A silence holds TCP bytes, and its end delivers them, none lost.
func TestTCPWaitsOutSilence(t *testing.T) {
	echo := echoServer(t)
	n := newNet(t, Conditions{})
	c, err := n.Dial("tcp4", echo.String())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, c)
	n.Silence(true)
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(150 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 4)); err == nil || !err.(net.Error).Timeout() {
		t.Fatalf("read through a silenced Net: %v, want a timeout", err)
	}
	n.Silence(false)
	if err := c.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "held" {
		t.Errorf("after the silence: %q, %v", got, err)
	}
}

// A forwarded connection closed on the near side while the Net is
// silenced does not close on the far side until the silence ends.
func TestForwardHoldsACloseInSilence(t *testing.T) {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(io.Discard, c)
	}()
	n := newNet(t, Conditions{})
	local, err := n.ForwardTCP(l.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	near, err := net.DialTCP("tcp4", nil, local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := near.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	n.Silence(true)
	near.Close()
	select {
	case <-ended:
		t.Fatal("the far side saw the close of a silenced link")
	case <-time.After(150 * time.Millisecond):
	}
	n.Silence(false)
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("the far side never saw the close after the silence")
	}
}

func TestTCPThroughListenAndClose(t *testing.T) {
	n := newNet(t, Conditions{Delay: 20 * time.Millisecond})
	l, err := n.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	start := time.Now()
	if _, err := c.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(server, make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("accepted connection read after %v, want 20 ms of delay", d)
	}
	// Close ends what the Net made; reads fail at once.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Read(make([]byte, 1)); err == nil {
		t.Error("read from a closed Net's connection")
	}
	if _, err := n.Dial("tcp4", l.Addr().String()); err == nil {
		t.Error("dialled through a closed Net")
	}
}
