package peer

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"github.com/threeway-mcu/threeway/codec"
)

// echoServer is a stand-in for the threeway server that speaks the
// signaling protocol and sends each party its own media back, so the
// peer's whole path (signaling, ICE, RTCP, decoding, analysis) runs without
// the real server. It also plays the parts of call control the peer
// reacts to: agent sign-in (presence, directory), help offers on demand
// (offerHelp), joined after help.accept, ending a leg (endLeg), shares
// (refused with shareRefuse, ended with stopShare), and it watches the
// media it receives: gaps in the camera stream and the screen share's
// pattern.
type echoServer struct {
	t      *testing.T
	srv    *httptest.Server
	url    string
	refuse *ServerError // answer join with this error
	silent bool         // never answer join
	// tcp, set by useTCP, gives the legs passive ICE-TCP candidates on
	// one port besides UDP, as the threeway server's --tcp-port does.
	tcp ice.TCPMux

	mu          sync.Mutex
	received    []string // message types from clients
	fromClients []clientMsg
	states      []webrtc.PeerConnectionState
	conns       []*echoConn
	offered     map[string]bool // help requests offered and still open
	shareRefuse string          // refuse share.start with this code
	sharing     string          // the role sharing, or ""
	offers      int             // offers answered
	// camera: the client's camera stream as received.
	cameraPackets int
	cameraLast    time.Time
	cameraSeq     uint16
	cameraTS      uint32
	gaps          []mediaGap
	// screen: the client's screen share as received.
	screenTracks  []string // stream ids of screen tracks
	screenPackets int
	screenLast    time.Time
	screenNumbers []int // frame numbers read from decoded screen frames

	changed chan struct{} // signalled on every change
	wg      sync.WaitGroup
}

// clientMsg is one message a client sent.
type clientMsg struct {
	Type string
	Raw  json.RawMessage
}

// mediaGap is a pause of the camera stream seen by the server.
type mediaGap struct {
	wall     time.Duration // between the packets around the pause
	seqDelta uint16        // 1: no sequence numbers skipped
	tsDelta  uint32        // RTP time between them (90 kHz)
	key      bool          // the first frame after is a key frame
}

// echoConn is one client socket.
type echoConn struct {
	send  func(any)
	close func() // closes the socket from the server's side
	mu    sync.Mutex
	pc    *webrtc.PeerConnection
	role  string
}

func newEchoServer(t *testing.T, configure func(*echoServer)) *echoServer {
	s := &echoServer{t: t, changed: make(chan struct{}, 1), offered: map[string]bool{}}
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

// waitFor waits (woken by every change) until cond, run under the
// server's lock, holds or d passes.
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

// countReceived counts the client messages of type typ.
func (s *echoServer) countReceived(typ string) int {
	n := 0
	for _, m := range s.received {
		if m == typ {
			n++
		}
	}
	return n
}

// lastConn is the most recent client socket.
func (s *echoServer) lastConn() *echoConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[len(s.conns)-1]
}

// offerHelp sends a help.offer for request to the latest socket.
func (s *echoServer) offerHelp(request string) {
	s.note(func() { s.offered[request] = true })
	s.lastConn().send(map[string]any{
		"type": "help.offer", "request": request, "call": "c", "mode": "agent",
		"from": map[string]string{"id": "alice", "name": "Alice"}, "customer": "Ann", "expires_in_ms": 20000,
	})
}

// endLeg ends the latest socket's leg as the server does: `left`, and its
// PeerConnection closed.
func (s *echoServer) endLeg(reason string) {
	c := s.lastConn()
	c.send(map[string]string{"type": "left", "reason": reason})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pc != nil {
		_ = c.pc.Close()
		c.pc = nil
	}
}

// stopShare ends the latest socket's share from the server side.
func (s *echoServer) stopShare(reason string) {
	c := s.lastConn()
	s.note(func() { s.sharing = "" })
	c.send(map[string]string{"type": "share.stopped", "party": c.role, "reason": reason})
	c.send(s.callState(c.role))
}

// callState is the call.state the stand-in sends: one party, and the
// share if any.
func (s *echoServer) callState(role string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var share any
	if s.sharing != "" {
		share = map[string]string{"party": s.sharing}
	}
	return map[string]any{"type": "call.state", "call": "c", "you": role, "share": share,
		"parties": []map[string]any{{"role": role, "name": "x", "video": true, "audio": true}}}
}

func (s *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		s.t.Errorf("accept: %v", err)
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	ctx := r.Context()
	var wmu sync.Mutex
	c := &echoConn{send: func(v any) {
		b, _ := json.Marshal(v)
		wmu.Lock()
		defer wmu.Unlock()
		_ = ws.Write(ctx, websocket.MessageText, b)
	}, close: func() { _ = ws.CloseNow() }}
	s.note(func() { s.conns = append(s.conns, c) })
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.pc != nil {
			_ = c.pc.Close()
		}
	}()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		if !s.handle(c, data) {
			return
		}
	}
}

// handle answers one client message; false ends the connection.
func (s *echoServer) handle(c *echoConn, data []byte) bool {
	var m struct {
		Type      string                   `json:"type"`
		Role      string                   `json:"role"`
		SDP       string                   `json:"sdp"`
		Token     string                   `json:"token"`
		Request   string                   `json:"request"`
		Candidate *webrtc.ICECandidateInit `json:"candidate"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		c.send(map[string]string{"type": "error", "code": "bad_message", "message": err.Error()})
		return true
	}
	s.note(func() {
		s.received = append(s.received, m.Type)
		s.fromClients = append(s.fromClients, clientMsg{m.Type, json.RawMessage(data)})
	})
	switch m.Type {
	case "join":
		switch {
		case s.silent:
		case s.refuse != nil:
			c.send(map[string]string{"type": "error", "code": s.refuse.Code, "message": s.refuse.Message})
		default:
			c.role = m.Role
			c.send(map[string]string{"type": "joined", "call": "c", "role": m.Role})
			c.send(s.callState(m.Role))
		}
	case "agent.signin":
		if m.Token != "agent-token" {
			c.send(map[string]string{"type": "error", "code": "unauthorized", "message": "bad agent token"})
			return true
		}
		c.send(map[string]string{"type": "presence", "agent": "bob", "state": "idle", "since": time.Now().Format(time.RFC3339)})
		c.send(map[string]any{"type": "directory",
			"queues": []map[string]string{{"id": "billing", "name": "Billing"}},
			"agents": []map[string]string{{"id": "bob", "name": "Bob", "state": "idle"}}})
	case "help.accept":
		s.mu.Lock()
		open := s.offered[m.Request]
		delete(s.offered, m.Request)
		s.mu.Unlock()
		if !open {
			c.send(map[string]string{"type": "error", "code": "no_such_request", "message": "not offered", "request": m.Request})
			return true
		}
		c.role = "third"
		c.send(map[string]string{"type": "joined", "call": "c", "role": "third"})
		c.send(s.callState("third"))
	case "help.reject":
		s.note(func() { delete(s.offered, m.Request) })
	case "share.start":
		s.mu.Lock()
		refuse := s.shareRefuse
		if refuse == "" {
			s.sharing = c.role
		}
		s.mu.Unlock()
		if refuse != "" {
			c.send(map[string]any{"type": "error", "code": refuse, "message": "share refused", "parties": []string{"third"}})
			return true
		}
		c.send(s.callState(c.role))
	case "share.stop":
		s.mu.Lock()
		was := s.sharing == c.role
		if was {
			s.sharing = ""
		}
		s.mu.Unlock()
		if !was {
			c.send(map[string]string{"type": "error", "code": "not_sharing", "message": "not sharing"})
			return true
		}
		c.send(s.callState(c.role))
	case "offer":
		if err := s.answer(c, m.SDP); err != nil {
			s.t.Errorf("echo server: %v", err)
			return false
		}
	case "candidate":
		c.mu.Lock()
		pc := c.pc
		c.mu.Unlock()
		if pc != nil && m.Candidate != nil && m.Candidate.Candidate != "" {
			if err := pc.AddICECandidate(*m.Candidate); err != nil {
				s.t.Errorf("add candidate: %v", err)
			}
		}
	case "leave":
		c.send(map[string]string{"type": "left", "reason": "hangup"})
	}
	return true
}

// answer answers a client offer: the first creates the server side of the
// leg (loopback ICE with short timeouts, tracks that echo what the client
// sends), later ones renegotiate it.
func (s *echoServer) answer(c *echoConn, offer string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pc == nil {
		pc, err := s.newPeerConnection(c)
		if err != nil {
			return err
		}
		c.pc = pc
	}
	pc := c.pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return err
	}
	s.note(func() { s.offers++ })
	c.send(map[string]string{"type": "answer", "sdp": answer.SDP})
	return nil
}

func (s *echoServer) newPeerConnection(c *echoConn) (*webrtc.PeerConnection, error) {
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
	if s.tcp != nil {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
		se.SetICETCPMux(s.tcp)
	}
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
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			c.send(map[string]any{"type": "candidate", "candidate": nil})
			return
		}
		c.send(map[string]any{"type": "candidate", "candidate": cand.ToJSON()})
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
		switch {
		case tr.Kind() == webrtc.RTPCodecTypeAudio:
			s.echo(tr, audio, nil)
		case strings.HasSuffix(tr.StreamID(), "-screen"):
			s.note(func() { s.screenTracks = append(s.screenTracks, tr.StreamID()) })
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
			s.watchScreen(tr)
		default:
			videoSSRC.Store(uint32(tr.SSRC()))
			// Ask for a key frame as a real server does on a new source.
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
			s.echo(tr, video, s.watchCamera)
		}
	})
	// The first offer's transceivers carry the echo back.
	for _, track := range []webrtc.TrackLocal{video, audio} {
		sender, err := pc.AddTrack(track)
		if err != nil {
			return nil, err
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
	return pc, nil
}

// echo forwards tr's packets to out, showing each to watch first.
func (s *echoServer) echo(tr *webrtc.TrackRemote, out *webrtc.TrackLocalStaticRTP, watch func(*rtp.Packet)) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if watch != nil {
			watch(pkt)
		}
		_ = out.WriteRTP(pkt)
	}
}

// gapThreshold is the pause of the camera stream that counts as a gap.
const gapThreshold = 300 * time.Millisecond

// watchCamera counts camera packets and records pauses.
func (s *echoServer) watchCamera(pkt *rtp.Packet) {
	now := time.Now()
	s.note(func() {
		if s.cameraPackets > 0 && now.Sub(s.cameraLast) > gapThreshold {
			s.gaps = append(s.gaps, mediaGap{
				wall: now.Sub(s.cameraLast), seqDelta: pkt.SequenceNumber - s.cameraSeq,
				tsDelta: pkt.Timestamp - s.cameraTS, key: isVP8KeyframeStart(pkt.Payload),
			})
		}
		s.cameraPackets++
		s.cameraLast, s.cameraSeq, s.cameraTS = now, pkt.SequenceNumber, pkt.Timestamp
	})
}

// isVP8KeyframeStart reports whether payload starts a VP8 key frame.
func isVP8KeyframeStart(payload []byte) bool {
	var vp8 codecs.VP8Packet
	data, err := vp8.Unmarshal(payload)
	return err == nil && vp8.S == 1 && vp8.PID == 0 && len(data) > 0 && data[0]&1 == 0
}

// watchScreen decodes the client's screen track and records the frame
// numbers it reads in the screen colour.
func (s *echoServer) watchScreen(tr *webrtc.TrackRemote) {
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		s.t.Errorf("decoder: %v", err)
		return
	}
	defer dec.Close()
	sb := samplebuilder.New(128, &codecs.VP8Packet{}, 90000)
	frame := &codec.Frame{}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		s.note(func() { s.screenPackets++; s.screenLast = now })
		sb.Push(pkt)
		for sample := sb.Pop(); sample != nil; sample = sb.Pop() {
			if dec.Decode(sample.Data, frame) != nil {
				continue
			}
			if tile, ok := FindTiles(frame)[ScreenKey]; ok && tile.FrameNumber >= 0 {
				s.note(func() { s.screenNumbers = append(s.screenNumbers, tile.FrameNumber) })
			}
		}
	}
}
