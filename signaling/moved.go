package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/threeway-mcu/threeway/cluster"
)

// upstream is a console carried on to the node of the call it accepted
// to help in: the client keeps its socket to this node, which passes
// every message through to that node and back.
type upstream struct {
	conn  *websocket.Conn
	ended chan struct{} // closed when the other node's socket closes
	// Set before ended closes: how the other node closed, for the client.
	status websocket.StatusCode
	reason string
}

// maxUpstreamMessage bounds a message from another node (an SDP answer,
// a directory), as the client's own are bounded.
const maxUpstreamMessage = 1 << 20

// moveTimeout bounds carrying a console on: the dial, the sign-in and
// the accept on the call's node.
const moveTimeout = 5 * time.Second

// moveConsole accepts request, which rings this console's agent for call
// callID on node, there: the console signs in on node over a socket of
// this node's (with a token issued now) and accepts; once node has
// answered `joined` the socket is node's, and this node's console signs
// out. The client sees one socket throughout. If node refuses, the
// console stays here and the client hears the refusal.
func (s *session) moveConsole(node *cluster.Node, callID, request string) *ProtocolError {
	ctx, cancel := context.WithTimeout(context.Background(), moveTimeout)
	defer cancel()
	token, err := s.srv.tokens.agentToken(s.agentID)
	if err != nil {
		return protoErr(CodeInternal, "%v", err)
	}
	header := http.Header{}
	header.Set(relayKeyHeader, s.srv.params.APIKey)
	header.Set("X-Forwarded-For", s.client)
	u := "ws" + strings.TrimPrefix(node.URL, "http") + "/ws?call=" + callID
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return protoErr(CodeClusterUnavailable, "The call's server (%s) cannot be reached: %v", node.ID, err)
	}
	conn.SetReadLimit(maxUpstreamMessage)
	var said []json.RawMessage // node's answers, for the client once carried on
	for _, step := range []struct {
		msg  map[string]string
		want string
	}{
		{map[string]string{"type": "agent.signin", "token": token}, "presence"},
		{map[string]string{"type": "help.accept", "request": request}, "joined"},
	} {
		answers, perr := exchange(ctx, conn, step.msg, step.want)
		if perr != nil {
			conn.CloseNow()
			return perr
		}
		said = append(said, answers...)
	}
	s.log.Info("console carried on to the call's node", "agent", s.agentID, "call", callID, "node", node.ID)
	s.signOut()
	s.upstream = &upstream{conn: conn, ended: make(chan struct{})}
	for _, m := range said {
		s.sendRaw(m)
	}
	go s.upstream.read(s)
	return nil
}

// exchange sends msg to the other node and reads its answers up to the
// one of type want, which it returns with those before it; an `error`
// first is the refusal.
func exchange(ctx context.Context, conn *websocket.Conn, msg map[string]string, want string) ([]json.RawMessage, *ProtocolError) {
	data, _ := json.Marshal(msg)
	if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
		return nil, protoErr(CodeClusterUnavailable, "The call's server went away: %v", err)
	}
	var answers []json.RawMessage
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return nil, protoErr(CodeClusterUnavailable, "The call's server did not answer %s: %v", msg["type"], err)
		}
		var m struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, protoErr(CodeInternal, "The call's server answered %s with %q", msg["type"], data)
		}
		switch m.Type {
		case "error":
			return nil, protoErr(m.Code, "%s", m.Message)
		case want:
			return append(answers, data), nil
		}
		answers = append(answers, data)
	}
}

// read passes the other node's messages to the client until that socket
// closes; the session then ends with its close.
func (u *upstream) read(s *session) {
	defer close(u.ended)
	for {
		_, data, err := u.conn.Read(context.Background())
		if err != nil {
			u.status, u.reason = websocket.CloseStatus(err), ""
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				u.reason = ce.Reason
			}
			if u.status == -1 {
				u.status = websocket.StatusGoingAway
			}
			return
		}
		s.sendRaw(data)
	}
}

// ping checks the other node still answers, as the session checks its
// client: a node that died unseen is noticed, and the client told.
func (u *upstream) ping() {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := u.conn.Ping(ctx); err != nil {
		u.conn.CloseNow()
	}
}

// close ends the other node's socket without holding the client's close
// up: a node gone quiet would keep a close handshake waiting.
func (u *upstream) close() {
	select {
	case <-u.ended:
		u.conn.CloseNow()
	default:
		go u.conn.Close(websocket.StatusNormalClosure, "")
	}
}

// forward passes a client message on to the other node.
func (u *upstream) forward(data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return u.conn.Write(ctx, websocket.MessageText, data)
}

// upstreamEnded is closed once the session's upstream ends; nil (never) when
// it has none.
func (s *session) upstreamEnded() <-chan struct{} {
	if s.upstream == nil {
		return nil
	}
	return s.upstream.ended
}
