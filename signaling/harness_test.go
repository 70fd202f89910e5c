package signaling_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/mixer"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
	"github.com/threeway-mcu/threeway/web"
)

const testAPIKey = "test-api-key"

// testServer is a threeway server on 127.0.0.1 with media on loopback
// only, the page, /ws and /api on one mux.
type testServer struct {
	*signaling.Server
	http *httptest.Server
	ws   string
}

// testLogger logs warnings, or everything with THREEWAY_TEST_DEBUG set.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("THREEWAY_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// startServer runs a server; opts adjust its parameters.
func startServer(t *testing.T, opts ...func(*signaling.ServerParams)) *testServer {
	t.Helper()
	log := testLogger()
	p := signaling.ServerParams{
		Media:  mixer.Params{Width: canvasW, Height: canvasH, FPS: testFPS, VideoBitrateKbps: 1200, Logger: log},
		ICE:    signaling.ICEParams{Interfaces: []string{"lo"}},
		Calls:  call.Params{Directory: call.DefaultDirectory()},
		Secret: []byte("test-secret"),
		APIKey: testAPIKey,
		Logger: log,
	}
	for _, o := range opts {
		o(&p)
	}
	srv, err := signaling.NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	mux.Handle("/", web.Handler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Errorf("server close: %v", err)
		}
		hs.Close()
	})
	return &testServer{Server: srv, http: hs, ws: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"}
}

// rejoinGrace makes a server give a dropped party's seat up after d.
func rejoinGrace(d time.Duration) func(*signaling.ServerParams) {
	return func(p *signaling.ServerParams) { p.Calls.RejoinGrace = d }
}

// api calls the HTTP API with the test key and decodes the answer.
func (ts *testServer) api(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	return ts.apiAs(t, method, path, "Bearer "+testAPIKey, body, out)
}

// apiWithKey calls the HTTP API with another key and returns the status.
func (ts *testServer) apiWithKey(t *testing.T, method, path, key string, body any) int {
	t.Helper()
	return ts.apiAs(t, method, path, "Bearer "+key, body, nil)
}

// apiAs calls the HTTP API with an Authorization header (none if empty)
// and decodes the answer into out.
func (ts *testServer) apiAs(t *testing.T, method, path, authorization string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.http.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// newCall is a call created through POST /api/calls.
type newCall struct {
	Call     string `json:"call"`
	Customer struct {
		Token, URL string
	} `json:"customer"`
	Agent struct {
		Token, URL string
	} `json:"agent"`
}

func (ts *testServer) createCall(t *testing.T, customer, agent string) newCall {
	t.Helper()
	var c newCall
	if code := ts.api(t, "POST", "/api/calls", map[string]string{"customer": customer, "agent": agent}, &c); code != http.StatusCreated {
		t.Fatalf("POST /api/calls: status %d", code)
	}
	return c
}

func (ts *testServer) consoleToken(t *testing.T, agent string) string {
	t.Helper()
	var out struct{ Token string }
	if code := ts.api(t, "POST", "/api/agents/"+agent+"/token", nil, &out); code != http.StatusCreated {
		t.Fatalf("agent token for %s: status %d", agent, code)
	}
	return out.Token
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// join has a synthetic party join a call.
func (ts *testServer) join(t *testing.T, callID, role, token string, mod ...func(*peer.Config)) *peer.Peer {
	t.Helper()
	cfg := peer.Config{URL: ts.ws, Call: callID, Role: role, Name: role + "-peer", Token: token, Loopback: true}
	for _, m := range mod {
		m(&cfg)
	}
	p, err := peer.Join(ctxFor(t, 20*time.Second), cfg)
	if err != nil {
		t.Fatalf("%s joins: %v", role, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// console signs a synthetic agent console in.
func (ts *testServer) console(t *testing.T, agent string, mod ...func(*peer.Config)) *peer.Peer {
	t.Helper()
	cfg := peer.Config{URL: ts.ws, Name: agent, Loopback: true}
	for _, m := range mod {
		m(&cfg)
	}
	p, err := peer.Connect(ctxFor(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatalf("console %s connects: %v", agent, err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.SignIn(ctxFor(t, 10*time.Second), ts.consoleToken(t, agent)); err != nil {
		t.Fatalf("console %s signs in: %v", agent, err)
	}
	return p
}

// twoParty is a call of a customer and agent alice, both joined.
func (ts *testServer) twoParty(t *testing.T) (newCall, map[string]*peer.Peer) {
	t.Helper()
	c := ts.createCall(t, "Ann", "alice")
	return c, map[string]*peer.Peer{
		"customer": ts.join(t, c.Call, "customer", c.Customer.Token),
		"agent":    ts.join(t, c.Call, "agent", c.Agent.Token),
	}
}

// threeParty is a two-party call into which agent alice brings bob by
// name; bob's console accepts and joins as the third party.
func (ts *testServer) threeParty(t *testing.T, thirdMod ...func(*peer.Config)) (newCall, map[string]*peer.Peer) {
	t.Helper()
	c, peers := ts.twoParty(t)
	bob := ts.console(t, "bob", thirdMod...)
	if err := peers["agent"].Send(map[string]string{"type": "help.request", "mode": "agent", "agent": "bob"}); err != nil {
		t.Fatal(err)
	}
	offer, err := bob.WaitFor(ctxFor(t, 10*time.Second), "help.offer", nil)
	if err != nil {
		t.Fatalf("bob is not offered the help request: %v", err)
	}
	if err := bob.Accept(ctxFor(t, 20*time.Second), field(offer, "request")); err != nil {
		t.Fatalf("bob accepts: %v", err)
	}
	peers["third"] = bob
	return c, peers
}

// field reads a string field of a server message.
func field(m peer.Message, name string) string {
	var v map[string]any
	_ = json.Unmarshal(m.Raw, &v)
	s, _ := v[name].(string)
	return s
}

// errorCode waits for the next error p receives after since and returns
// its code.
func errorCode(t *testing.T, p *peer.Peer, since time.Time) string {
	t.Helper()
	m, err := p.WaitFor(ctxFor(t, 5*time.Second), "error", func(m peer.Message) bool { return m.At.After(since) })
	if err != nil {
		t.Fatalf("no error message: %v", err)
	}
	return field(m, "code")
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
