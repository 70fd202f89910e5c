package peer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// An agent console signs in, is offered help, accepts and becomes the
// third party with media; the server ends that leg and the socket stays,
// so the console accepts again and gets a fresh leg with fresh stats.
func TestConsoleAcceptsHelpTwice(t *testing.T) {
	s := newEchoServer(t, nil)
	p, err := Connect(ctxFor(t, 5*time.Second), Config{URL: s.url, Name: "bob", Loopback: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer p.Close()
	if st := p.Stats(); st.ConnectionState != "new" || st.FramesSent != 0 || len(st.Tiles) != 0 {
		t.Errorf("stats of a console without media: %+v", st)
	}

	if err := p.SignIn(ctxFor(t, 5*time.Second), "agent-token"); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if !hasMessage(p, "presence") || !hasMessage(p, "directory") {
		// directory follows presence; WaitFor sees it whenever it comes.
		if _, err := p.WaitFor(ctxFor(t, 5*time.Second), "directory", nil); err != nil {
			t.Errorf("no directory: %v", err)
		}
	}
	s.mu.Lock()
	if n := s.countReceived("join") + s.countReceived("offer"); n != 0 {
		t.Errorf("a console sent %d join or offer messages before accepting", n)
	}
	s.mu.Unlock()

	// An answer to a request that is not open is refused.
	err = p.Accept(ctxFor(t, 5*time.Second), "nope")
	if serr, ok := err.(*ServerError); !ok || serr.Code != "no_such_request" {
		t.Fatalf("accept of an unknown request: %v", err)
	}

	var first Stats
	for i, req := range []string{"h1", "h2"} {
		s.offerHelp(req)
		offer, err := p.WaitFor(ctxFor(t, 5*time.Second), "help.offer", func(m Message) bool { return m.Field("request") == req })
		if err != nil {
			t.Fatalf("help.offer %s: %v", req, err)
		}
		if offer.Field("customer") != "Ann" {
			t.Errorf("offer %s", offer.Raw)
		}
		if err := p.Accept(ctxFor(t, 15*time.Second), req); err != nil {
			t.Fatalf("accept %s: %v", req, err)
		}
		if p.Role() != "third" {
			t.Errorf("role after accepting: %q", p.Role())
		}
		if i == 1 {
			// The new leg's counters start from zero, not from the first's.
			if st := p.Stats(); st.FramesSent >= first.FramesSent || st.FramesDecoded >= first.FramesDecoded {
				t.Errorf("second leg starts with first leg's stats: %+v, first ended at %+v", st, first)
			}
		}
		st := waitStats(t, p, 10*time.Second, func(s Stats) bool {
			return s.FramesDecoded >= 20 && reads(s, "third") && s.ToneDBFS["third"] > -16
		})
		if i == 0 {
			first = st
		}

		// The server ends the leg: media stops, the socket stays.
		ending := time.Now()
		s.endLeg("dropped")
		if _, err := p.WaitFor(ctxFor(t, 5*time.Second), "left", func(m Message) bool {
			return m.Field("reason") == "dropped" && m.At.After(ending)
		}); err != nil {
			t.Fatal(err)
		}
		st = waitStats(t, p, 5*time.Second, func(s Stats) bool { return s.ConnectionState == "closed" })
		if st.SocketClosed {
			t.Error("the socket closed with the leg")
		}
		sent := st.FramesSent
		<-time.After(300 * time.Millisecond)
		if st := p.Stats(); st.FramesSent != sent {
			t.Errorf("frames still sent after left: %d, then %d", sent, st.FramesSent)
		}
		if i == 0 {
			first = st
		}
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

func TestSignInRefused(t *testing.T) {
	s := newEchoServer(t, nil)
	p, err := Connect(ctxFor(t, 5*time.Second), Config{URL: s.url, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.SignIn(ctxFor(t, 5*time.Second), "forged")
	if serr, ok := err.(*ServerError); !ok || serr.Code != "unauthorized" {
		t.Fatalf("sign in with a bad token: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	// After Close every wait ends at once.
	if err := p.SignIn(ctxFor(t, 5*time.Second), "agent-token"); !errors.Is(err, ErrClosed) {
		t.Errorf("sign in after close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

// AutoAccept answers every offer at once and starts media by itself.
func TestAutoAccept(t *testing.T) {
	s := newEchoServer(t, nil)
	p, err := Connect(ctxFor(t, 5*time.Second), Config{URL: s.url, Loopback: true, AutoAccept: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SignIn(ctxFor(t, 5*time.Second), "agent-token"); err != nil {
		t.Fatal(err)
	}
	s.offerHelp("auto")
	waitStats(t, p, 15*time.Second, func(s Stats) bool {
		return s.ConnectionState == webrtc.PeerConnectionStateConnected.String() && reads(s, "third")
	})
	s.mu.Lock()
	var accepted string
	for _, m := range s.fromClients {
		if m.Type == "help.accept" {
			accepted = Message{Raw: m.Raw}.Field("request")
		}
	}
	s.mu.Unlock()
	if accepted != "auto" {
		t.Errorf("accepted request %q", accepted)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

// Reject sends help.reject; WaitFor finds past and future messages by
// type and match, and gives up on ctx or a closed socket.
func TestRejectAndWaitFor(t *testing.T) {
	s := newEchoServer(t, nil)
	p, err := Connect(ctxFor(t, 5*time.Second), Config{URL: s.url, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SignIn(ctxFor(t, 5*time.Second), "agent-token"); err != nil {
		t.Fatal(err)
	}
	s.offerHelp("r1")
	s.offerHelp("r2")
	m, err := p.WaitFor(ctxFor(t, 5*time.Second), "help.offer", func(m Message) bool { return m.Field("request") == "r2" })
	if err != nil || m.Field("request") != "r2" {
		t.Fatalf("wait for r2: %v %s", err, m.Raw)
	}
	// Already received: returned at once, oldest first.
	m, err = p.WaitFor(ctxFor(t, time.Second), "help.offer", nil)
	if err != nil || m.Field("request") != "r1" {
		t.Fatalf("wait for any offer: %v %s", err, m.Raw)
	}
	var offer struct {
		From    struct{ ID, Name string } `json:"from"`
		Expires int                       `json:"expires_in_ms"`
	}
	if err := m.Decode(&offer); err != nil || offer.From.ID != "alice" || offer.Expires != 20000 {
		t.Errorf("decode offer: %v %+v", err, offer)
	}

	if err := p.Reject(ctxFor(t, time.Second), "r1"); err != nil {
		t.Fatal(err)
	}
	if !s.waitFor(5*time.Second, func() bool { return !s.offered["r1"] && s.offered["r2"] }) {
		t.Errorf("server did not see the reject; open %v", s.offered)
	}

	// A wait that nothing answers ends with its context.
	start := time.Now()
	_, err = p.WaitFor(ctxFor(t, 100*time.Millisecond), "help.offer", func(m Message) bool { return m.Field("request") == "r3" })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("wait for a message that never comes: %v after %v", err, time.Since(start))
	}
	// A wait in progress sees a message that arrives later.
	done := make(chan error, 1)
	go func() {
		_, err := p.WaitFor(ctxFor(t, 5*time.Second), "help.offer", func(m Message) bool { return m.Field("request") == "r3" })
		done <- err
	}()
	<-time.After(50 * time.Millisecond)
	s.offerHelp("r3")
	if err := <-done; err != nil {
		t.Errorf("wait for a later message: %v", err)
	}
	// The socket closing ends a wait.
	go func() {
		_, err := p.WaitFor(context.Background(), "never", nil)
		done <- err
	}()
	s.lastConn().close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSocketClosed) {
			t.Errorf("wait when the socket closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("wait outlived the socket")
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}
