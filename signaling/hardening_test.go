package signaling_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/signaling"
)

// dialVia opens a socket over connections that dialer makes; it returns
// the HTTP status of a refused upgrade.
func dialVia(t *testing.T, url string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*wsClient, int) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: dial}}
	conn, resp, err := websocket.Dial(ctxFor(t, 5*time.Second), url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", url, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}, http.StatusSwitchingProtocols
}

// dialFrom opens a socket from a loopback address of its own, as another
// client host would.
func dialFrom(t *testing.T, url, from string) (*wsClient, int) {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return dialVia(t, url, dialer.DialContext)
}

// dialSlowReader opens a socket whose receive buffer is a few KiB and
// that reads nothing until told: a client on a slow link, or a tab in the
// background.
func dialSlowReader(t *testing.T, url string) *wsClient {
	t.Helper()
	dialer := &net.Dialer{}
	c, status := dialVia(t, url, func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetReadBuffer(4 << 10)
		}
		return conn, err
	})
	if c == nil {
		t.Fatalf("dial %s: refused with %d", url, status)
	}
	return c
}

// join joins a bare protocol client to a call (no media).
func (c *wsClient) join(callID, role, token string) {
	c.t.Helper()
	msg, _ := json.Marshal(map[string]string{"type": "join", "call": callID, "role": role, "name": role, "token": token})
	c.sendRaw(string(msg))
	c.next("joined")
}

// tally reads a client's messages in the background, counting error
// codes and keeping the last call.state, until the socket closes.
type tally struct {
	mu     sync.Mutex
	errors map[string]int
	state  map[string]any
	closed chan struct{}
}

func (c *wsClient) tally() *tally {
	tl := &tally{errors: map[string]int{}, closed: make(chan struct{})}
	go func() {
		defer close(tl.closed)
		for {
			_, data, err := c.conn.Read(context.Background())
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) != nil {
				continue
			}
			tl.mu.Lock()
			switch m["type"] {
			case "error":
				code, _ := m["code"].(string)
				tl.errors[code]++
			case "call.state":
				tl.state = m
			}
			tl.mu.Unlock()
		}
	}()
	return tl
}

func (tl *tally) count(code string) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.errors[code]
}

// videoOf reads a party's video flag from the last call.state.
func (tl *tally) videoOf(role string) (on, ok bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	parties, _ := tl.state["parties"].([]any)
	for _, p := range parties {
		p, _ := p.(map[string]any)
		if p["role"] == role {
			on, ok = p["video"].(bool)
			return on, ok
		}
	}
	return false, false
}

// A customer sending video.set as fast as it can is told rate_limited
// for what goes over the limit, and what it is refused changes nothing;
// the agent, reading nothing meanwhile on a small buffer, keeps its
// socket and then reads the call's latest state: the customer's camera
// as its last accepted message left it.
func TestFloodingPartyCannotEvictAnother(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	customer := dialWS(t, ts.ws)
	customer.join(c.Call, "customer", c.Customer.Token)
	agent := dialSlowReader(t, ts.ws)
	agent.join(c.Call, "agent", c.Agent.Token)
	flood := customer.tally()

	const sent = 3000
	start := time.Now()
	for i := range sent {
		customer.sendRaw(fmt.Sprintf(`{"type":"video.set","on":%v}`, i%2 == 0))
	}
	elapsed := time.Since(start)
	// Once the limit has refilled, a last message is acted on.
	time.Sleep(1500 * time.Millisecond)
	customer.sendRaw(`{"type":"video.set","on":false}`)

	views := agent.tally()
	err := waitFor(5*time.Second, func() error {
		if on, ok := views.videoOf("customer"); !ok || on {
			return fmt.Errorf("the agent's last call.state shows the customer's video on=%v (known %v), want off", on, ok)
		}
		return nil
	})
	select {
	case <-views.closed:
		t.Fatal("the agent's socket was closed by the customer's flood")
	default:
	}
	if err != nil {
		t.Error(err)
	}
	allowed := 50 + 20*elapsed.Seconds() + 5
	refused := flood.count("rate_limited")
	t.Logf("%d messages sent in %v, %d refused with rate_limited", sent, elapsed.Round(time.Millisecond), refused)
	if float64(refused) < sent-allowed {
		t.Errorf("%d of %d messages in %v refused with rate_limited, want at least %.0f", refused, sent, elapsed.Round(time.Millisecond), sent-allowed)
	}
	select {
	case <-flood.closed:
		t.Error("the flooding customer's own socket was closed; it reads its replies")
	default:
	}
}

// A socket that neither joins a call nor signs in is told auth_timeout
// and closed with that reason; a console that signed in stays.
func TestSocketThatNeverAuthenticatesIsClosed(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, func(p *signaling.ServerParams) { p.Sockets.AuthTimeout = timeout })
	console := dialWS(t, ts.ws)
	console.sendRaw(fmt.Sprintf(`{"type":"agent.signin","token":%q}`, ts.consoleToken(t, "bob")))
	console.next("presence")
	idle := dialWS(t, ts.ws)
	start := time.Now()
	idle.expectError("auth_timeout")
	_, _, err := idle.conn.Read(ctxFor(t, 5*time.Second))
	if err := closedWith(err, websocket.StatusPolicyViolation, "auth_timeout"); err != nil {
		t.Error(err)
	}
	if d := time.Since(start); d < timeout || d > timeout+2*time.Second {
		t.Errorf("closed %v after opening, want about %v", d, timeout)
	}
	console.sendRaw(`{"type":"presence.set","state":"away"}`)
	if m := console.next("presence"); m["state"] != "away" {
		t.Errorf("the console after the timeout: presence %v, want away", m["state"])
	}
}

// Sockets are capped per client address and in all; a refused upgrade
// gets 503, health and the API keep answering, and a closed socket frees
// its place.
func TestSocketsAreCappedPerAddressAndInAll(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.Sockets.Max, p.Sockets.PerAddress = 4, 3 })
	var first []*wsClient
	for range 3 {
		c, status := dialFrom(t, ts.ws, "127.0.0.1")
		if c == nil {
			t.Fatalf("socket %d from 127.0.0.1 refused with %d, want admitted", len(first)+1, status)
		}
		first = append(first, c)
	}
	if _, status := dialFrom(t, ts.ws, "127.0.0.1"); status != http.StatusServiceUnavailable {
		t.Errorf("a fourth socket from 127.0.0.1: %d, want 503", status)
	}
	if c, status := dialFrom(t, ts.ws, "127.0.0.2"); c == nil {
		t.Errorf("a socket from 127.0.0.2: %d, want admitted", status)
	}
	if _, status := dialFrom(t, ts.ws, "127.0.0.3"); status != http.StatusServiceUnavailable {
		t.Errorf("a fifth socket in all: %d, want 503", status)
	}
	resp, err := http.Get(ts.http.URL + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz with the sockets full: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	ts.createCall(t, "Ann", "alice") // fails the test unless the API answers
	first[0].conn.Close(websocket.StatusNormalClosure, "")
	err = waitFor(5*time.Second, func() error {
		if c, status := dialFrom(t, ts.ws, "127.0.0.1"); c == nil {
			return fmt.Errorf("a socket from 127.0.0.1 after one closed: %d, want admitted", status)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// A page served from another host may open /ws only if the server lists
// its host in AllowedOrigins; the library's same-origin rule refuses it
// otherwise (403).
func TestAllowedOriginsAdmitAnotherHostsPage(t *testing.T) {
	dial := func(ts *testServer, origin string) int {
		h := http.Header{"Origin": []string{origin}}
		conn, resp, err := websocket.Dial(ctxFor(t, 5*time.Second), ts.ws, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			if resp == nil {
				t.Fatalf("dial with origin %s: %v", origin, err)
			}
			return resp.StatusCode
		}
		conn.CloseNow()
		return http.StatusSwitchingProtocols
	}
	plain := startServer(t)
	if got := dial(plain, "https://app.example.com"); got != http.StatusForbidden {
		t.Errorf("another host's page, no origins allowed: %d, want 403", got)
	}
	allowing := startServer(t, func(p *signaling.ServerParams) { p.AllowedOrigins = []string{"*.example.com"} })
	if got := dial(allowing, "https://app.example.com"); got != http.StatusSwitchingProtocols {
		t.Errorf("an allowed host's page: %d, want 101", got)
	}
	if got := dial(allowing, "https://evil.example.org"); got != http.StatusForbidden {
		t.Errorf("a host not allowed: %d, want 403", got)
	}
}

// A refused token is explained in the protocol's words, not the JWT
// library's (which names its internals and may change with it).
func TestTokenRefusalsAreInOurWords(t *testing.T) {
	ts := startServer(t)
	c := ts.createCall(t, "Ann", "alice")
	ws := dialWS(t, ts.ws)
	claims := func(exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"kind": "call", "call": c.Call, "role": "customer", "exp": exp.Unix()}
	}
	for _, tc := range []struct{ token, want string }{
		{"abc.def.ghi", "This link's token is damaged: copy the whole link again."},
		{signedToken(t, "wrong-secret", claims(time.Now().Add(time.Hour))), "This link was not issued by this server."},
		{signedToken(t, "test-secret", claims(time.Now().Add(-time.Hour))), "This link has expired: ask for a new one."},
		{signedToken(t, "test-secret", jwt.MapClaims{"kind": "call", "call": c.Call, "role": "customer"}), "This link never expires, which this server does not accept: ask for a new one."},
	} {
		msg, _ := json.Marshal(map[string]string{"type": "join", "call": c.Call, "role": "customer", "token": tc.token})
		ws.sendRaw(string(msg))
		m := ws.next("error")
		if m["code"] != "unauthorized" || m["message"] != tc.want {
			t.Errorf("token %.20s…: %v %q, want unauthorized %q", tc.token, m["code"], m["message"], tc.want)
		}
	}
}

// A wrong method gets 405 with the methods the path takes, not the page:
// TRACE and POST on the page, GET on a POST route of the API (as JSON);
// an unknown API path gets the API's JSON 404.
func TestWrongMethodsGet405(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"TRACE", "/", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"POST", "/app.js", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"DELETE", "/api/calls", http.StatusMethodNotAllowed, "GET, POST"},
		{"DELETE", "/api/agents", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/api/nothing", http.StatusNotFound, ""},
		{"GET", "/", http.StatusOK, ""},
	} {
		req, err := http.NewRequest(tc.method, ts.http.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.status, tc.allow)
		}
		if strings.HasPrefix(tc.path, "/api/") && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %s, want the API's JSON", tc.method, tc.path, resp.Header.Get("Content-Type"))
		}
	}
}

// Parties that joined and never offered cost no encoding: with twenty
// such calls the server encodes nothing, and a call beside them keeps its
// frame rate.
func TestIdlePartiesCostNoEncoding(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.Metrics = metrics.New() })
	for range 20 {
		c := ts.createCall(t, "Idle", "dave")
		dialWS(t, ts.ws).join(c.Call, "customer", c.Customer.Token)
	}
	before := scrape(t, ts)
	time.Sleep(time.Second)
	after := scrape(t, ts)
	const encoded = `threeway_frames_encoded_total`
	if views, n := after[`threeway_video_encoders{kind="view"}`], after[encoded]-before[encoded]; views != 0 || n != 0 {
		t.Fatalf("twenty customers without media: %v view encoders, %v frames encoded in a second; want none", views, n)
	}

	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent", "third") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	for role, w := range watch(peers, nil, 3*time.Second) {
		t.Logf("%s of the bystander call: %.1f fps beside twenty idle calls", role, w.fps)
		if w.fps < minFPS() {
			t.Errorf("%s of the bystander call: %.1f fps, want at least %.1f", role, w.fps, minFPS())
		}
	}
	if views := scrape(t, ts)[`threeway_video_encoders{kind="view"}`]; views != 1 {
		t.Errorf("%v view encoders, want the bystander call's one", views)
	}
}

// A party that joins and never connects its media is told `left` with
// no_media once the media timeout passes, as if it had hung up: in a
// two-party call the agent, whose media connected, is told call_ended.
func TestPartyWithoutMediaLeavesWithNoMedia(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.MediaTimeout = time.Second })
	c := ts.createCall(t, "Ann", "alice")
	agent := ts.join(t, c.Call, "agent", c.Agent.Token)
	customer := dialWS(t, ts.ws)
	customer.join(c.Call, "customer", c.Customer.Token)
	joined := time.Now()
	if reason := customer.next("left")["reason"]; reason != "no_media" {
		t.Fatalf("the customer left with %v, want no_media", reason)
	}
	if waited := time.Since(joined); waited < 900*time.Millisecond {
		t.Errorf("dropped %v after joining, before the 1 s media timeout", waited)
	}
	left, err := agent.WaitFor(ctxFor(t, 5*time.Second), "left", nil)
	if err != nil {
		t.Fatalf("the agent is not told the call ended: %v", err)
	}
	if reason := field(left, "reason"); reason != "call_ended" {
		t.Errorf("the agent, whose media connected, left with %q, want call_ended", reason)
	}
}

// A call link admits its bearer for the server's token TTL, and is then
// refused as expired; so is the console link.
func TestLinksExpireAfterTheTokenTTL(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.TokenTTL = time.Second })
	c := ts.createCall(t, "Ann", "alice")
	console := ts.consoleToken(t, "bob")
	// Expiry is in whole seconds: past 2 s the token has expired.
	time.Sleep(2100 * time.Millisecond)
	ws := dialWS(t, ts.ws)
	for _, msg := range []map[string]string{
		{"type": "join", "call": c.Call, "role": "customer", "name": "Ann", "token": c.Customer.Token},
		{"type": "agent.signin", "token": console},
	} {
		data, _ := json.Marshal(msg)
		ws.sendRaw(string(data))
		m := ws.next("error")
		if m["code"] != "unauthorized" || m["message"] != "This link has expired: ask for a new one." {
			t.Errorf("%s with a link older than the TTL: %v %q, want unauthorized, expired", msg["type"], m["code"], m["message"])
		}
	}
	fresh := ts.createCall(t, "Bea", "alice")
	ws.join(fresh.Call, "customer", fresh.Customer.Token)
}

// closedWith checks that err is the socket's close with status and reason.
func closedWith(err error, status websocket.StatusCode, reason string) error {
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != status || ce.Reason != reason {
		return fmt.Errorf("the socket ended with %v, want close %d %q", err, status, reason)
	}
	return nil
}

// A message over 64 KiB is refused with message_too_big and the socket
// closed with 1009 and that reason; one of 64 KiB is an ordinary message.
func TestOversizedMessageClosesWithACode(t *testing.T) {
	ts := startServer(t)
	ws := dialWS(t, ts.ws)
	ws.conn.SetReadLimit(1 << 20)
	ws.sendRaw(`{"type":"nope","request":"` + strings.Repeat("x", 64<<10-29) + `"}`)
	ws.expectError("unknown_type")
	ws.sendRaw(strings.Repeat(" ", 64<<10+1))
	ws.expectError("message_too_big")
	_, _, err := ws.conn.Read(ctxFor(t, 5*time.Second))
	if err := closedWith(err, websocket.StatusMessageTooBig, "message_too_big"); err != nil {
		t.Error(err)
	}
}

// A client that sends and does not read its answers is cut off once they
// have waited 5 s, and its socket closed with 1008 and not_reading, which
// it reads when it reads again.
func TestClientThatDoesNotReadIsCutOffWithACode(t *testing.T) {
	m := metrics.New()
	ts := startServer(t, func(p *signaling.ServerParams) { p.Metrics = m })
	ws := dialWS(t, ts.ws)
	// Each refusal echoes its request: 60 KiB answers fill the socket's
	// buffers (a few MiB on loopback) and the outbox after a few hundred.
	msg := `{"type":"nope","request":"` + strings.Repeat("x", 60<<10) + `"}`
	go func() {
		for range 1000 {
			if ws.conn.Write(context.Background(), websocket.MessageText, []byte(msg)) != nil {
				return
			}
		}
	}()
	if err := waitFor(20*time.Second, func() error {
		if n := scrape(t, ts)[`threeway_refusals_total{code="not_reading"}`]; n != 1 {
			return fmt.Errorf("%v clients cut off for not reading, want 1", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ws.conn.SetReadLimit(1 << 20)
	ctx := ctxFor(t, 10*time.Second)
	for {
		if _, _, err := ws.conn.Read(ctx); err != nil {
			if err := closedWith(err, websocket.StatusPolicyViolation, "not_reading"); err != nil {
				t.Error(err)
			}
			return
		}
	}
}
