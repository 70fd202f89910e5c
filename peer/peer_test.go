package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// echoServer is a stand-in for the threeway server that speaks the
// signaling protocol and sends each party its own media back, so the
// peer's whole path (signaling, ICE, RTCP, decoding, analysis) runs without
// the real server.
type echoServer struct {
	t      *testing.T
	srv    *httptest.Server
	url    string
	refuse *ServerError // answer join with this error
	silent bool         // never answer join

	mu       sync.Mutex
	received []string // message types from clients
	states   []webrtc.PeerConnectionState
	changed  chan struct{} // signalled on every append
	wg       sync.WaitGroup
}

func newEchoServer(t *testing.T, configure func(*echoServer)) *echoServer {
	s := &echoServer{t: t, changed: make(chan struct{}, 1)}
	if configure != nil {
		configure(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.url = "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/ws"
	t.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.wg.Wait()
	})
	return s
}

func (s *echoServer) note(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// waitFor polls cond (under the server's lock) until it holds or d passes.
func (s *echoServer) waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.After(d)
	for {
		s.mu.Lock()
		ok := cond()
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-s.changed:
		case <-deadline:
			return false
		}
	}
}

func (s *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.t.Errorf("accept: %v", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := r.Context()
	var wmu sync.Mutex
	send := func(v any) {
		b, _ := json.Marshal(v)
		wmu.Lock()
		defer wmu.Unlock()
		_ = c.Write(ctx, websocket.MessageText, b)
	}
	var pc *webrtc.PeerConnection
	defer func() {
		if pc != nil {
			_ = pc.Close()
		}
	}()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			Type      string                   `json:"type"`
			Role      string                   `json:"role"`
			SDP       string                   `json:"sdp"`
			Candidate *webrtc.ICECandidateInit `json:"candidate"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			send(map[string]string{"type": "error", "code": "bad_message", "message": err.Error()})
			continue
		}
		s.note(func() { s.received = append(s.received, m.Type) })
		switch m.Type {
		case "join":
			switch {
			case s.silent:
			case s.refuse != nil:
				send(map[string]string{"type": "error", "code": s.refuse.Code, "message": s.refuse.Message})
			default:
				send(map[string]string{"type": "joined", "call": "c", "role": m.Role})
				send(map[string]any{"type": "call.state", "call": "c",
					"parties": []map[string]any{{"role": m.Role, "name": "x", "video": true}}})
			}
		case "offer":
			if pc, err = s.answer(m.SDP, send); err != nil {
				s.t.Errorf("echo server: %v", err)
				return
			}
		case "candidate":
			if pc != nil && m.Candidate != nil && m.Candidate.Candidate != "" {
				if err := pc.AddICECandidate(*m.Candidate); err != nil {
					s.t.Errorf("add candidate: %v", err)
				}
			}
		case "leave":
			send(map[string]string{"type": "left", "reason": "hangup"})
		}
	}
}

// answer creates the server side of the call: loopback ICE with short
// timeouts, and tracks that echo what the client sends.
func (s *echoServer) answer(offer string, send func(any)) (*webrtc.PeerConnection, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICETimeouts(time.Second, 2*time.Second, 200*time.Millisecond)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.note(func() { s.states = append(s.states, st) })
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			send(map[string]any{"type": "candidate", "candidate": nil})
			return
		}
		send(map[string]any{"type": "candidate", "candidate": c.ToJSON()})
	})
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "echo")
	if err != nil {
		return nil, err
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "echo")
	if err != nil {
		return nil, err
	}
	var videoSSRC atomic.Uint32
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		out := audio
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			out = video
			videoSSRC.Store(uint32(tr.SSRC()))
			// Ask for a key frame as a real server does on a new source.
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
		}
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			_ = out.WriteRTP(pkt)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return pc, err
	}
	for _, track := range []webrtc.TrackLocal{video, audio} {
		sender, err := pc.AddTrack(track)
		if err != nil {
			return pc, err
		}
		go func() {
			// Relay the client's key frame requests to the source.
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.PictureLossIndication); ok && videoSSRC.Load() != 0 {
						_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: videoSSRC.Load()}})
					}
				}
			}
		}()
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return pc, err
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return pc, err
	}
	send(map[string]string{"type": "answer", "sdp": answer.SDP})
	return pc, nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
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
// this package's Peer.
func checkNoPeerGoroutines(t *testing.T) {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "peer.(*Peer)") {
		t.Errorf("goroutines of Peer survive Close:\n%s", buf.String())
	}
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
