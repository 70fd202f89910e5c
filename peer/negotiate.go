package peer

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

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
		p.changes.notify()
		p.mu.Unlock()
		if first {
			p.failLeg(l, err)
		}
		return
	}
	p.remoteDescriptionSet(l, pc)
	p.mu.Lock()
	l.appliedGen = l.offeredGen
	p.changes.notify()
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
