package signaling

import (
	"errors"
	"io"
	"log/slog"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/mixer"
)

// readRTCP drains a sender's RTCP, which pion's interceptors need, turns
// the viewer's key frame requests into key frames and tells the mixer the
// loss the listener reports.
func (s *session) readRTCP(l *leg, sender *webrtc.RTPSender, codecType webrtc.RTPCodecType) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		if codecType != webrtc.RTPCodecTypeVideo {
			l.room.audioLoss(l, pkts)
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication:
				s.countRTCP("pli")
				l.room.keyframeFor(l)
			case *rtcp.FullIntraRequest:
				s.countRTCP("fir")
				l.room.keyframeFor(l)
			case *rtcp.TransportLayerNack:
				s.countRTCP("nack")
			}
		}
	}
}

// trackKind is what a party's inbound track carries: its camera, its
// microphone or its screen.
type trackKind int

const (
	camera trackKind = iota
	microphone
	screen
	extra // anything else, such as a shared tab's sound: not used
)

// kindOfTrack tells a party's tracks apart by their place in its offer:
// the first video m-line is the camera, a later one the screen; the first
// audio m-line is the microphone.
func kindOfTrack(pc *webrtc.PeerConnection, receiver *webrtc.RTPReceiver, codecType webrtc.RTPCodecType) trackKind {
	for _, t := range pc.GetTransceivers() {
		if t.Kind() != codecType {
			continue
		}
		first := t.Receiver() == receiver
		switch {
		case codecType == webrtc.RTPCodecTypeVideo && first:
			return camera
		case codecType == webrtc.RTPCodecTypeVideo:
			return screen
		case first:
			return microphone
		default:
			return extra
		}
	}
	return extra
}

// ingest feeds one inbound track into the call's media until it ends.
func (s *session) ingest(l *leg, pc *webrtc.PeerConnection, track *webrtc.TrackRemote, r *webrtc.RTPReceiver, kind trackKind) {
	pli := func() { requestKeyframe(pc, track.SSRC(), l) }
	in := &codecGate{track: track, pt: uint8(track.PayloadType()), discarded: s.srv.packetDiscarded}
	var err error
	switch {
	case kind == extra:
		return
	case l.room.mode == call.SFU && kind == screen:
		return // sfu mode forwards one camera; shares are refused there
	case l.room.mode == call.SFU && kind == camera:
		l.mu.Lock()
		l.keyframe = pli
		l.mu.Unlock()
		pli()
		err = l.room.forward.Forward(forwardID(l.role, webrtc.RTPCodecTypeVideo), in)
	case l.room.mode == call.SFU:
		err = l.room.forward.Forward(forwardID(l.role, webrtc.RTPCodecTypeAudio), in)
	case kind == camera:
		l.mu.Lock()
		l.keyframe = pli // a tile that grows asks for a key frame at its new size
		l.mu.Unlock()
		err = l.room.mixer.IngestVideo(string(l.role), in, pli)
	case kind == screen:
		err = ingestScreen(l, in, pli)
	default:
		format := mixer.VoiceFormat{Codec: mixer.Opus, LevelExtension: audioLevelExtension(r)}
		if s.srv.params.NoAudioDTX {
			format.LevelExtension = 0
		}
		err = l.room.mixer.IngestVoice(string(l.role), in, format)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		l.log.Debug("track ended", "kind", track.Kind(), "err", err)
	}
}

// audioLevelExtension is the id the audio level extension (RFC 6464) was
// negotiated under for r's track, or 0.
func audioLevelExtension(r *webrtc.RTPReceiver) uint8 {
	for _, ext := range r.GetParameters().HeaderExtensions {
		if ext.URI == sdp.AudioLevelURI {
			return uint8(ext.ID)
		}
	}
	return 0
}

// codecGate passes a track's packets of the payload type it began with
// and drops the rest, counted: a packet under a payload type the answer
// did not offer (whose read pion fails, which would end the track) or
// under another codec's must neither end the party's media nor reach its
// decoder. Retransmissions come back under the media's own type.
type codecGate struct {
	track     *webrtc.TrackRemote
	pt        uint8
	discarded func()
}

func (g *codecGate) Read(b []byte) (int, interceptor.Attributes, error) {
	for {
		n, attrs, err := g.track.Read(b)
		switch {
		case errors.Is(err, webrtc.ErrCodecNotFound):
		case err != nil:
			return n, attrs, err
		case n < 2 || b[1]&0x7f == g.pt:
			return n, attrs, nil // too short for RTP: the ingest drops it
		}
		g.discarded()
	}
}

// errNotSharing ends a screen track's feed into the mixer when its party
// is not (or no longer) the sharer.
var errNotSharing = errors.New("the party is not sharing")

// ingestScreen feeds a party's second video track to the call's one
// screen source only while that party is the sharer, so that a stray
// video track (one not allowed, or left from an ended share) never takes
// the screen's place; meanwhile its packets are read and dropped.
func ingestScreen(l *leg, track mixer.RTPReader, pli func()) error {
	g := &sharerGate{r: track, room: l.room, role: l.role, log: l.log}
	for {
		if err := g.waitForShare(); err != nil {
			return err
		}
		err := l.room.mixer.IngestVideo(call.ScreenSource, g, pli)
		if !errors.Is(err, errNotSharing) {
			return err
		}
	}
}

// sharerGate passes a screen track's packets while its party shares.
type sharerGate struct {
	r      mixer.RTPReader
	room   *room
	role   call.Role
	log    *slog.Logger
	logged bool
}

// Read reads the next packet, or fails with errNotSharing (dropping it)
// once the party no longer shares.
func (g *sharerGate) Read(b []byte) (int, interceptor.Attributes, error) {
	n, attrs, err := g.r.Read(b)
	if err == nil && g.room.sharer() != g.role {
		return 0, nil, errNotSharing
	}
	return n, attrs, err
}

// waitForShare reads and drops packets until the party shares.
func (g *sharerGate) waitForShare() error {
	buf := make([]byte, 1500)
	for g.room.sharer() != g.role {
		if _, _, err := g.r.Read(buf); err != nil {
			return err
		}
		if !g.logged && g.room.sharer() != g.role {
			g.logged = true
			g.log.Warn("dropping a second video track: the party is not sharing its screen")
		}
	}
	return nil
}

// requestKeyframe sends a PLI for an inbound video track.
func requestKeyframe(pc *webrtc.PeerConnection, ssrc webrtc.SSRC, l *leg) {
	err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
	if err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		l.log.Debug("send PLI", "err", err)
	}
}

func (s *session) countRTCP(typ string) {
	if m := s.srv.observe(); m != nil {
		m.RTCPReceived(typ)
	}
}
