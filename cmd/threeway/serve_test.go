package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"github.com/threeway-mcu/threeway/call"
)

// syncBuffer is an io.Writer the test reads while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// demoPrint is what `serve --demo` printed.
type demoPrint struct {
	base, customer, agent, apiKey, secret string
	agentID                               string
	consoles                              map[string]string // agent id → console URL
}

var (
	baseLine     = regexp.MustCompile(`(?m)^threeway is up at (\S+)$`)
	customerLine = regexp.MustCompile(`(?m)^  customer\s+(\S+)$`)
	agentLine    = regexp.MustCompile(`(?m)^  agent (\S+)\s+(\S+)(?:   \(also \S+ console\))?$`)
	consoleLine  = regexp.MustCompile(`(?m)^  (\S+)\s+(\S+\?console=\S+)$`)
	apiKeyLine   = regexp.MustCompile(`(?m)^API key: (\S+)$`)
	secretLine   = regexp.MustCompile(`(?m)^Token secret: (\S+)$`)
)

func parseDemo(out string) (demoPrint, error) {
	d := demoPrint{consoles: map[string]string{}}
	for _, f := range []struct {
		re  *regexp.Regexp
		dst *string
	}{{baseLine, &d.base}, {customerLine, &d.customer}, {apiKeyLine, &d.apiKey}, {secretLine, &d.secret}} {
		m := f.re.FindStringSubmatch(out)
		if m == nil {
			return d, fmt.Errorf("no line matching %s", f.re)
		}
		*f.dst = m[1]
	}
	m := agentLine.FindStringSubmatch(out)
	if m == nil {
		return d, fmt.Errorf("no agent link")
	}
	d.agentID, d.agent = m[1], m[2]
	for _, m := range consoleLine.FindAllStringSubmatch(out, -1) {
		d.consoles[m[1]] = m[2]
	}
	return d, nil
}

// `threeway serve --demo` prints a ready call's links, every agent's
// console link, the API key and the token secret, and all of them work:
// the links' tokens carry the right claims under the printed secret, the
// parties join with them, every console signs in, and the key opens the
// API.
func TestServeDemoPrintsWorkingLinks(t *testing.T) {
	clearServeEnv(t)
	out := &syncBuffer{}
	// Started first, so that it stops after the sockets' cleanups close them.
	startServe(t, out, "--demo", "--listen", "127.0.0.1:0", "--ice-interfaces", "lo", "--udp-port", "0", "--tcp-port", "0",
		"--log-level", "error", "--drain", "1s")

	var d demoPrint
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		if d, err = parseDemo(out.String()); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve --demo printed %q: %v", out.String(), err)
		}
		<-time.After(20 * time.Millisecond)
	}
	t.Logf("printed:\n%s", out.String())

	dir := call.DefaultDirectory()
	if d.agentID != dir.Agents[0].ID {
		t.Errorf("demo call's agent %s, want the directory's first, %s", d.agentID, dir.Agents[0].ID)
	}
	if len(d.consoles) != len(dir.Agents) {
		t.Errorf("%d console links, want one per agent (%d)", len(d.consoles), len(dir.Agents))
	}
	for _, link := range append([]string{d.customer, d.agent}, mapValues(d.consoles)...) {
		if !strings.HasPrefix(link, d.base+"/?") {
			t.Errorf("link %s is not on the server at %s", link, d.base)
		}
	}

	// The tokens carry the right claims, signed with the printed secret.
	cust, agent := query(t, d.customer), query(t, d.agent)
	callID := cust.Get("call")
	if callID == "" || agent.Get("call") != callID {
		t.Fatalf("customer link's call %q, agent link's %q: want one call", callID, agent.Get("call"))
	}
	wantClaims(t, "customer link", cust.Get("token"), d.secret, jwt.MapClaims{"kind": "call", "call": callID, "role": "customer"})
	wantClaims(t, "agent link", agent.Get("token"), d.secret, jwt.MapClaims{"kind": "call", "call": callID, "role": "agent", "agent": d.agentID})
	for id, link := range d.consoles {
		wantClaims(t, id+"'s console link", query(t, link).Get("console"), d.secret, jwt.MapClaims{"kind": "agent", "agent": id})
	}

	// The links open the page, and the parties join with them.
	for _, link := range []string{d.customer, d.agent} {
		resp, err := http.Get(link)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", link, resp.Status, err)
		} else {
			resp.Body.Close()
		}
	}
	ws := "ws" + strings.TrimPrefix(d.base, "http") + "/ws"
	for _, q := range []url.Values{cust, agent} {
		join, _ := json.Marshal(map[string]string{"type": "join", "call": q.Get("call"), "role": q.Get("role"),
			"name": q.Get("name"), "token": q.Get("token")})
		if m := exchange(t, ws, join, "joined"); m["call"] != callID || m["role"] != q.Get("role") {
			t.Errorf("join with the %s link: %v", q.Get("role"), m)
		}
	}
	for id, link := range d.consoles {
		signin, _ := json.Marshal(map[string]string{"type": "agent.signin", "token": query(t, link).Get("console")})
		if m := exchange(t, ws, signin, "presence"); m["agent"] != id {
			t.Errorf("sign-in with %s's console link: %v", id, m)
		}
	}

	// The API key opens the API, and the call is there.
	req, _ := http.NewRequest("GET", d.base+"/api/agents", nil)
	req.Header.Set("Authorization", "Bearer "+d.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var agents struct {
		Agents []struct{ ID, Call string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&agents); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/agents with the printed key: %s %v", resp.Status, err)
	}
	if len(agents.Agents) == 0 || agents.Agents[0].Call != callID {
		t.Errorf("agents %+v, want %s in call %s", agents.Agents, d.agentID, callID)
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// query parses a printed link's query.
func query(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	return u.Query()
}

// wantClaims verifies token with secret and checks its claims.
func wantClaims(t *testing.T, what, token, secret string, want jwt.MapClaims) {
	t.Helper()
	got := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, got, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()); err != nil {
		t.Errorf("%s: the token does not verify with the printed secret: %v", what, err)
		return
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: claim %s = %v, want %v", what, k, got[k], v)
		}
	}
}

// exchange sends msg on a new socket and returns the first message of
// type typ, failing on an error message. The socket stays open until the
// test ends, so a party that joined stays in its call.
func exchange(t *testing.T, ws string, msg []byte, typ string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, ws, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", ws, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("not JSON: %q", data)
		}
		switch m["type"] {
		case typ:
			return m
		case "error":
			t.Fatalf("sent %s, got %s", msg, data)
		}
	}
}
