package peer

import (
	"context"
	"encoding/json"
	"errors"
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

// Decode unmarshals the whole message into v.
func (m Message) Decode(v any) error {
	return json.Unmarshal(m.Raw, v)
}

// Field returns the message's top-level field name if it is a string, or
// "".
func (m Message) Field(name string) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(m.Raw, &fields) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(fields[name], &s) != nil {
		return ""
	}
	return s
}

// serverError returns an `error` message as a *ServerError.
func (m Message) serverError() *ServerError {
	var e struct{ Code, Message string }
	_ = m.Decode(&e)
	return &ServerError{Code: e.Code, Message: e.Message}
}

// Messages returns the server messages received so far, oldest first.
// A message is recorded once the peer has acted on it (so after `joined`
// the leg exists, after `answer` it is applied).
func (p *Peer) Messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.messages)
}

// WaitFor returns the first server message, already received or still to
// come, of type typ for which match (nil: any) returns true. It fails when
// ctx ends or the socket closes first. match runs on the caller's
// goroutine, without the peer's lock held.
func (p *Peer) WaitFor(ctx context.Context, typ string, match func(Message) bool) (Message, error) {
	next, final := 0, false
	for {
		p.mu.Lock()
		// Entries below len never change, so the prefix is safe to read
		// unlocked even if an append moves the slice.
		seen := p.messages[next:len(p.messages):len(p.messages)]
		ch := p.changed
		p.mu.Unlock()
		for _, m := range seen {
			if m.Type == typ && (match == nil || match(m)) {
				return m, nil
			}
		}
		next += len(seen)
		if final {
			return Message{}, fmt.Errorf("peer: waiting for %s: %w", typ, p.readErr)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("peer: waiting for %s: %w", typ, ctx.Err())
		case <-p.readDone:
			final = true // one more look at what arrived last
		}
	}
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
// in order. It is the only goroutine that starts legs.
func (p *Peer) readLoop() {
	defer p.wg.Done()
	defer close(p.readDone)
	for {
		typ, data, err := p.ws.Read(p.ctx)
		if err != nil {
			p.readErr = fmt.Errorf("%w: %w", ErrSocketClosed, err)
			p.mu.Lock()
			p.socketClosed = true
			p.notifyLocked()
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

// serverMessage holds the fields of server messages that the peer acts
// on. Only fields with one JSON type across all message types belong here
// (`agent`, for one, is a string in `presence` and an object elsewhere).
type serverMessage struct {
	Type      string                   `json:"type"`
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	Code      string                   `json:"code"`
	Message   string                   `json:"message"`
	Reason    string                   `json:"reason"`
	Role      string                   `json:"role"`
	Request   string                   `json:"request"`
	Party     string                   `json:"party"`
	Call      string                   `json:"call"`
}

// handle acts on one server message, then records it and wakes waiters:
// a waiter that sees a message knows the peer has acted on it.
func (p *Peer) handle(data []byte) {
	at := time.Now()
	var msg serverMessage
	err := json.Unmarshal(data, &msg)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		p.act(msg)
	case errors.As(err, &typeErr):
		// The fields that did decode are usable.
		p.log.Debug("server message with an unexpected field type", "type", msg.Type, "err", err)
		p.act(msg)
	default:
		p.log.Warn("undecodable server message", "err", err)
	}
	p.mu.Lock()
	p.messages = append(p.messages, Message{Type: msg.Type, Raw: json.RawMessage(slices.Clone(data)), At: at})
	p.notifyLocked()
	p.mu.Unlock()
}

// act does what a browser client does on a server message.
func (p *Peer) act(msg serverMessage) {
	switch msg.Type {
	case "joined":
		p.onJoined(msg.Call, msg.Role)
	case "left":
		p.log.Debug("left the call", "reason", msg.Reason)
		p.onLeft(msg.Reason)
	case "error":
		p.log.Debug("server error", "code", msg.Code, "message", msg.Message)
		p.onServerError(&ServerError{Code: msg.Code, Message: msg.Message})
	case "answer":
		p.applyAnswer(msg.SDP)
	case "candidate":
		p.addRemoteCandidate(msg.Candidate)
	case "help.offer":
		if p.cfg.AutoAccept {
			if err := p.Send(map[string]string{"type": "help.accept", "request": msg.Request}); err != nil {
				p.log.Warn("auto-accept", "request", msg.Request, "err", err)
			}
		}
	case "share.stopped":
		// The server ended our share (or we did): stop the screen track
		// as a browser's page would.
		if l := p.liveLeg(); l != nil && msg.Party == l.role {
			if _, err := p.removeScreen(l); err != nil {
				p.log.Warn("stop the screen track", "err", err)
			}
		}
	}
}

// onServerError fails a leg whose media is still being negotiated: before
// the media is up, a refusal (e.g. negotiation_failed) ends the setup;
// afterwards it is only recorded.
func (p *Peer) onServerError(serr *ServerError) {
	p.mu.Lock()
	l := p.leg
	negotiating := l != nil && !l.ended && !l.connected
	p.mu.Unlock()
	if negotiating {
		p.failLeg(l, serr)
	}
}

// applyAnswer applies the server's answer to our latest offer, then the
// candidates that arrived before it, and sends an offer that waited for
// it.
func (p *Peer) applyAnswer(sdp string) {
	l := p.liveLeg()
	pc := p.legPC(l)
	if pc == nil {
		p.log.Warn("answer without a live leg ignored")
		return
	}
	l.negMu.Lock()
	defer l.negMu.Unlock()
	if pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		p.log.Warn("answer without an offer ignored", "state", pc.SignalingState().String())
		return
	}
	err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	if err != nil {
		err = fmt.Errorf("%w: apply answer: %w", ErrConnection, err)
		p.log.Warn("apply answer", "err", err)
		p.mu.Lock()
		l.negErr, l.negErrGen = err, l.offeredGen
		first := !l.connected
		p.notifyLocked()
		p.mu.Unlock()
		if first {
			p.failLeg(l, err)
		}
		return
	}
	p.remoteDescriptionSet(l, pc)
	p.mu.Lock()
	l.appliedGen = l.offeredGen
	p.notifyLocked()
	p.mu.Unlock()
	if s := l.screen; s != nil {
		// The screen track may just have been bound: start it clean.
		s.src.forceKey.Store(true)
	}
	if l.needOffer {
		if err := p.offerLocked(l); err != nil {
			p.log.Warn("renegotiate", "err", err)
		}
	}
}

// remoteDescriptionSet adds the candidates that were waiting for it. Only
// the read loop calls it.
func (p *Peer) remoteDescriptionSet(l *leg, pc *webrtc.PeerConnection) {
	l.remoteSet = true
	for _, c := range l.pendingRemote {
		if err := pc.AddICECandidate(c); err != nil {
			p.log.Warn("add remote candidate", "err", err)
		}
	}
	l.pendingRemote = nil
}

// addRemoteCandidate adds a trickled server candidate, or queues it until
// the answer is applied. A null or empty candidate (end of gathering)
// needs nothing.
func (p *Peer) addRemoteCandidate(c *webrtc.ICECandidateInit) {
	if c == nil || c.Candidate == "" {
		return
	}
	l := p.liveLeg()
	pc := p.legPC(l)
	if pc == nil {
		p.log.Debug("candidate without a live leg ignored")
		return
	}
	if !l.remoteSet {
		l.pendingRemote = append(l.pendingRemote, *c)
		return
	}
	if err := pc.AddICECandidate(*c); err != nil {
		p.log.Warn("add remote candidate", "err", err)
	}
}

// offerLocked sends an offer for l's current tracks, or, while an offer is
// outstanding, has one sent when its answer is applied. l.negMu must be
// held.
func (p *Peer) offerLocked(l *leg) error {
	pc := p.legPC(l)
	if pc == nil {
		return ErrNotInCall
	}
	if pc.SignalingState() != webrtc.SignalingStateStable {
		l.needOffer = true
		return nil
	}
	l.needOffer = false
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("peer: create offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("peer: set local offer: %w", err)
	}
	l.offeredGen = l.gen
	return p.sendOffer(l, offer.SDP)
}

// onLocalCandidate trickles a local candidate (nil: gathering finished),
// holding it back until the leg's first offer has been sent.
func (p *Peer) onLocalCandidate(l *leg, c *webrtc.ICECandidate) {
	p.mu.Lock()
	if !l.offerSent {
		l.localPending = append(l.localPending, c)
		p.mu.Unlock()
		return
	}
	ended := l.ended
	p.mu.Unlock()
	if !ended {
		p.sendCandidate(c)
	}
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

// sendOffer sends an offer, then the candidates gathered meanwhile, in
// order; only when none is left does the candidate callback start sending
// directly.
func (p *Peer) sendOffer(l *leg, sdp string) error {
	if err := p.Send(map[string]string{"type": "offer", "sdp": sdp}); err != nil {
		return err
	}
	for {
		p.mu.Lock()
		pending := l.localPending
		l.localPending = nil
		if len(pending) == 0 {
			l.offerSent = true
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		for _, c := range pending {
			p.sendCandidate(c)
		}
	}
}
