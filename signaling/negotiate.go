package signaling

import (
	"errors"
	"io"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// onOffer answers the client's offer, creating the PeerConnection on the
// first one. The composed video and the mix go back on the transceivers
// the client offered.
func (s *session) onOffer(sdp string) *ProtocolError {
	if sdp == "" {
		return protoErr(CodeInvalidField, "offer has no sdp")
	}
	if s.pc == nil {
		if err := s.newPeerConnection(); err != nil {
			return protoErr(CodeInternal, "create peer connection: %v", err)
		}
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}
	if err := s.pc.SetRemoteDescription(offer); err != nil {
		return protoErr(CodeNegotiationFailed, "apply offer: %v", err)
	}
	if err := s.attachOutputs(); err != nil {
		return protoErr(CodeInternal, "attach tracks: %v", err)
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return protoErr(CodeNegotiationFailed, "create answer: %v", err)
	}
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return protoErr(CodeNegotiationFailed, "apply answer: %v", err)
	}
	s.send(serverMessage{Type: "answer", SDP: answer.SDP})
	return s.flushCandidates()
}

// onAnswer applies the client's answer to a server offer.
func (s *session) onAnswer(sdp string) *ProtocolError {
	if s.pc == nil || s.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return protoErr(CodeNegotiationFailed, "no offer of the server is waiting for an answer")
	}
	answer := webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}
	if err := s.pc.SetRemoteDescription(answer); err != nil {
		return protoErr(CodeNegotiationFailed, "apply answer: %v", err)
	}
	return s.flushCandidates()
}

func (s *session) onCandidate(c *webrtc.ICECandidateInit) *ProtocolError {
	if c == nil || c.Candidate == "" {
		return nil // end of candidates
	}
	if s.pc == nil || s.pc.RemoteDescription() == nil {
		if len(s.candidates) >= 64 {
			return protoErr(CodeInvalidField, "too many candidates before an offer")
		}
		s.candidates = append(s.candidates, *c)
		return nil
	}
	if err := s.pc.AddICECandidate(*c); err != nil {
		return protoErr(CodeInvalidField, "candidate: %v", err)
	}
	return nil
}

func (s *session) flushCandidates() *ProtocolError {
	pending := s.candidates
	s.candidates = nil
	for i := range pending {
		if err := s.pc.AddICECandidate(pending[i]); err != nil {
			return protoErr(CodeInvalidField, "candidate: %v", err)
		}
	}
	return nil
}

func (s *session) newPeerConnection() error {
	api, err := newAPI(s.srv.params.ICE)
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	s.pc = pc
	r := s.room // media goroutines keep the room they started in
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		s.send(serverMessage{Type: "candidate", Candidate: &init})
	})
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		s.log.Debug("connection state", "state", state)
		if state == webrtc.PeerConnectionStateFailed {
			s.post(func() {
				if s.pc == pc {
					s.hangup("connection_failed")
				}
			})
		}
	})
	pc.OnTrack(func(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.media.Add(1)
		go func() {
			defer s.media.Done()
			s.ingest(pc, r, track)
		}()
	})
	return nil
}

// attachOutputs puts the composed video and the mix on the transceivers of
// the client's offer, once.
func (s *session) attachOutputs() error {
	r := s.room
	for _, t := range s.pc.GetTransceivers() {
		if t.Sender() != nil && t.Sender().Track() != nil {
			continue
		}
		var track webrtc.TrackLocal
		switch t.Kind() {
		case webrtc.RTPCodecTypeVideo:
			track = s.videoOut
		case webrtc.RTPCodecTypeAudio:
			track = s.audioOut
		default:
			continue
		}
		if alreadySent(s.pc, track) {
			continue
		}
		sender, err := s.pc.AddTrack(track)
		if err != nil {
			return err
		}
		s.media.Add(1)
		go func() {
			defer s.media.Done()
			s.readRTCP(r, sender, track.Kind())
		}()
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

// readRTCP drains a sender's RTCP, which pion's interceptors need, and
// turns the viewer's key frame requests into forced key frames.
func (s *session) readRTCP(r *room, sender *webrtc.RTPSender, kind webrtc.RTPCodecType) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		if kind != webrtc.RTPCodecTypeVideo {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				r.mixer.RequestKeyframe(s.role)
			}
		}
	}
}

// ingest feeds one inbound track into the call's mixer until it ends.
func (s *session) ingest(pc *webrtc.PeerConnection, r *room, track *webrtc.TrackRemote) {
	m := r.mixer
	var err error
	switch track.Kind() {
	case webrtc.RTPCodecTypeVideo:
		s.hasVideo.Store(true)
		r.changed()
		err = m.IngestVideo(s.role, track, func() { s.requestKeyframe(pc, track.SSRC()) })
		s.hasVideo.Store(false)
		r.changed()
	case webrtc.RTPCodecTypeAudio:
		err = m.IngestAudio(s.role, track)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s.log.Debug("track ended", "kind", track.Kind(), "err", err)
	}
}
