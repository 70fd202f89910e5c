package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/coder/websocket"

	"github.com/threeway-mcu/threeway/call"
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

// moveConsole accepts request, which rings this console's agent for call
// callID on node, there: the console signs in on node over a socket of
// this node's and accepts; from then on the socket is node's, and this
// node's console signs out. The client sees one socket throughout.
func (s *session) moveConsole(node *cluster.Node, callID, request string) *ProtocolError {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	header := http.Header{}
	header.Set(relayKeyHeader, s.srv.params.APIKey)
	header.Set("X-Forwarded-For", s.client)
	u := "ws" + strings.TrimPrefix(node.URL, "http") + "/ws?call=" + callID
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return protoErr(CodeClusterUnavailable, "The call's server (%s) cannot be reached: %v", node.ID, err)
	}
	conn.SetReadLimit(maxUpstreamMessage)
	signedIn, perr := s.signInUpstream(ctx, conn)
	if perr != nil {
		conn.Close(websocket.StatusNormalClosure, "")
		return perr
	}
	accept, _ := json.Marshal(map[string]string{"type": "help.accept", "request": request})
	if err := conn.Write(ctx, websocket.MessageText, accept); err != nil {
		conn.Close(websocket.StatusNormalClosure, "")
		return protoErr(CodeClusterUnavailable, "The call's server (%s) went away: %v", node.ID, err)
	}
	s.log.Info("console carried on to the call's node", "agent", s.agentID, "call", callID, "node", node.ID)
	s.signOut()
	s.upstream = &upstream{conn: conn, ended: make(chan struct{})}
	s.sendRaw(signedIn)
	go s.upstream.read(s)
	return nil
}

// signInUpstream signs this console's agent in on the other node and
// returns its first answer, the agent's presence there.
func (s *session) signInUpstream(ctx context.Context, conn *websocket.Conn) (json.RawMessage, *ProtocolError) {
	signIn, _ := json.Marshal(map[string]string{"type": "agent.signin", "token": s.consoleToken})
	if err := conn.Write(ctx, websocket.MessageText, signIn); err != nil {
		return nil, protoErr(CodeClusterUnavailable, "The call's server went away: %v", err)
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		return nil, protoErr(CodeClusterUnavailable, "The call's server did not sign the console in: %v", err)
	}
	var reply struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &reply); err != nil || reply.Type == "error" {
		return nil, protoErr(reply.Code, "The call's server refused the console: %s", reply.Message)
	}
	return data, nil
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

// offeredElsewhere finds the node of a call that rings this console's
// agent on another node: nil if the call is this node's or unknown.
func (s *session) offeredElsewhere(callID string) *cluster.Node {
	cl := s.srv.params.Cluster
	if cl == nil {
		return nil
	}
	if _, err := s.srv.center.Snapshot(callID); err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	node, err := cl.CallNode(ctx, callID)
	if err != nil || node.ID == cl.NodeID() {
		return nil
	}
	return &node
}

// offeredHere is the call whose request rings this console's agent on
// this node, for a console that another node carried here and so was
// not offered the request itself.
func (s *session) offeredHere(request string) (string, error) {
	if id, ok := s.srv.center.RingingCall(s.agentID, request); ok {
		return id, nil
	}
	return "", &call.Error{Code: call.CodeNoSuchRequest, Message: "request " + request + " is not offered to you"}
}
