package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

const (
	// outboxSize bounds messages queued to one client; a client that
	// falls this far behind is disconnected rather than slowing the call.
	outboxSize   = 64
	writeTimeout = 5 * time.Second
)

// session is one WebSocket: one party once joined. Its run loop owns the
// party's state; pion callbacks reach it through actions.
type session struct {
	srv  *Server
	conn *websocket.Conn
	log  *slog.Logger

	outbox  chan serverMessage
	actions chan func()
	done    chan struct{} // closed when run returns

	// Owned by the run loop.
	room       *room
	pc         *webrtc.PeerConnection
	candidates []webrtc.ICECandidateInit // arrived before the remote description
	media      sync.WaitGroup            // track and RTCP goroutines

	// Set before the session joins its room; read-only after.
	role, name string
	videoOut   *webrtc.TrackLocalStaticSample
	audioOut   *webrtc.TrackLocalStaticSample
	hasVideo   atomic.Bool
}

func newSession(srv *Server, conn *websocket.Conn) *session {
	return &session{
		srv:     srv,
		conn:    conn,
		log:     srv.log,
		outbox:  make(chan serverMessage, outboxSize),
		actions: make(chan func(), 16),
		done:    make(chan struct{}),
	}
}

// run serves the session until the client leaves or the socket fails.
func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inbound := make(chan []byte)
	go s.readLoop(ctx, inbound, cancel)
	writerDone := make(chan struct{})
	go s.writeLoop(ctx, writerDone, cancel)

	defer func() {
		s.hangup("hangup")
		close(s.done) // the writer sends what is queued, then stops
		<-writerDone
		s.conn.Close(websocket.StatusNormalClosure, "")
		cancel()
		s.media.Wait()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case data := <-inbound:
			if !s.handle(data) {
				return
			}
		case act := <-s.actions:
			act()
			if s.room == nil && s.role != "" {
				return // the action ended the party (its connection failed)
			}
		}
	}
}

func (s *session) readLoop(ctx context.Context, inbound chan<- []byte, cancel func()) {
	defer cancel()
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			s.send(errorMessage(protoErr(CodeBadMessage, "binary messages are not part of the protocol")))
			continue
		}
		select {
		case inbound <- data:
		case <-ctx.Done():
			return
		}
	}
}

// writeLoop sends queued messages in order. When the session ends it
// sends what is still queued, so a client sees its `left` or last error.
func (s *session) writeLoop(ctx context.Context, done chan<- struct{}, cancel func()) {
	defer close(done)
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-s.outbox:
			if err := s.write(ctx, msg); err != nil {
				cancel()
				return
			}
		case <-s.done:
			for {
				select {
				case msg := <-s.outbox:
					if s.write(ctx, msg) != nil {
						return
					}
				default:
					return
				}
			}
		}
	}
}

func (s *session) write(ctx context.Context, msg serverMessage) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("marshal %s: %w", msg.Type, err)
	}
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, data)
}

// send queues a message for the client without blocking; a client too far
// behind is disconnected.
func (s *session) send(msg serverMessage) {
	select {
	case s.outbox <- msg:
	default:
		s.log.Warn("client not reading, disconnecting", "party", s.role)
		s.conn.CloseNow()
	}
}

// post runs act on the session loop; it is dropped once the session ended.
func (s *session) post(act func()) {
	select {
	case s.actions <- act:
	case <-s.done:
	}
}

// handle acts on one client message and reports whether to keep going.
func (s *session) handle(data []byte) bool {
	msg, perr := parseClientMessage(data)
	if perr == nil {
		perr = s.dispatch(msg)
	}
	if perr != nil {
		s.send(errorMessage(perr))
	}
	return msg.Type != "leave" || perr != nil
}

func (s *session) dispatch(msg clientMessage) *ProtocolError {
	if msg.Type == "join" {
		return s.join(msg)
	}
	if s.room == nil {
		switch msg.Type {
		case "offer", "answer", "candidate", "leave":
			return protoErr(CodeNotJoined, "send join first")
		}
	}
	switch msg.Type {
	case "offer":
		return s.onOffer(msg.SDP)
	case "answer":
		return s.onAnswer(msg.SDP)
	case "candidate":
		return s.onCandidate(msg.Candidate)
	case "leave":
		s.hangup("hangup")
		return nil
	}
	return protoErr(CodeUnknownType, "unknown message type %q", msg.Type)
}

func (s *session) join(msg clientMessage) *ProtocolError {
	if s.role != "" {
		return protoErr(CodeAlreadyJoined, "this connection already joined call %s", s.room.id)
	}
	if perr := validateJoin(msg); perr != nil {
		return perr
	}
	r, err := s.srv.room(msg.Call)
	if err != nil {
		return protoErr(CodeInternal, "open call: %v", err)
	}
	videoOut, audioOut, err := outputTracks(msg.Role)
	if err != nil {
		return protoErr(CodeInternal, "%v", err)
	}
	s.name, s.videoOut, s.audioOut = msg.Name, videoOut, audioOut
	s.role = msg.Role
	if perr := r.join(s, msg.Role); perr != nil {
		s.role = ""
		if r.isEmpty() {
			s.srv.dropRoom(r)
		}
		return perr
	}
	s.room = r
	s.log = r.log.With("party", msg.Role)
	r.mixer.SetLabel(msg.Role, label(msg.Role, msg.Name))
	r.mixer.SetListener(msg.Role, audioOut)
	s.send(serverMessage{Type: "joined", Call: r.id, Role: msg.Role})
	r.changed()
	s.log.Info("party joined", "name", msg.Name)
	return nil
}

func label(role, name string) string {
	if name == "" {
		return role
	}
	return role + ": " + name
}

func outputTracks(role string) (video, audio *webrtc.TrackLocalStaticSample, err error) {
	video, err = webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "threeway-"+role)
	if err != nil {
		return nil, nil, fmt.Errorf("video track: %w", err)
	}
	audio, err = webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "threeway-"+role)
	if err != nil {
		return nil, nil, fmt.Errorf("audio track: %w", err)
	}
	return video, audio, nil
}

// hangup takes the party out of its call and closes its media. It is safe
// to call more than once.
func (s *session) hangup(reason string) {
	if s.room == nil {
		return
	}
	r := s.room
	s.room = nil
	if s.pc != nil {
		if err := s.pc.Close(); err != nil {
			s.log.Debug("close peer connection", "err", err)
		}
	}
	if r.leave(s) {
		s.srv.dropRoom(r)
	}
	s.send(serverMessage{Type: "left", Reason: reason})
	s.log.Info("party left", "reason", reason)
}

// requestKeyframe sends a PLI for the party's inbound video.
func (s *session) requestKeyframe(pc *webrtc.PeerConnection, ssrc webrtc.SSRC) {
	err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
	if err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		s.log.Debug("send PLI", "err", err)
	}
}
