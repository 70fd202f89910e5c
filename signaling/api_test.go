package signaling_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/signaling"
)

// apiRefusal is the body of an API error.
type apiRefusal struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// agentStatus is one agent in GET /api/agents.
type agentStatus struct {
	ID    string    `json:"id"`
	Name  string    `json:"name"`
	State string    `json:"state"`
	Since time.Time `json:"since"`
	Call  string    `json:"call"`
}

// agents lists GET /api/agents by id.
func (ts *testServer) agents(t *testing.T) map[string]agentStatus {
	t.Helper()
	var out struct{ Agents []agentStatus }
	if code := ts.api(t, "GET", "/api/agents", nil, &out); code != http.StatusOK {
		t.Fatalf("GET /api/agents: status %d", code)
	}
	m := map[string]agentStatus{}
	for _, a := range out.Agents {
		m[a.ID] = a
	}
	return m
}

// queueStatus is one queue in GET /api/queues.
type queueStatus struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Idle   int    `json:"idle"`
	Agents int    `json:"agents"`
}

// queues lists GET /api/queues by id.
func (ts *testServer) queues(t *testing.T) map[string]queueStatus {
	t.Helper()
	var out struct{ Queues []queueStatus }
	if code := ts.api(t, "GET", "/api/queues", nil, &out); code != http.StatusOK {
		t.Fatalf("GET /api/queues: status %d", code)
	}
	m := map[string]queueStatus{}
	for _, q := range out.Queues {
		m[q.ID] = q
	}
	return m
}

// signInConsole signs a bare console (no media) in as agent.
func (ts *testServer) signInConsole(t *testing.T, agent string) *wsClient {
	t.Helper()
	ws := dialWS(t, ts.ws)
	ws.sendRaw(`{"type":"agent.signin","token":"` + ts.consoleToken(t, agent) + `"}`)
	if m := ws.next("presence"); m["state"] != "idle" {
		t.Fatalf("%s signed in as %v, want idle", agent, m["state"])
	}
	return ws
}

// Every API route needs the bearer key: a missing, wrong or malformed one
// gets 401 with the unauthorized code, and nothing is created.
func TestAPIRefusesWithoutTheKey(t *testing.T) {
	ts := startServer(t)
	noKey := startServer(t, func(p *signaling.ServerParams) { p.APIKey = "" })
	routes := []struct{ method, path string }{
		{"POST", "/api/calls"}, {"GET", "/api/agents"}, {"GET", "/api/queues"}, {"GET", "/api/contacts"}, {"POST", "/api/agents/alice/token"},
	}
	auths := []struct {
		name, header string
		server       *testServer
	}{
		{"missing", "", ts},
		{"wrong key", "Bearer not-the-key", ts},
		{"key without Bearer", testAPIKey, ts},
		{"other scheme", "Basic " + testAPIKey, ts},
		{"server without a key", "Bearer " + testAPIKey, noKey},
	}
	body := map[string]string{"customer": "Ann", "agent": "alice"}
	for _, a := range auths {
		for _, r := range routes {
			t.Run(a.name+" "+r.method+" "+r.path, func(t *testing.T) {
				var refusal apiRefusal
				code := a.server.apiAs(t, r.method, r.path, a.header, body, &refusal)
				if code != http.StatusUnauthorized || refusal.Error != "unauthorized" || refusal.Message == "" {
					t.Errorf("status %d, body %+v; want 401 unauthorized with a message", code, refusal)
				}
			})
		}
	}
	for _, s := range []*testServer{ts, noKey} {
		if n := s.CallCount(); n != 0 {
			t.Errorf("%d calls open after refused requests, want 0", n)
		}
	}
	for id, a := range ts.agents(t) {
		if a.Call != "" || a.State != "offline" {
			t.Errorf("agent %s is %s in call %q after refused requests", id, a.State, a.Call)
		}
	}
	// With the key, the same request works.
	ts.createCall(t, "Ann", "alice")
	if n := ts.CallCount(); n != 1 {
		t.Errorf("%d calls after one created with the key", n)
	}
}

// Bad requests to POST /api/calls are refused with a code and create
// nothing.
func TestAPICreateCallRefusals(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no body", nil, http.StatusBadRequest, "invalid_field"},
		{"not JSON", "hello", http.StatusBadRequest, "invalid_field"},
		{"no customer", map[string]string{"agent": "alice"}, http.StatusBadRequest, "invalid_field"},
		{"no agent", map[string]string{"customer": "Ann"}, http.StatusBadRequest, "invalid_field"},
		{"unknown agent", map[string]string{"customer": "Ann", "agent": "zed"}, http.StatusNotFound, "unknown_agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refusal apiRefusal
			if code := ts.api(t, "POST", "/api/calls", tt.body, &refusal); code != tt.status || refusal.Error != tt.code {
				t.Errorf("status %d, %+v; want %d %s", code, refusal, tt.status, tt.code)
			}
		})
	}
	if n := ts.CallCount(); n != 0 {
		t.Errorf("%d calls open after refused requests", n)
	}
}

// GET /api/queues lists both queues with how many of their agents are
// idle, which follows consoles signing in, going away and closing.
func TestAPIQueuesCountIdleAgents(t *testing.T) {
	ts := startServer(t)
	idle := func() map[string]int {
		out := map[string]int{}
		for id, q := range ts.queues(t) {
			out[id] = q.Idle
		}
		return out
	}
	want := func(when string, billing, tech int) {
		t.Helper()
		if err := waitFor(3*time.Second, func() error {
			if got := idle(); got["billing"] != billing || got["tech-support"] != tech || len(got) != 2 {
				return fmt.Errorf("idle %v, want billing %d and tech-support %d", got, billing, tech)
			}
			return nil
		}); err != nil {
			t.Errorf("%s: %v", when, err)
		}
	}
	qs := ts.queues(t)
	if qs["billing"].Name != "Billing" || qs["billing"].Agents != 3 || qs["tech-support"].Agents != 3 {
		t.Errorf("queues %+v, want billing and tech-support with three agents each", qs)
	}
	want("nobody signed in", 0, 0)
	bob := ts.signInConsole(t, "bob") // billing and tech-support
	want("bob signed in", 1, 1)
	alice := ts.signInConsole(t, "alice") // billing
	want("alice signed in", 2, 1)
	bob.sendRaw(`{"type":"presence.set","state":"away"}`)
	bob.next("presence")
	want("bob away", 1, 0)
	alice.conn.CloseNow()
	want("alice's console closed", 0, 0)
	bob.sendRaw(`{"type":"presence.set","state":"idle"}`)
	want("bob idle again", 1, 1)
}

// GET /api/agents shows each agent's state and since when, and the call
// an agent is in.
func TestAPIAgentsShowStateAndSince(t *testing.T) {
	ts := startServer(t)
	for id, a := range ts.agents(t) {
		if a.State != "offline" || a.Name == "" {
			t.Errorf("%s before any sign-in: %+v, want offline with a name", id, a)
		}
	}
	signedIn := time.Now()
	ts.signInConsole(t, "carol")
	carol := ts.agents(t)["carol"]
	if carol.State != "idle" || carol.Since.Before(signedIn.Add(-time.Second)) || carol.Since.After(time.Now()) {
		t.Errorf("carol after signing in at %v: %+v, want idle since then", signedIn, carol)
	}

	c, _ := ts.twoParty(t) // alice joins her call
	alice := ts.agents(t)["alice"]
	if alice.State != "busy" || alice.Call != c.Call {
		t.Errorf("alice in call %s: %+v, want busy in that call", c.Call, alice)
	}
	if a := ts.agents(t)["carol"]; a.State != "idle" || !a.Since.Equal(carol.Since) {
		t.Errorf("carol, untouched: %+v, want idle since %v", a, carol.Since)
	}
}

// POST /api/agents/{id}/token issues a console token for a known agent
// (it signs in) and 404s an unknown one.
func TestAPIAgentToken(t *testing.T) {
	ts := startServer(t)
	var refusal apiRefusal
	if code := ts.api(t, "POST", "/api/agents/zed/token", nil, &refusal); code != http.StatusNotFound || refusal.Error != "unknown_agent" {
		t.Errorf("token for an unknown agent: %d %+v, want 404 unknown_agent", code, refusal)
	}
	var link struct{ Agent, Token, URL string }
	if code := ts.api(t, "POST", "/api/agents/dave/token", nil, &link); code != http.StatusCreated || link.Agent != "dave" || link.URL == "" {
		t.Fatalf("token for dave: %d %+v", code, link)
	}
	ws := dialWS(t, ts.ws)
	ws.sendRaw(`{"type":"agent.signin","token":"` + link.Token + `"}`)
	if m := ws.next("presence"); m["agent"] != "dave" || m["state"] != "idle" {
		t.Errorf("signing in with dave's token: %v", m)
	}
}

// GET /api/contacts lists the directory's external numbers as they will be
// dialled, and a signed-in console is sent them in its directory.
func TestContactsAreListed(t *testing.T) {
	ts := startServer(t)
	var out struct {
		Contacts []map[string]string `json:"contacts"`
	}
	if code := ts.api(t, "GET", "/api/contacts", nil, &out); code != http.StatusOK {
		t.Fatalf("GET /api/contacts: %d", code)
	}
	want := []map[string]string{
		{"name": "Supervisor desk", "number": "+49305550100"},
		{"name": "Billing partner hotline", "number": "+49305550199", "skill": "billing"},
	}
	if !reflect.DeepEqual(out.Contacts, want) {
		t.Errorf("contacts %v, want %v", out.Contacts, want)
	}
	console := dialWS(t, ts.ws)
	console.sendRaw(fmt.Sprintf(`{"type":"agent.signin","token":%q}`, ts.consoleToken(t, "bob")))
	dir := console.next("directory")
	if got, _ := json.Marshal(dir["contacts"]); !strings.Contains(string(got), `"number":"+49305550199"`) {
		t.Errorf("the console's directory lists contacts %s, want the directory's", got)
	}
}
