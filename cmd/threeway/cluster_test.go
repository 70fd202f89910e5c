package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/loadtest"
	"github.com/threeway-mcu/threeway/peer"
)

// startRedis runs Debian's redis-server on a free loopback port for the
// test, with nothing saved, and returns its URL and a stop that kills it.
func startRedis(t *testing.T) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not installed (make test installs Debian's): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; <-time.After(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if line == "+PONG\r\n" {
				return "redis://" + addr + "/0", stop
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer PING")
		}
	}
}

// clusterNode is one `threeway serve` of a test cluster.
type clusterNode struct {
	id   string
	base string // http://127.0.0.1:PORT
	stop func() // SIGTERM: the node drains
}

var upAt = regexp.MustCompile(`threeway is up at (\S+)`)

// startNode serves a node of the cluster in redisURL, in this process.
func startNode(t *testing.T, redisURL, id string, extra ...string) clusterNode {
	t.Helper()
	out := &syncBuffer{}
	args := append(append([]string{}, serveBase...), "--redis", redisURL, "--node-id", id, "--api-key", testAPIKey, "--drain", "0s")
	stop := startServe(t, out, append(args, extra...)...)
	for deadline := time.Now().Add(10 * time.Second); ; <-time.After(20 * time.Millisecond) {
		if m := upAt.FindStringSubmatch(out.String()); m != nil {
			return clusterNode{id: id, base: m[1], stop: stop}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not come up: %q", id, out.String())
		}
	}
}

const testAPIKey = "a-test-api-key-of-thirty-two-bytes!"

// apiCall sends an API request with the test key and decodes the answer.
func apiCall(t *testing.T, method, url string, body, out any) int {
	t.Helper()
	var data []byte
	if body != nil {
		data, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

type listedCalls struct {
	Calls []listedCall `json:"calls"`
}

type listedCall struct {
	Call    string   `json:"call"`
	Node    string   `json:"node"`
	State   string   `json:"state"`
	Parties []string `json:"parties"`
}

type createdCall struct {
	Call     string `json:"call"`
	Customer struct {
		Token string `json:"token"`
		URL   string `json:"url"`
	} `json:"customer"`
	Agent struct {
		Token string `json:"token"`
	} `json:"agent"`
}

// Three nodes on one Redis: calls created through node 1 are placed on
// all three (each on the node with the most headroom), every node lists
// them all with their node, and a customer whose socket reaches node 2
// for a call on node 3 is relayed there and gets the call's media. With
// Redis gone, new calls are refused with cluster_unavailable and the
// running call keeps its media.
func TestClusterPlacesCallsAndRelaysSockets(t *testing.T) {
	clearServeEnv(t)
	redisURL, stopRedis := startRedis(t)
	nodes := []clusterNode{startNode(t, redisURL, "n1"), startNode(t, redisURL, "n2"), startNode(t, redisURL, "n3")}

	created := map[string]createdCall{}
	for i := range 6 {
		var c createdCall
		if code := apiCall(t, "POST", nodes[0].base+"/api/calls", map[string]string{"customer": fmt.Sprint("C", i), "agent": "alice"}, &c); code != http.StatusCreated {
			t.Fatalf("POST /api/calls on n1: %d", code)
		}
		created[c.Call] = c
	}
	var list listedCalls
	perNode := map[string]int{}
	for _, n := range nodes {
		if code := apiCall(t, "GET", n.base+"/api/calls", nil, &list); code != http.StatusOK || len(list.Calls) != 6 {
			t.Fatalf("GET /api/calls on %s: %d, %d calls, want the 6", n.id, code, len(list.Calls))
		}
	}
	for _, c := range list.Calls {
		perNode[c.Node]++
	}
	t.Logf("calls per node: %v", perNode)
	for _, n := range nodes {
		if perNode[n.id] == 0 {
			t.Errorf("no call was placed on %s: %v", n.id, perNode)
		}
	}

	// A call on n3, joined through n2.
	var onN3 createdCall
	for _, c := range list.Calls {
		if c.Node == "n3" {
			onN3 = created[c.Call]
		}
	}
	ws := "ws" + nodes[1].base[len("http"):] + "/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	join := func(role, token string) *peer.Peer {
		p, err := peer.Join(ctx, peer.Config{URL: ws, Call: onN3.Call, Role: role, Name: role, Token: token, Loopback: true})
		if err != nil {
			t.Fatalf("%s joins a call on n3 through n2: %v", role, err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	customer := join("customer", onN3.Customer.Token)
	agent := join("agent", onN3.Agent.Token)
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := customer.Stats()
		if st.FramesDecoded >= 15 && st.ToneDBFS["agent"] > -20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the customer relayed to n3 got %d pictures and hears the agent at %.1f dBFS", st.FramesDecoded, st.ToneDBFS["agent"])
		}
		<-time.After(100 * time.Millisecond)
	}
	if code := apiCall(t, "GET", nodes[0].base+"/api/calls", nil, &list); code != http.StatusOK {
		t.Fatal(code)
	}
	for _, c := range list.Calls {
		if c.Call == onN3.Call && (c.Node != "n3" || c.State != "two_party") {
			t.Errorf("n1 lists the joined call as %+v, want on n3, two_party", c)
		}
	}

	stopRedis()
	var refusal struct {
		Error string `json:"error"`
	}
	if code := apiCall(t, "POST", nodes[0].base+"/api/calls", map[string]string{"customer": "Late", "agent": "alice"}, &refusal); code != http.StatusServiceUnavailable || refusal.Error != "cluster_unavailable" {
		t.Errorf("a call asked for with Redis gone: %d %q, want 503 cluster_unavailable", code, refusal.Error)
	}
	// Help cannot be sought either, once the node's heartbeat has missed
	// Redis; until then a request finds no agent.
	refused := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 6*time.Second)
		defer cancel()
		_, err := agent.WaitFor(ctx, "error", func(m peer.Message) bool { return m.Field("code") == "cluster_unavailable" })
		refused <- err
	}()
	before := customer.Counters().FramesDecoded
	for asked := true; asked; {
		if err := agent.Send(map[string]string{"type": "help.request", "mode": "queue", "queue": "billing"}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-refused:
			if err != nil {
				t.Errorf("a help request with Redis gone: %v, want cluster_unavailable", err)
			}
			asked = false
		case <-time.After(500 * time.Millisecond):
		}
	}
	if got := customer.Counters().FramesDecoded - before; got < 10 {
		t.Errorf("with Redis gone the running call's customer got %d pictures meanwhile", got)
	}
}

// A node told to stop (SIGTERM) drains: its call goes on, no new call is
// placed on it, and the other node takes them.
func TestClusterPlacesNothingOnADrainingNode(t *testing.T) {
	clearServeEnv(t)
	redisURL, _ := startRedis(t)
	n1 := startNode(t, redisURL, "n1")
	n2 := startNode(t, redisURL, "n2", "--drain", "8s") // outlasts the test, not its cleanup
	// Fill n1 a little, so that the next call goes to n2.
	var c createdCall
	for {
		if code := apiCall(t, "POST", n1.base+"/api/calls", map[string]string{"customer": "Ann", "agent": "alice"}, &c); code != http.StatusCreated {
			t.Fatalf("POST /api/calls: %d", code)
		}
		var list listedCalls
		apiCall(t, "GET", n1.base+"/api/calls", nil, &list)
		if list.Calls[len(list.Calls)-1].Node == "n2" {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := "ws" + n1.base[len("http"):] + "/ws"
	var customer *peer.Peer
	for role, token := range map[string]string{"customer": c.Customer.Token, "agent": c.Agent.Token} {
		p, err := peer.Join(ctx, peer.Config{URL: ws, Call: c.Call, Role: role, Name: role, Token: token, Loopback: true})
		if err != nil {
			t.Fatalf("%s joins n2's call: %v", role, err)
		}
		t.Cleanup(func() { _ = p.Close() })
		if role == "customer" {
			customer = p
		}
	}
	n2.stop()
	time.Sleep(300 * time.Millisecond) // the drain's heartbeat goes out at once
	for i := range 4 {
		var more createdCall
		if code := apiCall(t, "POST", n1.base+"/api/calls", map[string]string{"customer": fmt.Sprint("D", i), "agent": "alice"}, &more); code != http.StatusCreated {
			t.Fatalf("POST /api/calls while n2 drains: %d", code)
		}
	}
	var list listedCalls
	apiCall(t, "GET", n1.base+"/api/calls", nil, &list)
	onN2 := 0
	for _, lc := range list.Calls {
		if lc.Node == "n2" {
			onN2++
		}
	}
	if onN2 != 1 {
		t.Errorf("n2 holds %d calls after its drain began, want only the running one: %+v", onN2, list.Calls)
	}
	before := customer.Counters().FramesDecoded
	time.Sleep(time.Second)
	if got := customer.Counters().FramesDecoded - before; got < 10 {
		t.Errorf("the draining node's call showed %d pictures in a second", got)
	}
}

// serveChildEnv makes this test binary run `threeway serve` with the
// JSON list of arguments it holds: a node in a process of its own, which
// a test can kill as a machine dies.
const serveChildEnv = "THREEWAY_TEST_SERVE_CHILD"

func serveChild(argsJSON string) int {
	var args []string
	if err := json.Unmarshal([]byte(argsJSON), &args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cmd := rootCommand()
	cmd.SetArgs(append([]string{"serve"}, args...))
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startNodeProcess serves a node of the cluster in its own process, and
// returns it with a kill that ends the process at once (SIGKILL: no
// drain, no goodbye to the cluster).
func startNodeProcess(t *testing.T, redisURL, id string) (clusterNode, func()) {
	t.Helper()
	args, _ := json.Marshal(append(append([]string{}, serveBase...), "--redis", redisURL, "--node-id", id,
		"--api-key", testAPIKey, "--drain", "0s"))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serveChildEnv+"="+string(args))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(kill)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if m := upAt.FindStringSubmatch(lines.Text()); m != nil {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return clusterNode{id: id, base: m[1]}, kill
		}
	}
	t.Fatalf("node %s's process did not come up", id)
	return clusterNode{}, nil
}

// A node that dies (its process killed) stops heartbeating: within its
// key's TTL and a heartbeat a live node takes its calls off the list, and
// a party that comes back for such a call hears call_ended, not
// call_not_found. The live node's own call goes on.
func TestClusterEndsADeadNodesCalls(t *testing.T) {
	clearServeEnv(t)
	redisURL, _ := startRedis(t)
	n1 := startNode(t, redisURL, "n1")
	n2, kill := startNodeProcess(t, redisURL, "n2")
	onN1 := createOn(t, n1, "n1", "alice")
	onN2 := createOn(t, n1, "n2", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// bob, the agent of n2's call, has his console on n1; carol's only
	// console is on n2.
	console(ctx, t, n1, "bob")
	console(ctx, t, n2, "carol")
	ws := "ws" + n1.base[len("http"):] + "/ws"
	join := func(c createdCall, role, token string) (*peer.Peer, error) {
		p, err := peer.Join(ctx, peer.Config{URL: ws, Call: c.Call, Role: role, Name: role, Token: token, Loopback: true})
		if err == nil {
			t.Cleanup(func() { _ = p.Close() })
		}
		return p, err
	}
	var survivor *peer.Peer // n1's customer
	for _, c := range []createdCall{onN1, onN2} {
		for role, token := range map[string]string{"customer": c.Customer.Token, "agent": c.Agent.Token} {
			p, err := join(c, role, token)
			if err != nil {
				t.Fatalf("%s joins call %s: %v", role, c.Call, err)
			}
			if c.Call == onN1.Call && role == "customer" {
				survivor = p
			}
		}
	}

	waitAgents(t, n1, 5*time.Second, map[string]string{"bob": "busy", "carol": "idle"})
	kill()
	killed := time.Now()
	for {
		var list listedCalls
		apiCall(t, "GET", n1.base+"/api/calls", nil, &list)
		gone := true
		for _, c := range list.Calls {
			gone = gone && c.Call != onN2.Call
		}
		if gone {
			break
		}
		if time.Since(killed) > 8*time.Second {
			t.Fatalf("n2's call is still listed %v after n2 died: %+v", time.Since(killed), list.Calls)
		}
		<-time.After(100 * time.Millisecond)
	}
	t.Logf("n2's call was taken off the list %v after n2 died", time.Since(killed).Round(100*time.Millisecond))
	// n1 forgets what n2 said of its agents: bob is out of n2's call,
	// carol's console is gone.
	waitAgents(t, n1, 10*time.Second-time.Since(killed), map[string]string{"bob": "idle", "carol": "offline"})
	t.Logf("n2's agents were freed %v after n2 died", time.Since(killed).Round(100*time.Millisecond))
	_, err := join(onN2, "customer", onN2.Customer.Token)
	var se *peer.ServerError
	if !errors.As(err, &se) || se.Code != "call_ended" {
		t.Errorf("coming back to the dead node's call: %v, want call_ended", err)
	}
	before := survivor.Counters().FramesDecoded
	time.Sleep(time.Second)
	if got := survivor.Counters().FramesDecoded - before; got < 10 {
		t.Errorf("n1's call showed %d pictures in the second after n2 died", got)
	}
}

// A load test over three nodes (--server a,b,c) spreads its calls over
// them, its parties joining through other nodes than their calls', and
// reports each node's calls and CPU per call-second; every call's three
// parties see every tile and hear right.
func TestLoadTestOverACluster(t *testing.T) {
	clearServeEnv(t)
	redisURL, _ := startRedis(t)
	dir := []string{"--directory", "../../testdata/loadtest-directory.yaml"}
	var urls []string
	for _, id := range []string{"n1", "n2", "n3"} {
		urls = append(urls, startNode(t, redisURL, id, dir...).base)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Params{Server: strings.Join(urls, ","), APIKey: testAPIKey, Calls: 3,
		Ramp: 3, Duration: 4 * time.Second, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary
	t.Logf("per node: %+v; fps p50 %.1f, tiles %.2f, audio %.2f", sum.PerNode, sum.FPSP50, sum.TilesOKRatio, sum.AudioOKRatio)
	if res.Up != 3 || len(sum.PerNode) != 3 {
		t.Fatalf("%d calls up, %d nodes reported (failed %v), want 3 and 3", res.Up, len(sum.PerNode), res.Failed)
	}
	placed := 0
	for id, n := range sum.PerNode {
		placed += n.Calls
		if n.Calls > 0 && n.ServerCPUSPerCallS <= 0 {
			t.Errorf("node %s: %d calls and no CPU per call-second", id, n.Calls)
		}
	}
	if placed != 3 || sum.TilesOKRatio < 1 || sum.AudioOKRatio < 1 || sum.FPSP50 < 10 {
		t.Errorf("%d calls placed, tiles %.2f, audio %.2f, fps %.1f", placed, sum.TilesOKRatio, sum.AudioOKRatio, sum.FPSP50)
	}
}

// createOn creates calls through via until one is placed on node, with
// agent as its agent.
func createOn(t *testing.T, via clusterNode, node, agent string) createdCall {
	t.Helper()
	for range 20 {
		var c struct {
			createdCall
			Node string `json:"node"`
		}
		if code := apiCall(t, "POST", via.base+"/api/calls", map[string]string{"customer": "Ann", "agent": agent}, &c); code != http.StatusCreated {
			t.Fatalf("POST /api/calls: %d", code)
		}
		if c.Node == node {
			return c.createdCall
		}
	}
	t.Fatalf("20 calls and none placed on %s", node)
	return createdCall{}
}

// console signs agent's console in on node, with a token from the API.
func console(ctx context.Context, t *testing.T, node clusterNode, agent string) *peer.Peer {
	t.Helper()
	var tok struct {
		Token string `json:"token"`
	}
	if code := apiCall(t, "POST", node.base+"/api/agents/"+agent+"/token", nil, &tok); code != http.StatusCreated {
		t.Fatalf("console token for %s: %d", agent, code)
	}
	p, err := peer.Connect(ctx, peer.Config{URL: "ws" + node.base[len("http"):] + "/ws", Name: agent, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	if err := p.SignIn(ctx, tok.Token); err != nil {
		t.Fatalf("%s signs in on %s: %v", agent, node.id, err)
	}
	return p
}

// waitAgents waits until node's GET /api/agents shows each agent in the
// state wanted.
func waitAgents(t *testing.T, node clusterNode, within time.Duration, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var list struct {
			Agents []struct {
				ID    string `json:"id"`
				State string `json:"state"`
				Call  string `json:"call"`
			} `json:"agents"`
		}
		apiCall(t, "GET", node.base+"/api/agents", nil, &list)
		got := map[string]string{}
		for _, a := range list.Agents {
			if _, ok := want[a.ID]; ok {
				got[a.ID] = a.State
			}
		}
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s lists agents %v, want %v", node.id, got, want)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// Three nodes, the third in a process of its own. A console signed in on
// n1 is offered help for a call on n2 (its agent idle on every node),
// accepts on n1, and joins the call on n2 as its third party: its socket
// stays with n1, which carries it on to n2, and its media goes to n2. The
// three see and hear each other; on every node the helper is busy in that
// call. Then n3 dies: within the TTL and a heartbeat its call leaves the
// list, bob (its call's agent, console on n1) is idle again and dave
// (console on n3) offline, on n1 and n2 alike, and the call on n2 goes on.
func TestClusterConsoleAcceptsHelpForACallOnAnotherNode(t *testing.T) {
	clearServeEnv(t)
	redisURL, _ := startRedis(t)
	n1, n2 := startNode(t, redisURL, "n1"), startNode(t, redisURL, "n2")
	n3, kill := startNodeProcess(t, redisURL, "n3")
	onN2 := createOn(t, n1, "n2", "alice")
	onN3 := createOn(t, n1, "n3", "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	join := func(c createdCall, role, token string) *peer.Peer {
		// Through n1: relayed to the call's node.
		p, err := peer.Join(ctx, peer.Config{URL: "ws" + n1.base[len("http"):] + "/ws", Call: c.Call, Role: role, Name: role, Token: token, Loopback: true})
		if err != nil {
			t.Fatalf("%s joins call %s: %v", role, c.Call, err)
		}
		t.Cleanup(func() { _ = p.Close() })
		return p
	}
	join(onN3, "customer", onN3.Customer.Token)
	join(onN3, "agent", onN3.Agent.Token)
	console(ctx, t, n1, "bob")
	console(ctx, t, n3, "dave")
	helper := console(ctx, t, n1, "carol")
	for _, n := range []clusterNode{n1, n2, n3} {
		waitAgents(t, n, 5*time.Second, map[string]string{"carol": "idle", "bob": "busy", "dave": "idle"})
	}

	parties := map[string]*peer.Peer{
		"customer": join(onN2, "customer", onN2.Customer.Token),
		"agent":    join(onN2, "agent", onN2.Agent.Token),
	}
	if err := parties["agent"].Send(map[string]string{"type": "help.request", "mode": "queue", "queue": "billing"}); err != nil {
		t.Fatal(err)
	}
	offer, err := helper.WaitFor(ctx, "help.offer", nil)
	if err != nil {
		t.Fatalf("carol's console on n1 got no offer: %v", err)
	}
	if offer.Field("call") != onN2.Call {
		t.Fatalf("offer %s, want call %s", offer.Raw, onN2.Call)
	}
	if err := helper.Accept(ctx, offer.Field("request")); err != nil {
		t.Fatalf("carol accepts on n1: %v", err)
	}
	parties["third"] = helper
	waitThreeParty(t, parties, 15*time.Second)
	for _, n := range []clusterNode{n1, n2, n3} {
		waitAgents(t, n, 5*time.Second, map[string]string{"carol": "busy"})
	}
	var list listedCalls
	apiCall(t, "GET", n1.base+"/api/calls", nil, &list)
	for _, c := range list.Calls {
		if c.Call == onN2.Call && (c.Node != "n2" || c.State != "three_party") {
			t.Errorf("the call is listed as %+v, want three_party on n2", c)
		}
	}

	kill()
	killed := time.Now()
	for _, n := range []clusterNode{n1, n2} {
		waitAgents(t, n, 10*time.Second-time.Since(killed), map[string]string{"bob": "idle", "dave": "offline", "carol": "busy"})
	}
	t.Logf("n3's agents were freed on n1 and n2 %v after n3 died", time.Since(killed).Round(100*time.Millisecond))
	for {
		apiCall(t, "GET", n2.base+"/api/calls", nil, &list)
		if !slices.ContainsFunc(list.Calls, func(c listedCall) bool { return c.Call == onN3.Call }) {
			break
		}
		if time.Since(killed) > 8*time.Second {
			t.Fatalf("n3's call is still listed %v after n3 died", time.Since(killed))
		}
		<-time.After(100 * time.Millisecond)
	}
	waitThreeParty(t, parties, 5*time.Second) // n2's call goes on
}

// waitThreeParty waits until each party of a three-party call has
// received ten more pictures of each other party's tile and hears it.
func waitThreeParty(t *testing.T, parties map[string]*peer.Peer, within time.Duration) {
	t.Helper()
	from := map[string]peer.Stats{}
	for role, p := range parties {
		from[role] = p.Counters()
	}
	deadline := time.Now().Add(within)
	for {
		ok := true
		for role, p := range parties {
			st := p.Stats()
			for _, other := range []string{"customer", "agent", "third"} {
				if other != role && (st.TileUpdates[other].Count < from[role].TileUpdates[other].Count+10 || st.ToneDBFS[other] < -30) {
					ok = false
				}
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for role, p := range parties {
				st := p.Stats()
				t.Logf("%s: tiles %+v, tones %v", role, st.TileUpdates, st.ToneDBFS)
			}
			t.Fatal("the three parties do not all see and hear each other")
		}
		<-time.After(100 * time.Millisecond)
	}
}

// A console that accepts, too late, an offer of a call on another node
// hears the refusal and stays a console of its own node: it is not
// carried on, and what it sets is seen on every node.
func TestClusterConsoleAcceptingTooLateStaysHome(t *testing.T) {
	clearServeEnv(t)
	redisURL, _ := startRedis(t)
	n1 := startNode(t, redisURL, "n1", "--help-timeout", "1s")
	n2 := startNode(t, redisURL, "n2", "--help-timeout", "1s")
	onN2 := createOn(t, n1, "n2", "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	helper := console(ctx, t, n1, "carol")
	waitAgents(t, n2, 5*time.Second, map[string]string{"carol": "idle"})
	agent, err := peer.Join(ctx, peer.Config{URL: "ws" + n2.base[len("http"):] + "/ws", Call: onN2.Call, Role: "agent", Name: "agent", Token: onN2.Agent.Token, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Close() })
	if err := agent.Send(map[string]string{"type": "help.request", "mode": "agent", "agent": "carol"}); err != nil {
		t.Fatal(err)
	}
	offer, err := helper.WaitFor(ctx, "help.offer", nil)
	if err != nil {
		t.Fatal(err)
	}
	request := offer.Field("request")
	if _, err := helper.WaitFor(ctx, "help.withdrawn", func(m peer.Message) bool { return m.Field("request") == request }); err != nil {
		t.Fatalf("the offer was not withdrawn after the help timeout: %v", err)
	}
	var se *peer.ServerError
	if err := helper.Accept(ctx, request); !errors.As(err, &se) || se.Code != "no_such_request" {
		t.Fatalf("accepting too late: %v, want no_such_request", err)
	}
	if err := helper.Send(map[string]string{"type": "presence.set", "state": "away"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []clusterNode{n1, n2} {
		waitAgents(t, n, 5*time.Second, map[string]string{"carol": "away"})
	}
}
