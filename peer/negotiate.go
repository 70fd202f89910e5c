package peer

import (
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"
)

// negotiation is a leg's offer/answer state. The peer always offers and
// the server answers (PROTOCOL.md); tracks added or removed mid-call need
// a new offer, which waits while one is outstanding.
//
// mu serializes every offer and answer (the read loop, StartShare,
// StopShare, AddVideoTrack) and guards the fields below. It is held
// across pion's calls and the offer's send, and taken before leg.mu; the
// outcome that waiters look at (leg.appliedGen, leg.negErr) is published
// under leg.mu.
type negotiation struct {
	mu         sync.Mutex
	gen        int  // bumped on every change of the sent tracks
	offeredGen int  // gen of the latest offer sent
	needOffer  bool // an offer must follow the outstanding one
	iceRestart bool // the next offer restarts ICE (RestartICE)
	screen     *extraTrack
	extra      []*extraTrack // AddVideoTrack's tracks
	// remoteSet is set once the first answer is applied; the server's
	// candidates wait in pendingRemote until then.
	remoteSet     bool
	pendingRemote []webrtc.ICECandidateInit
}

// offerLocked sends an offer for the leg's current tracks, or, while an
// offer is outstanding, has one sent when its answer is applied. neg.mu
// must be held.
func (l *leg) offerLocked() error {
	pc := l.peerConnection()
	if pc == nil {
		return ErrNotInCall
	}
	if pc.SignalingState() != webrtc.SignalingStateStable {
		l.neg.needOffer = true
		return nil
	}
	l.neg.needOffer = false
	var opts *webrtc.OfferOptions
	if l.neg.iceRestart {
		// The new credentials' candidates are gathered as the offer is
		// made: they wait for the offer, or the server would add them to
		// the ICE session it is about to replace.
		l.neg.iceRestart = false
		opts = &webrtc.OfferOptions{ICERestart: true}
		l.mu.Lock()
		l.offerSent = false
		l.mu.Unlock()
	}
	offer, err := pc.CreateOffer(opts)
	if err != nil {
		return fmt.Errorf("peer: create offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("peer: set local offer: %w", err)
	}
	l.neg.offeredGen = l.neg.gen
	return l.sendOffer(offer.SDP)
}

// sendOffer sends an offer, then the candidates gathered meanwhile, in
// order; only when none is left does onLocalCandidate start sending
// directly.
func (l *leg) sendOffer(sdp string) error {
	if err := l.sig.send(map[string]string{"type": "offer", "sdp": sdp}); err != nil {
		return err
	}
	for {
		l.mu.Lock()
		pending := l.localPending
		l.localPending = nil
		if len(pending) == 0 {
			l.offerSent = true
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		for _, c := range pending {
			l.sendCandidate(c)
		}
	}
}

// applyAnswer applies the server's answer to our latest offer (its
// passive ICE-TCP candidates pointed at forwarders through the leg's
// network), then the
// candidates that arrived before it, and sends an offer that waited for
// it. Only the read loop calls it, for a live leg, so the leg has its
// PeerConnection: build, which ends the leg if it fails before making one,
// ran on the read loop too.
func (l *leg) applyAnswer(sdp string) {
	pc := l.peerConnection()
	l.neg.mu.Lock()
	defer l.neg.mu.Unlock()
	if pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		l.log.Warn("answer without an offer ignored", "state", pc.SignalingState().String())
		return
	}
	sdp, err := l.socket().forwardSDP(sdp)
	if err == nil {
		err = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
	}
	if err != nil {
		err = fmt.Errorf("%w: apply answer: %w", ErrConnection, err)
		l.log.Warn("apply answer", "err", err)
		l.mu.Lock()
		l.negErr, l.negErrGen = err, l.neg.offeredGen
		first := !l.connected
		l.mu.Unlock()
		l.changes.notify()
		if first {
			l.fail(err)
		}
		return
	}
	l.remoteDescriptionSet(pc)
	l.mu.Lock()
	l.appliedGen = l.neg.offeredGen
	l.mu.Unlock()
	l.changes.notify()
	if s := l.neg.screen; s != nil {
		// The screen track may just have been bound: start it clean.
		s.src.forceKey.Store(true)
	}
	if l.neg.needOffer {
		if err := l.offerLocked(); err != nil {
			l.log.Warn("renegotiate", "err", err)
		}
	}
}

// remoteDescriptionSet adds the candidates that were waiting for it.
// neg.mu must be held.
func (l *leg) remoteDescriptionSet(pc *webrtc.PeerConnection) {
	l.neg.remoteSet = true
	for _, c := range l.neg.pendingRemote {
		if err := pc.AddICECandidate(c); err != nil {
			l.log.Warn("add remote candidate", "err", err)
		}
	}
	l.neg.pendingRemote = nil
}

// addRemoteCandidate adds a trickled server candidate (a passive ICE-TCP
// one pointed at a forwarder through the leg's network), or queues it
// until the answer is applied. Like applyAnswer, only the read loop calls it,
// for a live leg, which has its PeerConnection.
func (l *leg) addRemoteCandidate(c webrtc.ICECandidateInit) {
	pc := l.peerConnection()
	fwd, err := l.socket().forwardTCP(c.Candidate)
	if err != nil {
		l.log.Warn("remote candidate", "err", err)
		return
	}
	c.Candidate = fwd
	l.neg.mu.Lock()
	defer l.neg.mu.Unlock()
	if !l.neg.remoteSet {
		l.neg.pendingRemote = append(l.neg.pendingRemote, c)
		return
	}
	if err := pc.AddICECandidate(c); err != nil {
		l.log.Warn("add remote candidate", "err", err)
	}
}

// onLocalCandidate trickles a local candidate (nil: gathering finished),
// holding it back until the leg's first offer has been sent.
func (l *leg) onLocalCandidate(c *webrtc.ICECandidate) {
	l.mu.Lock()
	if !l.offerSent {
		l.localPending = append(l.localPending, c)
		l.mu.Unlock()
		return
	}
	ended := l.ended
	l.mu.Unlock()
	if !ended {
		l.sendCandidate(c)
	}
}

// sendCandidate sends one local candidate; nil ends gathering.
func (l *leg) sendCandidate(c *webrtc.ICECandidate) {
	var init *webrtc.ICECandidateInit
	if c != nil {
		i := c.ToJSON()
		init = &i
	}
	msg := struct {
		Type      string                   `json:"type"`
		Candidate *webrtc.ICECandidateInit `json:"candidate"`
	}{"candidate", init}
	if err := l.sig.send(msg); err != nil {
		l.log.Debug("send candidate", "err", err)
	}
}
