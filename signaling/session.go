package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/threeway-mcu/threeway/call"
)

const (
	// outboxSize bounds messages queued to one client; a client that
	// falls this far behind is disconnected rather than slowing the call.
	outboxSize = 128
	// writeTimeout bounds one write to a client; past it the connection
	// is dropped, whatever was half written.
	writeTimeout = 10 * time.Second
	// answerWait is how long a client's answer waits for room in its
	// outbox before the client is cut off (not_reading): shorter than
	// writeTimeout, so that a client that reads again soon after still
	// gets the close and its reason.
	answerWait = 5 * time.Second

	// commandRate and commandBurst bound what one socket may ask of the
	// server: a page sends a few messages a second, and a burst of its
	// ICE candidates on (re)connecting. A message over the limit is
	// answered with rate_limited and not acted on.
	commandRate  = 20
	commandBurst = 50

	// maxMessage is the largest client message read; an SDP offer of a
	// browser is a few KiB.
	maxMessage = 64 << 10
)

// session is one WebSocket. Its run loop owns its state: the call leg it
// is in (if any) and the agent it signed in as (if any). pion callbacks
// reach it through actions.
type session struct {
	srv    *Server
	conn   *websocket.Conn
	log    *slog.Logger
	client string // the client's address, for a node this socket is carried on to

	// outbox holds the messages to write, in order; a nil entry stands
	// for the next of states, the call.states waiting: a newer state
	// replaces the last one waiting rather than queue again, unless a
	// message was queued after it (stateBehind), which the newer state
	// must not overtake.
	outbox      chan json.RawMessage
	stateMu     sync.Mutex
	states      []json.RawMessage
	stateBehind bool
	limit       *rate.Limiter // client messages
	actions     chan func()
	done        chan struct{} // closed when run returns
	stop        chan string   // a reason to end the session, from the server
	cut         chan cutOff   // the client broke a limit: the session ends
	cutting     atomic.Bool   // a cut-off is on its way: nothing more is done

	// Owned by the run loop.
	closeCode   websocket.StatusCode // the socket's close, when the loop ends
	closeReason string
	unflushed   bool // the writer drops what is queued: the client does not read
	leg         *leg
	agentID     string    // signed-in agent console, "" if none
	upstream    *upstream // the node this console was carried on to (moved.go)

	offersMu sync.Mutex
	offers   map[string]string // help requests offered to this console → call id
}

func newSession(srv *Server, conn *websocket.Conn) *session {
	return &session{
		srv:       srv,
		conn:      conn,
		log:       srv.log,
		outbox:    make(chan json.RawMessage, outboxSize),
		limit:     rate.NewLimiter(commandRate, commandBurst),
		actions:   make(chan func(), 16),
		done:      make(chan struct{}),
		stop:      make(chan string, 1),
		cut:       make(chan cutOff, 1),
		closeCode: websocket.StatusNormalClosure,
		offers:    map[string]string{},
	}
}

// pingInterval is how often an idle socket is checked, so that a
// half-open agent console stops being offered help.
const pingInterval = 15 * time.Second

// run serves the session until the socket closes or the server stops it.
func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inbound := make(chan []byte)
	go s.readLoop(ctx, inbound, cancel)
	writerDone := make(chan struct{})
	go s.writeLoop(writerDone, cancel)
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	auth := time.NewTimer(s.srv.params.Sockets.AuthTimeout)
	defer auth.Stop()
	bound := false
	noMedia := newMediaDeadline(s.srv.params.MediaTimeout)
	defer noMedia.stop()

	// A socket that goes away is not a hang-up: the party keeps its seat.
	// Only the server's shutdown ends the leg here.
	reason := ""
	defer func() {
		if reason == "" {
			s.detach()
		} else {
			s.leave(reason)
		}
		s.signOut()
		if s.upstream != nil {
			s.upstream.close()
		}
		close(s.done) // the writer sends what is queued, then stops
		<-writerDone
		s.conn.Close(s.closeCode, s.closeReason)
		cancel()
	}()
	for {
		if s.cutting.Load() {
			s.cutOff(<-s.cut)
			return
		}
		select {
		case <-ctx.Done():
			return
		case reason = <-s.stop:
			return
		case data := <-inbound:
			s.handle(data)
		case <-s.upstreamEnded():
			s.closeCode, s.closeReason = s.upstream.status, s.upstream.reason
			return
		case act := <-s.actions:
			act()
		case c := <-s.cut:
			s.cutOff(c)
			return
		case <-ping.C:
			go s.ping(ctx, cancel)
			if s.upstream != nil {
				go s.upstream.ping()
			}
		case <-auth.C:
			if !s.bound() {
				s.refuse(protoErr(CodeAuthTimeout, "no join or agent.signin within %v", s.srv.params.Sockets.AuthTimeout))
				return
			}
		case <-noMedia.timer.C:
			if l := s.currentLeg(); l != nil && !l.connected.Load() {
				l.log.Info("the party's media did not connect: it leaves", "after", s.srv.params.MediaTimeout)
				s.leave(call.ReasonNoMedia)
			}
		}
		noMedia.follow(s.currentLeg())
		// A socket is bound while it is a party or a console; the clock
		// runs while it is neither. A leg that ends on its own is seen
		// at the latest at the next ping.
		if b := s.bound(); b != bound {
			bound = b
			if b {
				auth.Stop()
			} else {
				auth.Reset(s.srv.params.Sockets.AuthTimeout)
			}
		}
	}
}

// mediaDeadline is the time a party has to connect its media after it
// joined; it runs for one leg at a time, the session's current one.
type mediaDeadline struct {
	timer   *time.Timer
	timeout time.Duration
	leg     *leg
}

func newMediaDeadline(timeout time.Duration) *mediaDeadline {
	t := time.NewTimer(timeout)
	t.Stop()
	return &mediaDeadline{timer: t, timeout: timeout}
}

// follow starts the clock for a leg the session has newly joined, and
// stops it when the session has none.
func (d *mediaDeadline) follow(l *leg) {
	if l == d.leg {
		return
	}
	d.leg = l
	if l == nil {
		d.timer.Stop()
		return
	}
	d.timer.Reset(d.timeout)
}

func (d *mediaDeadline) stop() { d.timer.Stop() }

// bound tells whether the socket is a party of a call or a console.
func (s *session) bound() bool {
	return s.currentLeg() != nil || s.agentID != "" || s.upstream != nil
}

// refuse sends the client a last error and has the session close its
// socket with the error's code as the close reason.
func (s *session) refuse(perr *ProtocolError) {
	s.send(errorMessage(perr))
	s.closeCode, s.closeReason = websocket.StatusPolicyViolation, perr.Code
}

// cutOff is a client's broken limit: the socket is closed with status and
// the error's code as its reason. A client that still reads is told the
// error first; one that does not is sent nothing more.
type cutOff struct {
	status  websocket.StatusCode
	err     *ProtocolError
	reading bool
}

// cutOffLater has the run loop end the session for c, without waiting;
// the first cut-off counts.
func (s *session) cutOffLater(c cutOff) {
	if s.cutting.CompareAndSwap(false, true) {
		s.cut <- c
	}
}

// cutOff ends the session for c; the party keeps its seat, as when its
// socket drops.
func (s *session) cutOff(c cutOff) {
	s.log.Warn("client cut off", "code", c.err.Code, "why", c.err.Message)
	if c.reading {
		s.send(errorMessage(c.err))
	} else {
		s.unflushed = true
	}
	if m := s.srv.observe(); m != nil {
		m.Refused(c.err.Code)
	}
	s.closeCode, s.closeReason = c.status, c.err.Code
}

// shutdown ends the session for a server shutdown.
func (s *session) shutdown() {
	select {
	case s.stop <- call.ReasonServerShutdown:
	default:
	}
}

func (s *session) ping(ctx context.Context, cancel func()) {
	ctx, done := context.WithTimeout(ctx, writeTimeout)
	defer done()
	if err := s.conn.Ping(ctx); err != nil {
		cancel()
	}
}

func (s *session) readLoop(ctx context.Context, inbound chan<- []byte, cancel func()) {
	for {
		typ, data, err := s.read(ctx)
		if errors.Is(err, errTooBig) {
			s.cutOffLater(cutOff{websocket.StatusMessageTooBig,
				protoErr(CodeMessageTooBig, "a message over %d KiB", maxMessage>>10), true})
			return
		}
		if err != nil {
			cancel()
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

// errTooBig is a client message over maxMessage.
var errTooBig = errors.New("message too big")

// read reads one message, at most maxMessage bytes of it.
func (s *session) read(ctx context.Context) (websocket.MessageType, []byte, error) {
	typ, r, err := s.conn.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxMessage+1))
	if err == nil && len(data) > maxMessage {
		err = errTooBig
	}
	return typ, data, err
}

// writeLoop sends queued messages in order. When the session ends it
// sends what is still queued, so a client sees its `left` or last error,
// unless the client is cut off for not reading; a failed write ends the
// session.
func (s *session) writeLoop(done chan<- struct{}, cancel func()) {
	defer close(done)
	for {
		select {
		case msg := <-s.outbox:
			if err := s.write(msg); err != nil {
				cancel()
				return
			}
		case <-s.done:
			if !s.unflushed {
				s.flush()
			}
			return
		}
	}
}

// flush writes what is queued, until a write fails.
func (s *session) flush() {
	for {
		select {
		case msg := <-s.outbox:
			if s.write(msg) != nil {
				return
			}
		default:
			return
		}
	}
}

// write sends one queued message; nil is the newest call.state.
func (s *session) write(msg json.RawMessage) error {
	if msg == nil {
		if msg = s.takeState(); msg == nil {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageText, msg)
}

// send queues a message for the client.
func (s *session) send(msg serverMessage) {
	if data, ok := s.marshal(msg); ok {
		s.sendRaw(data)
	}
}

// marshal encodes a message, logging the failure of one that cannot be.
func (s *session) marshal(msg serverMessage) (json.RawMessage, bool) {
	data, err := json.Marshal(msg)
	if err != nil {
		s.log.Error("marshal message", "type", msg.Type, "err", err)
		return nil, false
	}
	return data, true
}

// sendRaw queues a marshalled message without blocking; a client too far
// behind is disconnected.
func (s *session) sendRaw(msg json.RawMessage) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.queueLocked(msg)
}

// queueLocked puts msg (nil: the next waiting call.state) in the outbox,
// under stateMu so that states and other messages keep their order.
func (s *session) queueLocked(msg json.RawMessage) {
	if msg != nil && len(s.states) > 0 {
		s.stateBehind = true
	}
	select {
	case s.outbox <- msg:
	default:
		s.cutOffLater(cutOff{websocket.StatusPolicyViolation,
			protoErr(CodeNotReading, "%d messages wait for the client to read them", outboxSize), false})
	}
}

// reply queues the answer to one of the client's own messages, waiting
// for room: a client that sends faster than it reads its answers (a
// flood refused with rate_limited) is slowed down through its socket,
// and cut off only if it stops reading altogether.
func (s *session) reply(msg serverMessage) {
	data, ok := s.marshal(msg)
	if !ok || s.cutting.Load() {
		return
	}
	s.stateMu.Lock()
	s.stateBehind = s.stateBehind || len(s.states) > 0
	s.stateMu.Unlock()
	wait := time.NewTimer(answerWait)
	defer wait.Stop()
	select {
	case s.outbox <- data:
	case <-wait.C:
		s.cutOffLater(cutOff{websocket.StatusPolicyViolation,
			protoErr(CodeNotReading, "the client read none of its answers for %v", answerWait), false})
	}
}

// sendState queues a call.state. One still waiting to be written is
// replaced, not queued again: a client that reads slowly gets the latest
// state, and a party that changes the call often cannot fill the others'
// outboxes. A state is never written ahead of a message queued before
// it (a `help.failed` before the state without the request).
func (s *session) sendState(msg json.RawMessage) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if n := len(s.states); n > 0 && !s.stateBehind {
		s.states[n-1] = msg
		return
	}
	s.states = append(s.states, msg)
	s.stateBehind = false
	s.queueLocked(nil)
}

// takeState returns the call.state to write, if one waits.
func (s *session) takeState() json.RawMessage {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if len(s.states) == 0 {
		return nil
	}
	msg := s.states[0]
	s.states = s.states[1:]
	return msg
}

// post runs act on the session loop; it is dropped once the session ended.
func (s *session) post(act func()) {
	select {
	case s.actions <- act:
	case <-s.done:
	}
}

// handle acts on one client message; a refusal goes back as an error.
func (s *session) handle(data []byte) {
	if s.upstream != nil {
		if err := s.upstream.forward(data); err != nil {
			s.log.Debug("console carried on: a message not passed", "err", err)
		}
		return
	}
	env, perr := parseEnvelope(data)
	switch {
	case !s.limit.Allow():
		perr = protoErr(CodeRateLimited, "more than %d messages a second: this one was not acted on", commandRate)
	case perr == nil:
		perr = s.dispatch(env.Type, data)
	}
	if perr != nil {
		if perr.Request == "" {
			perr.Request = env.request()
		}
		if m := s.srv.observe(); m != nil {
			m.Refused(perr.Code)
		}
		s.reply(errorMessage(perr))
	}
}

// currentLeg is the leg this socket is a party of, if it has not ended.
func (s *session) currentLeg() *leg {
	if s.leg != nil && s.leg.ended.Load() {
		s.leg = nil
	}
	return s.leg
}

// join makes this socket a party of a call, admitted by a call token.
func (s *session) join(msg joinMessage) *ProtocolError {
	if s.currentLeg() != nil {
		return protoErr(CodeAlreadyJoined, "This page is already in call %s.", s.leg.callID)
	}
	role, perr := validateJoin(msg)
	if perr != nil {
		return perr
	}
	c, err := s.srv.tokens.check(msg.Token, kindCall)
	if err != nil {
		return protoErr(CodeUnauthorized, "%v", err)
	}
	if c.Call != msg.Call || c.Role != msg.Role {
		return protoErr(CodeUnauthorized, "This link is for another call or role.")
	}
	return s.enter(msg.Call, role, c.Agent, func() (*call.Snapshot, error) {
		return s.srv.center.Join(msg.Call, role, msg.Name, c.Agent)
	})
}

// enter registers a leg, has the center admit the party, and opens the
// leg's message flow with `joined`, which carries a token that takes the
// seat back after a reload or a dropped socket. A leg whose media is lost
// gives way to it (the party rejoining from another socket).
func (s *session) enter(callID string, role call.Role, agentID string, admit func() (*call.Snapshot, error)) *ProtocolError {
	l, err := newLeg(s, callID, role, agentID, s.srv.center.VideoMode())
	if err != nil {
		return protoErr(CodeInternal, "%v", err)
	}
	token, err := s.srv.tokens.callToken(callID, string(role), agentID)
	if err != nil {
		return protoErr(CodeInternal, "%v", err)
	}
	r, displaced, perr := s.srv.addLeg(l)
	if perr != nil {
		return perr
	}
	l.room = r
	// The center tells the new leg its first call.state through the
	// notifier; the leg holds it until `joined` is out.
	if _, err := admit(); err != nil {
		l.ended.Store(true)
		s.srv.removeLeg(l)
		s.srv.restoreLeg(displaced)
		s.srv.closeUnusedRoom(callID)
		return s.srv.clusterEnded(callID, asProtoErr(err))
	}
	if displaced != nil {
		displaced.replaced()
	}
	s.leg = l
	l.open(serverMessage{Type: "joined", Call: callID, Role: string(role), Token: token})
	l.log.Info("party joined", "took_over", displaced != nil)
	return nil
}

// detach lets go of this socket's leg when the socket is gone: the leg's
// media closes, and the party keeps its seat, reconnecting, for the rejoin
// grace. The leg is unregistered first, so that the room stops sending to
// it as it shows the party reconnecting.
func (s *session) detach() {
	l := s.currentLeg()
	if l == nil {
		return
	}
	s.leg = nil
	l.end()
	if err := s.srv.center.Disconnected(l.callID, l.role); err != nil {
		l.log.Debug("socket dropped after the party left", "err", err)
		return
	}
	l.log.Info("party's socket dropped: its seat waits for it")
}

// leave ends this socket's leg, if any.
func (s *session) leave(reason string) {
	l := s.currentLeg()
	if l == nil {
		return
	}
	if err := s.srv.center.Leave(l.callID, l.role, reason); err != nil {
		l.end() // the call already let go of it
	}
	s.leg = nil
	l.log.Info("party left", "reason", reason)
}
