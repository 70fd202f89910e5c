package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"slices"
	"sync"
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
	Token     string                   `json:"token"` // joined: takes the seat back
	// send.limits: what the camera needs to send.
	Width  int `json:"width"`
	Height int `json:"height"`
	FPS    int `json:"fps"`
}

// signalClient is a Peer's signaling WebSocket: it writes messages, reads
// the server's in order, logs them and lets callers wait for them. With
// Config.Reconnect the socket is replaced when it drops (redial); the log
// goes on across sockets.
//
// Its read loop is the only writer of the log, and it hands each message
// to act before logging it, so a waiter that sees a message knows the
// Peer has acted on it. The first three fields never change; writeMu
// serializes writes; wsMu guards ws, which only the read loop replaces;
// readErr is written once, before done is closed; mu guards messages,
// whose entries never change once appended, so a prefix read under mu may
// be used outside it.
type signalClient struct {
	ctx     context.Context // the Peer's: it ends reads and writes
	log     *slog.Logger
	changes *notifier

	writeMu sync.Mutex
	wsMu    sync.Mutex
	ws      *websocket.Conn

	done    chan struct{} // closed when the read loop ends
	readErr error

	mu       sync.Mutex
	messages []Message
}

func newSignalClient(ctx context.Context, ws *websocket.Conn, log *slog.Logger, changes *notifier) *signalClient {
	return &signalClient{ctx: ctx, log: log, changes: changes, ws: ws, done: make(chan struct{})}
}

// send marshals msg to JSON and sends it as one text message.
func (c *signalClient) send(msg any) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("peer: marshal message: %w", err)
	}
	return c.sendRaw(data)
}

// sendRaw sends data verbatim as one text message.
func (c *signalClient) sendRaw(data []byte) error {
	if c.ctx.Err() != nil {
		return fmt.Errorf("peer: send: %w", ErrClosed)
	}
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.socket().Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("peer: websocket write: %w", err)
	}
	return nil
}

// readLoop receives server messages until the socket ends, acting on each
// (act) and then logging it. When the socket drops while the Peer lives,
// dropped (nil: none) may put a new socket in place (replace) and report
// true: reading goes on from it.
func (c *signalClient) readLoop(act func(serverMessage), dropped func(error) bool) {
	defer close(c.done)
	defer func() { c.socket().CloseNow() }() // a socket dialled as Close began
	for {
		typ, data, err := c.socket().Read(c.ctx)
		if err != nil && c.ctx.Err() == nil && dropped != nil && dropped(err) {
			continue
		}
		if err != nil {
			c.readErr = fmt.Errorf("%w: %w", ErrSocketClosed, err)
			c.log.Debug("websocket read ended", "err", err)
			return
		}
		if typ == websocket.MessageText {
			c.handle(data, act)
		}
	}
}

// handle decodes one server message, has act act on it, then logs it and
// wakes waiters.
func (c *signalClient) handle(data []byte, act func(serverMessage)) {
	at := time.Now()
	var msg serverMessage
	err := json.Unmarshal(data, &msg)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		act(msg)
	case errors.As(err, &typeErr):
		// The fields that did decode are usable.
		c.log.Debug("server message with an unexpected field type", "type", msg.Type, "err", err)
		act(msg)
	default:
		c.log.Warn("undecodable server message", "err", err)
	}
	c.mu.Lock()
	c.messages = append(c.messages, Message{Type: msg.Type, Raw: json.RawMessage(slices.Clone(data)), At: at})
	c.mu.Unlock()
	c.changes.notify()
}

// close starts the WebSocket's close handshake, which the read loop
// completes; a server that already went away is not an error.
func (c *signalClient) close() {
	if err := c.socket().Close(websocket.StatusNormalClosure, "bye"); err != nil && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("close websocket", "err", err)
	}
}

// socket is the current WebSocket.
func (c *signalClient) socket() *websocket.Conn {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	return c.ws
}

// replace makes ws the socket, after the last one dropped. Only the read
// loop calls it.
func (c *signalClient) replace(ws *websocket.Conn) {
	c.wsMu.Lock()
	defer c.wsMu.Unlock()
	c.ws = ws
}

// ended reports whether the read loop has ended.
func (c *signalClient) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// mark returns the index the next server message will have.
func (c *signalClient) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.messages)
}

// all returns a copy of the log.
func (c *signalClient) all() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.messages)
}

// scan yields the logged messages from index *next on, with their
// indexes, moving *next past each before yielding it.
func (c *signalClient) scan(next *int) iter.Seq2[int, Message] {
	return func(yield func(int, Message) bool) {
		c.mu.Lock()
		seen := c.messages[*next:len(c.messages):len(c.messages)]
		c.mu.Unlock()
		for _, m := range seen {
			i := *next
			*next++
			if !yield(i, m) {
				return
			}
		}
	}
}

// waitFor returns the first logged message of type typ for which match
// (nil: any) returns true, waiting for it if need be.
func (c *signalClient) waitFor(ctx context.Context, typ string, match func(Message) bool) (Message, error) {
	next := 0
	var found Message
	err := c.await(ctx, typ, func() (bool, error) {
		for _, m := range c.scan(&next) {
			if m.Type == typ && (match == nil || match(m)) {
				found = m
				return true, nil
			}
		}
		return false, nil
	})
	return found, err
}

// await blocks until cond, evaluated without locks held after every
// change, reports done or an error, or until ctx ends or the socket
// closes. what names the wait in errors.
func (c *signalClient) await(ctx context.Context, what string, cond func() (bool, error)) error {
	final := false
	for {
		// Taken before cond looks, so no change after that is missed.
		changed := c.changes.wait()
		done, err := cond()
		if done || err != nil {
			return err
		}
		if final {
			return fmt.Errorf("peer: waiting for %s: %w", what, c.readErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("peer: waiting for %s: %w", what, ctx.Err())
		case <-c.done:
			final = true // one more look: the last message may be the answer
		}
	}
}
