package peer

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// testLogger logs to t until the test has finished: pion runs some
// callbacks (local candidates) on goroutines nobody waits for, which may
// log after that.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

// waitStats polls p's stats until cond holds or d passes.
func waitStats(t *testing.T, p *Peer, d time.Duration, cond func(Stats) bool) Stats {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(d)
	for {
		s := p.Stats()
		if cond(s) {
			return s
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out; stats %+v", s)
			return s
		}
	}
}

// checkNoPeerGoroutines fails if any goroutine is still running code of
// this package's non-test files: the Peer, its legs and their parts. A
// goroutine whose deferred WaitGroup.Done let Close return may still be on
// its way out, so it looks a few times over 200 ms.
func checkNoPeerGoroutines(t *testing.T) {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self) + "/"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var left []string
	for range 20 {
		if left = peerGoroutines(dir); len(left) == 0 {
			return
		}
		<-tick.C
	}
	t.Errorf("goroutines of Peer survive Close:\n%s", strings.Join(left, "\n\n"))
}

// peerGoroutines returns the stacks of the goroutines with a frame in a
// non-test file of dir.
func peerGoroutines(dir string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, line := range strings.Split(g, "\n") {
			file := strings.TrimSpace(line)
			if strings.HasPrefix(file, dir) && !strings.Contains(file, "_test.go:") {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

// reads reports whether the last picture showed key's colour with a
// readable frame number.
func reads(s Stats, key string) bool {
	tile, ok := s.Tiles[key]
	return ok && tile.FrameNumber >= 0
}

func hasMessage(p *Peer, typ string) bool {
	for _, m := range p.Messages() {
		if m.Type == typ {
			return true
		}
	}
	return false
}

func TestJoinEchoDrop(t *testing.T) {
	s := newEchoServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := Join(ctx, Config{URL: s.url, Call: "c", Role: "agent", Name: "Ann", Loopback: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	defer p.Close()
	cancel() // Join's context bounds only the join: the peer lives on

	st := waitStats(t, p, 10*time.Second, func(s Stats) bool {
		return s.FramesDecoded >= 20 && s.Tiles["agent"].FrameNumber >= 0 && s.AudioFrames >= 60
	})
	if st.Width != 640 || st.Height != 360 {
		t.Errorf("picture %dx%d", st.Width, st.Height)
	}
	tile := st.Tiles["agent"]
	if !near(tile.Box, image.Rect(0, 0, 640, 360), 2) || len(st.Tiles) != 1 {
		t.Errorf("tiles %+v", st.Tiles)
	}
	if st.PLIsReceived < 1 {
		t.Errorf("PLIs received %d, want the server's initial one", st.PLIsReceived)
	}
	if own := st.ToneDBFS["agent"]; own < -16 || own > -8 {
		t.Errorf("own tone %.1f dBFS; levels %v", own, st.ToneDBFS)
	}
	for _, other := range []string{"customer", "third"} {
		if st.ToneDBFS["agent"]-st.ToneDBFS[other] < 30 {
			t.Errorf("%s tone %.1f dBFS; levels %v", other, st.ToneDBFS[other], st.ToneDBFS)
		}
	}
	n := uint16(tile.FrameNumber)
	sent, ok1 := p.SentAt(n)
	recv, ok2 := p.ReceivedAt("agent", n)
	if lat := recv.Sub(sent); !ok1 || !ok2 || lat <= 0 || lat > time.Second {
		t.Errorf("frame %d: sent %v %v, received %v %v", n, sent, ok1, recv, ok2)
	} else {
		t.Logf("loopback echo latency of frame %d: %v", n, lat)
	}
	if !hasMessage(p, "joined") || !hasMessage(p, "call.state") {
		t.Errorf("messages %v", p.Messages())
	}

	// Vanish: the server must see ICE fail, not a DTLS close.
	p.Drop()
	if !s.waitFor(10*time.Second, func() bool {
		return len(s.states) > 0 && s.states[len(s.states)-1] == webrtc.PeerConnectionStateFailed
	}) {
		t.Fatalf("server states after drop: %v", s.states)
	}
	s.mu.Lock()
	for _, st := range s.states {
		if st == webrtc.PeerConnectionStateClosed {
			t.Errorf("server saw a close, not a failure: %v", s.states)
		}
	}
	s.mu.Unlock()
	// The socket is still up.
	if err := p.Send(map[string]string{"type": "leave"}); err != nil {
		t.Fatalf("send after drop: %v", err)
	}
	waitStats(t, p, 5*time.Second, func(Stats) bool { return hasMessage(p, "left") })
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

func TestJoinRefused(t *testing.T) {
	s := newEchoServer(t, func(s *echoServer) { s.refuse = &ServerError{Code: "role_taken", Message: "agent is taken"} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := Join(ctx, Config{URL: s.url, Call: "c", Role: "agent", Loopback: true})
	if p != nil {
		t.Fatal("got a peer")
	}
	serr, ok := err.(*ServerError)
	if !ok || serr.Code != "role_taken" || serr.Message != "agent is taken" {
		t.Fatalf("err = %#v", err)
	}
	checkNoPeerGoroutines(t)
}

func TestJoinTimeout(t *testing.T) {
	s := newEchoServer(t, func(s *echoServer) { s.silent = true })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := Join(ctx, Config{URL: s.url, Call: "c", Role: "agent", Loopback: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	checkNoPeerGoroutines(t)
}

// oneOffBitrate returns a video bitrate (kbps) no test used before in
// this process, so that a loop with it is encoded afresh.
func oneOffBitrate() int {
	return 1700 + int(oneOffBitrates.Add(1))
}

var oneOffBitrates atomic.Int32 // how many oneOffBitrate gave out

// Close stops what a connection state started, and waits for it: here
// the first encode of a loop no other test sends, which the "connected"
// state starts and which is still running when Close is called.
func TestCloseDuringFirstEncode(t *testing.T) {
	s := newEchoServer(t, nil)
	k := loopKey{pattern: "agent", width: 1280, height: 720, fps: 30, bitrateKbps: oneOffBitrate()}
	cfg := Config{URL: s.url, Call: "c", Role: k.pattern, Loopback: true, Logger: testLogger(t),
		Width: k.width, Height: k.height, FPS: k.fps, VideoBitrateKbps: k.bitrateKbps}
	p, err := Connect(ctxFor(t, 5*time.Second), cfg)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer p.Close()
	if err := p.Send(map[string]string{"type": "join", "call": "c", "role": k.pattern}); err != nil {
		t.Fatalf("join: %v", err)
	}
	waitStats(t, p, 10*time.Second, func(s Stats) bool { return s.ConnectionState == "connected" })
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
	loops.mu.Lock()
	e := loops.video[k]
	loops.mu.Unlock()
	if e != nil {
		e.lock <- struct{}{}
		done := e.done
		<-e.lock
		if done {
			t.Error("the loop was encoded to its end: Close did not stop the encode")
		}
	}
}

// Close waits for the handling of a connection state, which pion calls
// on a goroutine nobody waits for: here the "connected" state is held up
// in its log line.
func TestCloseWaitsForConnectionState(t *testing.T) {
	s := newEchoServer(t, nil)
	h := &holdingHandler{msg: "connection state", attr: slog.String("state", "connected"),
		held: make(chan struct{}), release: make(chan struct{})}
	defer h.releaseOnce()
	p, err := Connect(ctxFor(t, 5*time.Second), Config{URL: s.url, Call: "c", Role: "agent", Loopback: true,
		Logger: slog.New(h)})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer p.Close()
	if err := p.Send(map[string]string{"type": "join", "call": "c", "role": "agent"}); err != nil {
		t.Fatalf("join: %v", err)
	}
	select {
	case <-h.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the leg never connected")
	}
	closed := make(chan error)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the connected state was being handled", err)
	case <-time.After(300 * time.Millisecond):
	}
	h.releaseOnce()
	if err := <-closed; err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

// holdingHandler is a slog handler that discards records but holds up the
// first one with message msg and attribute attr until release is closed.
type holdingHandler struct {
	msg       string
	attr      slog.Attr
	held      chan struct{} // closed when that record arrives
	release   chan struct{}
	heldOnce  sync.Once
	closeOnce sync.Once
}

func (h *holdingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *holdingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *holdingHandler) WithGroup(string) slog.Handler            { return h }

func (h *holdingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message != h.msg {
		return nil
	}
	match := false
	r.Attrs(func(a slog.Attr) bool {
		match = match || a.Equal(h.attr)
		return !match
	})
	if !match {
		return nil
	}
	first := false
	h.heldOnce.Do(func() { first = true })
	if first {
		close(h.held)
		<-h.release
	}
	return nil
}

func (h *holdingHandler) releaseOnce() {
	h.closeOnce.Do(func() { close(h.release) })
}

func TestJoinBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{URL: "ws://x/ws", Width: 641, Height: 360},
		{URL: "ws://x/ws", FPS: -1},
	} {
		if _, err := Join(context.Background(), cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: err = %v", cfg, err)
		}
	}
	if _, err := Join(context.Background(), Config{URL: "ws://127.0.0.1:1/ws"}); err == nil {
		t.Error("dial to a closed port succeeded")
	}
}

func TestLeaveAndGarbage(t *testing.T) {
	s := newEchoServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := Join(ctx, Config{URL: s.url, Call: "c", Role: "third", Loopback: true, GarbageVideo: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	defer p.Close()
	// The echoed garbage must be survived: rejected, with key frames
	// requested, and nothing decoded as a picture of ours.
	st := waitStats(t, p, 10*time.Second, func(s Stats) bool {
		return s.FramesSent > 20 && s.DecodeErrors+s.FramesSkipped > 10 && s.PLIsSent > 0
	})
	if st.Tiles["third"].FrameNumber > 0 {
		t.Errorf("read a frame number from garbage: %+v", st.Tiles)
	}
	if err := p.Send(struct{ Type string }{"nonsense"}); err != nil {
		t.Errorf("send: %v", err)
	}
	if err := p.SendRaw([]byte("{not json")); err != nil {
		t.Errorf("send raw: %v", err)
	}
	if err := p.Leave(); err != nil {
		t.Errorf("leave: %v", err)
	}
	if !s.waitFor(5*time.Second, func() bool {
		return len(s.received) > 0 && s.received[len(s.received)-1] == "leave"
	}) {
		t.Errorf("server received %v", s.received)
	}
	if err := p.Send(map[string]string{"type": "leave"}); !errors.Is(err, ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

func TestServerErrorMessage(t *testing.T) {
	err := error(&ServerError{Code: "invalid_field", Message: "call: too long"})
	if got := err.Error(); !strings.Contains(got, "invalid_field") || !strings.Contains(got, "call: too long") {
		t.Errorf("Error() = %q", got)
	}
}
