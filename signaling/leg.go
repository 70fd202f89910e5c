package signaling

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/mixer"
)

// leg is one party's presence in one call: its PeerConnection, the tracks
// the server sends it, and the gate that keeps its messages in order.
type leg struct {
	s       *session
	log     *slog.Logger
	room    *room
	callID  string
	role    call.Role
	agentID string

	videoOut webrtc.TrackLocal // composed picture (mcu) or the other's video (sfu)
	audioOut webrtc.TrackLocal // mix-minus (mcu) or the other's audio (sfu)
	// sfuVideo feeds videoOut in sfu mode: the other's camera, or its
	// placeholder while the camera is off.
	sfuVideo *mixer.SFUOutput
	// mix feeds audioOut in mcu mode: the mix-minus, with DTX.
	mix *mixer.OpusOutput

	mu         sync.Mutex
	pc         *webrtc.PeerConnection
	candidates []webrtc.ICECandidateInit // arrived before the remote description
	// Our candidates wait until the answer they belong to is on its way,
	// or a client would get a candidate before any remote description.
	answered   bool
	ownPending []webrtc.ICECandidateInit
	keyframe   func() // asks this party's camera for a key frame
	// limits are the send.limits last sent, owned by the room worker.
	limits sendLimits
	// viewSize is the size the party shows what it receives at
	// (view.size); nil until it says.
	viewSize atomic.Pointer[viewSize]

	gate    sync.Mutex
	ready   bool              // `joined` was sent: messages flow
	held    []json.RawMessage // messages that came before `joined`
	lastSeq uint64            // of the last call.state sent

	ended atomic.Bool
	// lost: the media stopped arriving (ICE disconnected or failed) and
	// the party is reconnecting; a join with its token may take over.
	// Written by the session loop.
	lost atomic.Bool
	// connected: the media connected once, so that ICE checking again (a
	// restart) counts as lost, and the room starts sending to the party.
	// Written by the session loop.
	connected atomic.Bool
	media     sync.WaitGroup // track and RTCP goroutines
}

func newLeg(s *session, callID string, role call.Role, agentID string, mode call.VideoMode) (*leg, error) {
	l := &leg{s: s, callID: callID, role: role, agentID: agentID,
		log: s.srv.log.With("call_id", callID, "party", role)}
	stream := "threeway-" + string(role)
	var err error
	if mode == call.SFU {
		var video *webrtc.TrackLocalStaticRTP
		video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", stream)
		if err == nil {
			l.videoOut = video
			l.sfuVideo = mixer.NewSFUOutput(mixer.SFUOutputParams{Out: video, Logger: l.log,
				Observer: s.srv.params.Media.Observer})
			l.audioOut, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", stream)
		}
	} else {
		l.videoOut, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", stream)
		if err == nil {
			var audio *webrtc.TrackLocalStaticRTP
			audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", stream)
			l.audioOut, l.mix = audio, mixer.NewOpusOutput(audio)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("output tracks: %w", err)
	}
	return l, nil
}

// open lets messages flow: `joined` first, then what was held back.
func (l *leg) open(joined serverMessage) {
	l.gate.Lock()
	defer l.gate.Unlock()
	l.s.send(joined)
	for _, m := range l.held {
		l.s.sendRaw(m)
	}
	l.held = nil
	l.ready = true
}

// deliver sends a message to the party, or holds it until `joined`.
func (l *leg) deliver(m json.RawMessage) {
	l.gate.Lock()
	defer l.gate.Unlock()
	l.deliverLocked(m)
}

func (l *leg) deliverLocked(m json.RawMessage) {
	if !l.ready {
		l.held = append(l.held, m)
		return
	}
	l.s.sendRaw(m)
}

// sendState sends the call as this party sees it; snapshots older than
// one already sent are dropped, so the client never goes back in time.
func (l *leg) sendState(s *call.Snapshot) {
	data, err := json.Marshal(newStateMessage(s, l.role))
	if err != nil {
		l.log.Error("marshal call.state", "err", err)
		return
	}
	l.gate.Lock()
	defer l.gate.Unlock()
	if s.Seq <= l.lastSeq {
		return
	}
	l.lastSeq = s.Seq
	if !l.ready {
		l.held = append(l.held, data)
		return
	}
	l.s.sendState(data)
}

// goMedia runs f as one of the leg's media goroutines, unless the leg has
// ended (closeMedia then waits for them all).
func (l *leg) goMedia(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended.Load() {
		return
	}
	l.media.Add(1)
	go func() {
		defer l.media.Done()
		f()
	}()
}

// end is the leg's one way out once the center has let go of the party,
// or the socket of a party whose seat waits is gone: it unregisters the
// leg and closes its media in the background, since it may run under the
// center's lock, which must not wait for pion.
func (l *leg) end() {
	l.mu.Lock()
	ended := l.ended.Swap(true)
	l.mu.Unlock()
	if ended {
		return
	}
	srv := l.s.srv
	srv.removeLeg(l)
	srv.closers.Add(1)
	go func() {
		defer srv.closers.Done()
		l.closeMedia()
	}()
}

// replaced ends a lost leg whose party joined again from another socket,
// which has its seat now: this socket hears `left` (rejoined).
func (l *leg) replaced() {
	if msg, err := eventMessage(call.Left{Reason: call.ReasonRejoined}); err == nil {
		l.deliver(msg)
	}
	l.end()
}

// closeMedia closes the PeerConnection and waits for the leg's media
// goroutines. Only end calls it, and peerConnection for a leg that ended
// while its PeerConnection was being built.
func (l *leg) closeMedia() {
	l.mu.Lock()
	pc := l.pc
	l.mu.Unlock()
	if pc != nil {
		if err := pc.Close(); err != nil {
			l.log.Debug("close peer connection", "err", err)
		}
	}
	if l.sfuVideo != nil {
		l.sfuVideo.Close()
	}
	l.media.Wait()
}

// requestKeyframe asks this party's camera for a key frame (sfu mode).
func (l *leg) requestKeyframe() {
	l.mu.Lock()
	f := l.keyframe
	l.mu.Unlock()
	if f != nil {
		f()
	}
}

// stateMessage is call.state: the call as one viewer sees it.
type stateMessage struct {
	Type     string            `json:"type"`
	Call     string            `json:"call"`
	You      call.Role         `json:"you"`
	Mode     call.VideoMode    `json:"mode"`
	Parties  []call.PartyState `json:"parties"`
	Layout   call.Layout       `json:"layout"`
	SelfView bool              `json:"self_view"`
	Share    *shareState       `json:"share"`
	View     call.View         `json:"view"`
	Help     *call.HelpState   `json:"help"`
	Ended    bool              `json:"ended,omitempty"`
}

type shareState struct {
	Party call.Role `json:"party"`
}

func newStateMessage(s *call.Snapshot, viewer call.Role) stateMessage {
	me, _ := s.Party(viewer)
	m := stateMessage{Type: "call.state", Call: s.ID, You: viewer, Mode: s.Mode,
		Parties: s.Parties, Layout: me.Layout, SelfView: me.SelfView,
		View: s.ViewOf(viewer), Help: s.Help, Ended: s.Ended}
	if m.Parties == nil {
		m.Parties = []call.PartyState{}
	}
	if s.Share != "" {
		m.Share = &shareState{Party: s.Share}
	}
	return m
}
