package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// wsClient is a bare protocol client: no media, just messages.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	conn, _, err := websocket.Dial(ctxFor(t, 5*time.Second), url, nil)
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

// signedToken makes a call token with the test secret, or another.
func signedToken(t *testing.T, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProtocolRefusals(t *testing.T) {
	ts := startServer(t, rejoinGrace(100*time.Millisecond))
	other := ts.createCall(t, "Zed", "dave")
	future := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name string
		send []string // {call}, {ctoken} and {atoken} are this test's call and tokens
		code string
	}{
		{"not JSON", []string{`hello`}, "bad_message"},
		{"not an object", []string{`[1,2]`}, "bad_message"},
		{"no type", []string{`{"call":"x"}`}, "bad_message"},
		{"unknown type", []string{`{"type":"dance"}`}, "unknown_type"},
		{"offer before join", []string{`{"type":"offer","sdp":"v=0"}`}, "not_joined"},
		{"layout before join", []string{`{"type":"layout.set","mode":"equal"}`}, "not_joined"},
		{"accept without sign-in", []string{`{"type":"help.accept","request":"x"}`}, "not_signed_in"},
		{"bad call id", []string{`{"type":"join","call":"a b","role":"customer","token":"{ctoken}"}`}, "invalid_field"},
		{"bad role", []string{`{"type":"join","call":"{call}","role":"boss","token":"{ctoken}"}`}, "invalid_field"},
		{"missing token", []string{`{"type":"join","call":"{call}","role":"customer"}`}, "unauthorized"},
		{"garbage token", []string{`{"type":"join","call":"{call}","role":"customer","token":"abc.def.ghi"}`}, "unauthorized"},
		{"forged token", []string{`{"type":"join","call":"{call}","role":"customer","token":"` +
			signedToken(t, "wrong-secret", jwt.MapClaims{"kind": "call", "call": "{call}", "role": "customer", "exp": future}) + `"}`}, "unauthorized"},
		{"expired token", []string{`{"type":"join","call":"{call}","role":"customer","token":"{expired}"}`}, "unauthorized"},
		{"other call's token", []string{`{"type":"join","call":"{call}","role":"customer","token":"` + other.Customer.Token + `"}`}, "unauthorized"},
		{"other role's token", []string{`{"type":"join","call":"{call}","role":"agent","token":"{ctoken}"}`}, "unauthorized"},
		{"agent token for a call", []string{`{"type":"join","call":"{call}","role":"agent","token":"{console}"}`}, "unauthorized"},
		{"call token for a console", []string{`{"type":"agent.signin","token":"{atoken}"}`}, "unauthorized"},
		{"second join", []string{
			`{"type":"join","call":"{call}","role":"customer","token":"{ctoken}"}`,
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
		}, "already_joined"},
		{"garbage offer", []string{
			`{"type":"join","call":"{call}","role":"customer","token":"{ctoken}"}`,
			`{"type":"offer","sdp":"this is not SDP"}`,
		}, "negotiation_failed"},
		{"empty offer", []string{
			`{"type":"join","call":"{call}","role":"customer","token":"{ctoken}"}`,
			`{"type":"offer"}`,
		}, "invalid_field"},
		{"answer, which the server never asks for", []string{
			`{"type":"join","call":"{call}","role":"customer","token":"{ctoken}"}`,
			`{"type":"answer","sdp":"v=0"}`,
		}, "unknown_type"},
		{"video.set without on", []string{
			`{"type":"join","call":"{call}","role":"customer","token":"{ctoken}"}`,
			`{"type":"video.set"}`,
		}, "invalid_field"},
		{"customer seeks help", []string{
			`{"type":"join","call":"{call}","role":"customer","token":"{ctoken}"}`,
			`{"type":"help.request","mode":"queue","queue":"billing"}`,
		}, "forbidden"},
		{"customer drops", []string{
			`{"type":"join","call":"{call}","role":"customer","token":"{ctoken}"}`,
			`{"type":"party.drop","party":"agent"}`,
		}, "forbidden"},
		{"number without gateway", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"help.request","mode":"number","number":"+4930123456"}`,
		}, "sip_not_configured"},
		{"unknown queue", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"help.request","mode":"queue","queue":"sales"}`,
		}, "unknown_queue"},
		{"maximize absent party", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"layout.set","mode":"maximize","party":"third"}`,
		}, "party_not_present"},
		{"mistyped on before join", []string{`{"type":"video.set","on":"yes"}`}, "invalid_field"},
		{"mistyped request", []string{`{"type":"help.accept","request":7}`}, "invalid_field"},
		{"mistyped request foreign to the type", []string{`{"type":"hangup","request":7}`}, "not_joined"},
		{"mistyped layout mode", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"layout.set","mode":5}`,
		}, "invalid_field"},
		{"unknown layout mode", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"layout.set","mode":"queue"}`,
		}, "invalid_field"},
		{"layout mode for help", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"help.request","mode":"equal"}`,
		}, "invalid_field"},
		{"mistyped candidate", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"candidate","candidate":{"sdpMLineIndex":-1}}`,
		}, "invalid_field"},
		{"stop a share never started", []string{
			`{"type":"join","call":"{call}","role":"agent","token":"{atoken}"}`,
			`{"type":"share.stop"}`,
		}, "not_sharing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The last case's socket closed as it ended; its seat (alice's,
			// in another call) is given up after the short rejoin grace.
			if err := waitFor(5*time.Second, func() error {
				if call := ts.agents(t)["alice"].Call; call != "" {
					return fmt.Errorf("alice is still in call %s", call)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			c := ts.createCall(t, "Ann", "alice")
			expired := signedToken(t, "test-secret", jwt.MapClaims{"kind": "call", "call": c.Call, "role": "customer",
				"exp": time.Now().Add(-time.Minute).Unix()})
			fill := strings.NewReplacer("{call}", c.Call, "{ctoken}", c.Customer.Token, "{atoken}", c.Agent.Token,
				"{expired}", expired, "{console}", ts.consoleToken(t, "alice"))
			ws := dialWS(t, ts.ws)
			for _, m := range tt.send {
				ws.sendRaw(fill.Replace(m))
			}
			ws.expectError(tt.code)
			// The session survives a refusal.
			ws.sendRaw(`{"type":"dance"}`)
			ws.expectError("unknown_type")
		})
	}
}

// A refusal's text says what was wrong with the message, and its request
// is echoed when the message named one as a string. A `request` foreign to
// the message's type is ignored, whatever its JSON type; the help
// commands, whose field it is, refuse a mistyped one as invalid_field,
// in our words rather than the JSON decoder's.
func TestRefusalTexts(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	ws := dialWS(t, ts.ws)
	refused := func(send, code, text string, request any) {
		t.Helper()
		ws.sendRaw(send)
		m := ws.next("error")
		msg, _ := m["message"].(string)
		if m["code"] != code || !strings.HasPrefix(msg, text) {
			t.Errorf("%s: error %v %q, want %s %q", send, m["code"], msg, code, text)
		}
		if m["request"] != request {
			t.Errorf("%s: error echoes request %v, want %v", send, m["request"], request)
		}
	}
	refused(`{"type":"hangup","request":5}`, "not_joined", "Join a call first.", nil)
	refused(`{"type":"share.stop","request":"h1"}`, "not_joined", "Join a call first.", "h1")
	refused(`{"type":"video.set","on":"yes"}`, "invalid_field", "on must be a JSON boolean", nil)
	refused(`{"type":"help.accept","request":7}`, "invalid_field", "request must be a JSON string", nil)

	ws.sendRaw(`{"type":"join","call":"` + c.Call + `","role":"agent","token":"` + c.Agent.Token + `","name":"Al"}`)
	ws.next("joined")
	refused(`{"type":"video.set"}`, "invalid_field", "video.set needs a boolean on", nil)
	refused(`{"type":"audio.set","on":null}`, "invalid_field", "audio.set needs a boolean on", nil)
	refused(`{"type":"self_view.set","request":"h2"}`, "invalid_field", "self_view.set needs a boolean on", "h2")
	refused(`{"type":"help.cancel","request":5}`, "invalid_field", "request must be a JSON string", nil)
	ws.sendRaw(`{"type":"hangup","request":5}`)
	if m := ws.next("left"); m["reason"] != "hangup" {
		t.Errorf("left after a hangup naming a numeric request: reason %v, want hangup", m["reason"])
	}
}

// The server never offers, so a client `answer` is an unknown message,
// before and after join alike, and the party stays in its call.
func TestClientAnswerIsUnknownType(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	ws := dialWS(t, ts.ws)
	ws.sendRaw(`{"type":"answer","sdp":"v=0"}`)
	ws.expectError("unknown_type")

	ws.sendRaw(`{"type":"join","call":"` + c.Call + `","role":"customer","token":"` + c.Customer.Token + `","name":"Ann"}`)
	ws.next("joined")
	ws.next("call.state")
	ws.sendRaw(`{"type":"answer","sdp":"v=0"}`)
	ws.expectError("unknown_type")

	// Still the customer: its camera can be turned off.
	ws.sendRaw(`{"type":"video.set","on":false}`)
	state := ws.next("call.state")
	parties, _ := state["parties"].([]any)
	if len(parties) != 1 || parties[0].(map[string]any)["video"] != false {
		t.Errorf("call.state after video.set off: parties %v, want the customer with video off", state["parties"])
	}
}

func TestRoleTakenChangesNothing(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	join := func(ws *wsClient, role, token, name string) {
		ws.sendRaw(`{"type":"join","call":"` + c.Call + `","role":"` + role + `","token":"` + token + `","name":"` + name + `"}`)
	}
	first := dialWS(t, ts.ws)
	join(first, "customer", c.Customer.Token, "Ann")
	first.next("joined")
	state := first.next("call.state")

	second := dialWS(t, ts.ws)
	join(second, "customer", c.Customer.Token, "Impostor")
	second.expectError("role_taken")

	// The refused socket may still join in a role it holds a token for.
	join(second, "agent", c.Agent.Token, "Alice")
	second.next("joined")
	after := first.next("call.state")
	parties := after["parties"].([]any)
	if len(parties) != 2 || parties[0].(map[string]any)["name"] != "Ann" {
		t.Errorf("call.state after the agent joined: %v, want Ann and the agent", after["parties"])
	}
	if n := len(state["parties"].([]any)); n != 1 {
		t.Errorf("first call.state lists %d parties, want 1", n)
	}

	// The customer hangs up: the agent is alone and the call ends for it.
	first.sendRaw(`{"type":"hangup"}`)
	if m := first.next("left"); m["reason"] != "hangup" {
		t.Errorf("left reason %v, want hangup", m["reason"])
	}
	if m := second.next("left"); m["reason"] != "call_ended" {
		t.Errorf("the agent left alone: reason %v, want call_ended", m["reason"])
	}
	if n := ts.CallCount(); n != 0 {
		t.Errorf("%d calls open after the call ended", n)
	}
	// A late join of an ended call is told so.
	third := dialWS(t, ts.ws)
	join(third, "customer", c.Customer.Token, "Ann")
	third.expectError("call_ended")
}
