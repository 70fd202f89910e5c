package signaling_test

import (
	"context"
	"encoding/json"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/peer"
)

// freezeGap is the gap between received pictures that counts as a
// freeze, as in the browsers' freeze count.
const freezeGap = 600 * time.Millisecond

// tcpParty is a party whose UDP is blocked: a bare pion client that
// gathers no candidate of its own, reaches the server over ICE-TCP (it
// dials the server's passive TCP candidates), and counts the frames of
// the composed picture it receives.
type tcpParty struct {
	ws *wsClient
	pc *webrtc.PeerConnection

	mu      sync.Mutex
	frames  int
	last    time.Time // when the last frame ended
	freezes int
	tracks  sync.WaitGroup
}

// joinOverTCP joins a call as role over ICE-TCP only, receiving video and
// audio.
func joinOverTCP(t *testing.T, ts *testServer, callID, role, token string) *tcpParty {
	t.Helper()
	p := &tcpParty{ws: dialWS(t, ts.ws)}
	p.ws.sendJSON(map[string]string{"type": "join", "call": callID, "role": role, "name": role + "-tcp", "token": token})
	p.ws.next("joined")

	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	registry := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, registry); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(registry), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p.pc = pc
	t.Cleanup(func() {
		pc.Close()
		p.tracks.Wait()
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			data, _ := json.Marshal(map[string]any{"type": "candidate", "candidate": init})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = p.ws.conn.Write(ctx, websocket.MessageText, data) // a failure shows as no connection

		}
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if track.Kind() == webrtc.RTPCodecTypeVideo {
			p.tracks.Add(1)
			go p.countFrames(track)
		}
	})
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	p.ws.sendJSON(map[string]string{"type": "offer", "sdp": offer.SDP})
	answer := p.ws.next("answer")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer["sdp"].(string)}); err != nil {
		t.Fatal(err)
	}
	p.addCandidates(t)
	return p
}

// addCandidates adds the server's trickled candidates until the
// connection is up.
func (p *tcpParty) addCandidates(t *testing.T) {
	t.Helper()
	msgs := make(chan map[string]any, 16)
	go func() { // ends as the socket closes, at the latest in cleanup
		defer close(msgs)
		for {
			_, data, err := p.ws.conn.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				msgs <- m
			}
		}
	}()
	deadline := time.After(15 * time.Second)
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for p.pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		select {
		case <-deadline:
			t.Fatalf("no connection over ICE-TCP: state %s", p.pc.ConnectionState())
		case <-poll.C:
		case m := <-msgs:
			if m["type"] != "candidate" {
				continue
			}
			data, _ := json.Marshal(m["candidate"])
			var c webrtc.ICECandidateInit
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatal(err)
			}
			if err := p.pc.AddICECandidate(c); err != nil {
				t.Fatalf("server candidate %s: %v", c.Candidate, err)
			}
		}
	}
	go func() { // keep the socket read so the server never waits on it
		for range msgs {
		}
	}()
}

// sendJSON sends v as one message.
func (c *wsClient) sendJSON(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(data))
}

// countFrames counts the frames of a received video track (the RTP
// marker bit ends each) and the gaps between them of over freezeGap.
func (p *tcpParty) countFrames(track *webrtc.TrackRemote) {
	defer p.tracks.Done()
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if !pkt.Marker {
			continue
		}
		now := time.Now()
		p.mu.Lock()
		if !p.last.IsZero() && now.Sub(p.last) > freezeGap {
			p.freezes++
		}
		p.frames, p.last = p.frames+1, now
		p.mu.Unlock()
	}
}

// counts returns the frames and freezes so far.
func (p *tcpParty) counts() (frames, freezes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames, p.freezes
}

// transport is the protocol of the candidate pair the party uses.
func (p *tcpParty) transport() string {
	for _, r := range p.pc.GetReceivers() {
		if pair, err := r.Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			return pair.Local.Protocol.String()
		}
	}
	return "none"
}

// A party whose UDP is blocked reaches the server over ICE-TCP, on the
// server's one TCP port, and receives the composed picture at the full
// frame rate without freezes; the other party, on UDP, is unaffected.
func TestUDPBlockedPartyConnectsOverTCP(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	customer := joinOverTCP(t, ts, c.Call, "customer", c.Customer.Token)
	agent := ts.join(t, c.Call, "agent", c.Agent.Token)
	if got := customer.transport(); got != "tcp" {
		t.Fatalf("the customer's media goes over %s, want tcp", got)
	}
	if err := waitFor(10*time.Second, func() error { return tilesAt(agent, map[string]image.Rectangle{"agent": equalRects[2][1]}) }); err != nil {
		t.Fatalf("agent: %v", err) // the customer sends no camera: its tile is a placeholder
	}
	if err := waitFor(5*time.Second, func() error {
		if frames, _ := customer.counts(); frames == 0 {
			return errorf("no frame over TCP yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	const window = 5 * time.Second
	frames0, freezes0 := customer.counts()
	agentFPS := measureFPS(map[string]*peer.Peer{"agent": agent}, window)["agent"]
	frames1, freezes1 := customer.counts()
	fps := float64(frames1-frames0) / window.Seconds()
	t.Logf("over TCP the customer receives %.1f fps (%d freezes); the agent over UDP %.1f fps", fps, freezes1-freezes0, agentFPS)
	if fps < 0.8*testFPS || freezes1 > freezes0 {
		t.Errorf("over TCP the customer receives %.1f fps with %d freezes, want at least %.0f and none", fps, freezes1-freezes0, 0.8*testFPS)
	}
	if agentFPS < 0.9*testFPS {
		t.Errorf("the agent receives %.1f fps, want at least %.1f", agentFPS, 0.9*testFPS)
	}
}
