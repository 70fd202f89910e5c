package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"
)

// writeTimeout bounds one WebSocket write.
const writeTimeout = 5 * time.Second

// Message is one message the server sent.
type Message struct {
	Type string          // the message's "type" ("" if it had none or was not JSON)
	Raw  json.RawMessage // the whole message as received
	At   time.Time       // when it arrived
}

// Messages returns the server messages received so far, oldest first.
func (p *Peer) Messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.messages)
}

// Send marshals msg to JSON and sends it as one text message.
func (p *Peer) Send(msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("peer: marshal message: %w", err)
	}
	return p.SendRaw(data)
}

// SendRaw sends data verbatim as one text message, so tests can send
// malformed messages.
func (p *Peer) SendRaw(data []byte) error {
	if p.ctx.Err() != nil {
		return fmt.Errorf("peer: send: %w", ErrClosed)
	}
	ctx, cancel := context.WithTimeout(p.ctx, writeTimeout)
	defer cancel()
	p.wsMu.Lock()
	defer p.wsMu.Unlock()
	if err := p.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("peer: websocket write: %w", err)
	}
	return nil
}

// readLoop receives server messages until the socket ends and handles them
// in order.
func (p *Peer) readLoop() {
	defer p.wg.Done()
	defer close(p.readDone)
	for {
		typ, data, err := p.ws.Read(p.ctx)
		if err != nil {
			p.readErr = fmt.Errorf("%w: %w", ErrSocketClosed, err)
			p.mu.Lock()
			p.stats.SocketClosed = true
			p.mu.Unlock()
			p.log.Debug("websocket read ended", "err", err)
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		p.handle(data)
	}
}

// serverMessage holds the fields of every server message type.
type serverMessage struct {
	Type      string                   `json:"type"`
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	Code      string                   `json:"code"`
	Message   string                   `json:"message"`
	Reason    string                   `json:"reason"`
}

// handle records one server message and acts on it.
func (p *Peer) handle(data []byte) {
	var msg serverMessage
	err := json.Unmarshal(data, &msg)
	p.mu.Lock()
	p.messages = append(p.messages, Message{Type: msg.Type, Raw: json.RawMessage(slices.Clone(data)), At: time.Now()})
	p.mu.Unlock()
	if err != nil {
		p.log.Warn("undecodable server message", "err", err)
		return
	}
	switch msg.Type {
	case "joined":
		p.answerJoin(nil)
	case "error":
		serr := &ServerError{Code: msg.Code, Message: msg.Message}
		p.log.Debug("server error", "code", msg.Code, "message", msg.Message)
		if !p.answerJoin(serr) {
			// Before the media is up, a refusal (e.g. negotiation_failed)
			// ends the join; afterwards it is only recorded.
			select {
			case <-p.connected:
			default:
				p.fail(serr)
			}
		}
	case "answer":
		p.applyAnswer(msg.SDP)
	case "offer":
		p.answerOffer(msg.SDP)
	case "candidate":
		p.addRemoteCandidate(msg.Candidate)
	case "left":
		p.log.Debug("left the call", "reason", msg.Reason)
	}
}

// answerJoin delivers the outcome of the join request if it is still
// awaited and reports whether it was.
func (p *Peer) answerJoin(err error) bool {
	if p.sig.joinAnswered {
		return false
	}
	p.sig.joinAnswered = true
	p.joined <- err
	return true
}

// peerConnection returns the PeerConnection, or nil before it exists.
func (p *Peer) peerConnection() *webrtc.PeerConnection {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pc
}

// applyAnswer applies the server's answer to our offer, then the
// candidates that arrived before it.
func (p *Peer) applyAnswer(sdp string) {
	pc := p.peerConnection()
	if pc == nil {
		p.log.Warn("answer before offer ignored")
		return
	}
	err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	if err != nil {
		p.fail(fmt.Errorf("%w: apply answer: %w", ErrConnection, err))
		return
	}
	p.remoteDescriptionSet(pc)
}

// answerOffer answers a renegotiation offer from the server.
func (p *Peer) answerOffer(sdp string) {
	pc := p.peerConnection()
	if pc == nil {
		p.log.Warn("offer before media setup ignored")
		return
	}
	err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
	if err != nil {
		p.log.Warn("apply server offer", "err", err)
		return
	}
	p.remoteDescriptionSet(pc)
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		p.log.Warn("create answer", "err", err)
		return
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		p.log.Warn("set local answer", "err", err)
		return
	}
	if err := p.Send(map[string]string{"type": "answer", "sdp": answer.SDP}); err != nil {
		p.log.Warn("send answer", "err", err)
	}
}

// remoteDescriptionSet adds the candidates that were waiting for it.
func (p *Peer) remoteDescriptionSet(pc *webrtc.PeerConnection) {
	p.sig.remoteSet = true
	for _, c := range p.sig.pendingRemote {
		if err := pc.AddICECandidate(c); err != nil {
			p.log.Warn("add remote candidate", "err", err)
		}
	}
	p.sig.pendingRemote = nil
}

// addRemoteCandidate adds a trickled server candidate, or queues it until
// the answer is applied. A null or empty candidate (end of gathering)
// needs nothing.
func (p *Peer) addRemoteCandidate(c *webrtc.ICECandidateInit) {
	if c == nil || c.Candidate == "" {
		return
	}
	pc := p.peerConnection()
	if pc == nil || !p.sig.remoteSet {
		p.sig.pendingRemote = append(p.sig.pendingRemote, *c)
		return
	}
	if err := pc.AddICECandidate(*c); err != nil {
		p.log.Warn("add remote candidate", "err", err)
	}
}

// onLocalCandidate trickles a local candidate (nil: gathering finished),
// holding it back until the offer has been sent.
func (p *Peer) onLocalCandidate(c *webrtc.ICECandidate) {
	p.mu.Lock()
	if !p.offerSent {
		p.localPending = append(p.localPending, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.sendCandidate(c)
}

// sendCandidate sends one local candidate; nil ends gathering.
func (p *Peer) sendCandidate(c *webrtc.ICECandidate) {
	var init *webrtc.ICECandidateInit
	if c != nil {
		i := c.ToJSON()
		init = &i
	}
	msg := struct {
		Type      string                   `json:"type"`
		Candidate *webrtc.ICECandidateInit `json:"candidate"`
	}{"candidate", init}
	if err := p.Send(msg); err != nil {
		p.log.Debug("send candidate", "err", err)
	}
}

// sendOffer sends the offer, then the candidates gathered meanwhile, in
// order; only when none is left does the candidate callback start sending
// directly.
func (p *Peer) sendOffer(sdp string) error {
	if err := p.Send(map[string]string{"type": "offer", "sdp": sdp}); err != nil {
		return err
	}
	for {
		p.mu.Lock()
		pending := p.localPending
		p.localPending = nil
		if len(pending) == 0 {
			p.offerSent = true
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		for _, c := range pending {
			p.sendCandidate(c)
		}
	}
}
