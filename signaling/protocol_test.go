package signaling_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient is a bare protocol client: no media, just messages.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("send %s: %v", s, err)
	}
}

// next reads messages until one of type typ arrives.
func (c *wsClient) next(typ string) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			c.t.Fatalf("server sent non-JSON %q", data)
		}
		if m["type"] == typ {
			return m
		}
	}
}

func (c *wsClient) expectError(code string) {
	c.t.Helper()
	m := c.next("error")
	if m["code"] != code {
		c.t.Fatalf("error code %v (%v), want %s", m["code"], m["message"], code)
	}
	if msg, _ := m["message"].(string); msg == "" {
		c.t.Errorf("error %s has no message", code)
	}
}

func TestProtocolRefusals(t *testing.T) {
	_, url := startServer(t)
	tests := []struct {
		name string
		send []string
		code string
	}{
		{"not JSON", []string{`hello`}, "bad_message"},
		{"not an object", []string{`[1,2]`}, "bad_message"},
		{"no type", []string{`{"call":"x"}`}, "bad_message"},
		{"unknown type", []string{`{"type":"dance"}`}, "unknown_type"},
		{"offer before join", []string{`{"type":"offer","sdp":"v=0"}`}, "not_joined"},
		{"candidate before join", []string{`{"type":"candidate","candidate":{"candidate":"x"}}`}, "not_joined"},
		{"bad call id", []string{`{"type":"join","call":"a b","role":"customer"}`}, "invalid_field"},
		{"bad role", []string{`{"type":"join","call":"c","role":"boss"}`}, "invalid_field"},
		{"second join", []string{
			`{"type":"join","call":"refusals-1","role":"customer"}`,
			`{"type":"join","call":"refusals-1","role":"agent"}`,
		}, "already_joined"},
		{"garbage offer", []string{
			`{"type":"join","call":"refusals-2","role":"customer"}`,
			`{"type":"offer","sdp":"this is not SDP"}`,
		}, "negotiation_failed"},
		{"empty offer", []string{
			`{"type":"join","call":"refusals-3","role":"customer"}`,
			`{"type":"offer"}`,
		}, "invalid_field"},
		{"answer without an offer", []string{
			`{"type":"join","call":"refusals-4","role":"customer"}`,
			`{"type":"answer","sdp":"v=0"}`,
		}, "negotiation_failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialWS(t, url)
			for _, m := range tt.send {
				c.sendRaw(m)
			}
			c.expectError(tt.code)
			// The session survives a refusal.
			c.sendRaw(`{"type":"dance"}`)
			c.expectError("unknown_type")
		})
	}
}

func TestRoleTakenChangesNothing(t *testing.T) {
	srv, url := startServer(t)
	first := dialWS(t, url)
	first.sendRaw(`{"type":"join","call":"taken","role":"agent","name":"Ann"}`)
	first.next("joined")
	state := first.next("call.state")

	second := dialWS(t, url)
	second.sendRaw(`{"type":"join","call":"taken","role":"agent","name":"Bob"}`)
	second.expectError("role_taken")

	// The refused join may try another role on the same socket.
	second.sendRaw(`{"type":"join","call":"taken","role":"customer","name":"Bob"}`)
	second.next("joined")
	after := first.next("call.state")
	if n := len(after["parties"].([]any)); n != 2 {
		t.Errorf("call.state after the second join lists %d parties, want 2: %v", n, after)
	}
	if n := len(state["parties"].([]any)); n != 1 {
		t.Errorf("first call.state lists %d parties, want 1", n)
	}
	if srv.CallCount() != 1 {
		t.Errorf("%d calls, want 1", srv.CallCount())
	}

	// Leaving gets `left`, and the call ends with its last party.
	first.sendRaw(`{"type":"leave"}`)
	if m := first.next("left"); m["reason"] != "hangup" {
		t.Errorf("left reason %v, want hangup", m["reason"])
	}
	second.sendRaw(`{"type":"leave"}`)
	second.next("left")
	if err := waitFor(2*time.Second, func() error {
		if n := srv.CallCount(); n != 0 {
			return errorf("%d calls left", n)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}
