package signaling

import (
	"errors"

	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/call"
)

// onOffer answers the client's offer, creating the leg's PeerConnection on
// the first one. The server's tracks go back on the transceivers the
// client offered; a later offer may add the client's screen share, or
// restart ICE (new credentials) for a party whose media path was lost.
func (s *session) onOffer(l *leg, sdp string) *ProtocolError {
	if sdp == "" {
		return protoErr(CodeInvalidField, "offer has no sdp")
	}
	pc, err := s.peerConnection(l)
	if err != nil {
		return protoErr(CodeInternal, "create peer connection: %v", err)
	}
	if !s.srv.params.NoAudioDTX {
		sdp = withOpusDTX(sdp)
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}
	// An ICE restart gathers anew as the offer is applied: those
	// candidates wait for the answer too (or for the refusal).
	l.mu.Lock()
	l.answered = false
	l.mu.Unlock()
	defer s.releaseOwnCandidates(l)
	if err := pc.SetRemoteDescription(offer); err != nil {
		return protoErr(CodeNegotiationFailed, "apply offer: %v", err)
	}
	if err := s.attachOutputs(l, pc); err != nil {
		return protoErr(CodeInternal, "attach tracks: %v", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return protoErr(CodeNegotiationFailed, "create answer: %v", err)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return protoErr(CodeNegotiationFailed, "apply answer: %v", err)
	}
	s.send(serverMessage{Type: "answer", SDP: answer.SDP})
	return s.flushCandidates(l, pc)
}

// sendOwnCandidate trickles one of the server's candidates, or holds it
// while an offer is being answered.
func (s *session) sendOwnCandidate(l *leg, c webrtc.ICECandidateInit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.answered {
		l.ownPending = append(l.ownPending, c)
		return
	}
	s.send(serverMessage{Type: "candidate", Candidate: &c})
}

// releaseOwnCandidates sends the candidates held for the answer, which is
// now queued ahead of them (or refused).
func (s *session) releaseOwnCandidates(l *leg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answered = true
	for i := range l.ownPending {
		s.send(serverMessage{Type: "candidate", Candidate: &l.ownPending[i]})
	}
	l.ownPending = nil
}

func (s *session) onCandidate(l *leg, c *webrtc.ICECandidateInit) *ProtocolError {
	if c == nil || c.Candidate == "" {
		return nil // end of candidates
	}
	pc := l.peer()
	if pc == nil || pc.RemoteDescription() == nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.candidates) >= 64 {
			return protoErr(CodeInvalidField, "too many candidates before an offer")
		}
		l.candidates = append(l.candidates, *c)
		return nil
	}
	if err := pc.AddICECandidate(*c); err != nil {
		return protoErr(CodeInvalidField, "candidate: %v", err)
	}
	return nil
}

func (s *session) flushCandidates(l *leg, pc *webrtc.PeerConnection) *ProtocolError {
	l.mu.Lock()
	pending := l.candidates
	l.candidates = nil
	l.mu.Unlock()
	var perr *ProtocolError
	for i := range pending {
		if err := pc.AddICECandidate(pending[i]); err != nil && perr == nil {
			perr = protoErr(CodeInvalidField, "candidate: %v", err) // the others still go in
		}
	}
	return perr
}

// peer is the leg's PeerConnection, nil before the first offer.
func (l *leg) peer() *webrtc.PeerConnection {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pc
}

// peerConnection returns the leg's PeerConnection, creating it once.
func (s *session) peerConnection(l *leg) (*webrtc.PeerConnection, error) {
	if pc := l.peer(); pc != nil {
		return pc, nil
	}
	ap := apiParams{ice: s.srv.params.ICE, sockets: s.srv.ice}
	if m := s.srv.observe(); m != nil {
		ap.countSent = m.RTCPSent
	}
	if l.room.mode != call.SFU {
		ap.bandwidth = viewerBandwidth(l.room.mixer.Params())
	}
	api, est, err := newAPI(ap)
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		est.discard()
		return nil, err
	}
	l.mu.Lock()
	l.pc = pc
	l.mu.Unlock()
	if l.ended.Load() { // ended while we built it
		l.closeMedia()
		return nil, errors.New("the party has left")
	}
	if est != nil {
		l.goMedia(func() { s.reportBandwidth(l, est) })
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil || l.ended.Load() {
			return
		}
		s.sendOwnCandidate(l, c.ToJSON())
	})
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		l.log.Debug("connection state", "state", state)
		s.post(func() { s.followConnection(l, pc) })
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
		kind := kindOfTrack(pc, receiver, track.Kind())
		l.goMedia(func() { s.ingest(l, pc, track, receiver, kind) })
	})
	return pc, nil
}

// followConnection tells the center when the leg's media is lost (ICE
// disconnected: nothing, not even an answer to our checks, arrived for
// iceDisconnected; or failed; or checking again after a restart) and when
// it is back. The party keeps its seat meanwhile, reconnecting, for the
// rejoin grace. pion reports states on goroutines of their own, so the
// state is read afresh here rather than trusted from the report.
func (s *session) followConnection(l *leg, pc *webrtc.PeerConnection) {
	if s.currentLeg() != l {
		return
	}
	var lost bool
	switch pc.ConnectionState() {
	case webrtc.PeerConnectionStateConnected:
		if !l.connected.Swap(true) {
			l.room.refresh() // someone to send to now
		}
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed:
		lost = true
	case webrtc.PeerConnectionStateConnecting:
		lost = l.connected.Load()
	default:
		return
	}
	if l.lost.Load() == lost {
		return
	}
	l.lost.Store(lost)
	center := s.srv.center
	if lost {
		l.log.Info("media lost: the party is reconnecting", "state", pc.ConnectionState())
		_ = center.Disconnected(l.callID, l.role)
	} else {
		l.log.Info("media back")
		_ = center.Reconnected(l.callID, l.role)
	}
}

// attachOutputs puts the server's video and audio on the transceivers of
// the client's offer, once each.
func (s *session) attachOutputs(l *leg, pc *webrtc.PeerConnection) error {
	for _, t := range pc.GetTransceivers() {
		var track webrtc.TrackLocal
		switch t.Kind() {
		case webrtc.RTPCodecTypeVideo:
			track = l.videoOut
		case webrtc.RTPCodecTypeAudio:
			track = l.audioOut
		default:
			continue
		}
		if alreadySent(pc, track) {
			continue
		}
		sender, err := pc.AddTrack(track)
		if err != nil {
			return err
		}
		codecType := track.Kind()
		l.goMedia(func() { s.readRTCP(l, sender, codecType) })
	}
	return nil
}

func alreadySent(pc *webrtc.PeerConnection, track webrtc.TrackLocal) bool {
	for _, sender := range pc.GetSenders() {
		if sender.Track() == track {
			return true
		}
	}
	return false
}
