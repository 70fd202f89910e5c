package signaling_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// scrape reads every sample of /metrics into name{labels} → value.
func scrape(t *testing.T, ts *testServer) map[string]float64 {
	t.Helper()
	resp, err := http.Get(ts.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// The metrics are exposed and move during a call: calls and parties,
// views, frames decoded and encoded, help outcomes, process CPU.
func TestMetricsMoveDuringACall(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) { p.Metrics = metrics.New() })
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(ts.http.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", path, resp.Status, err)
		}
		resp.Body.Close()
	}
	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent", "third") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	before := scrape(t, ts)
	<-time.After(time.Second)
	after := scrape(t, ts)

	exact := map[string]float64{
		"threeway_calls": 1, `threeway_parties{role="customer"}`: 1, `threeway_parties{role="third"}`: 1,
		"threeway_views": 1, `threeway_help_outcomes_total{outcome="accepted"}`: 1, `threeway_agents{state="busy"}`: 2,
		"threeway_viewers_split": 0,
	}
	for name, want := range exact {
		if got, ok := after[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"threeway_frames_decoded_total", "threeway_frames_encoded_total",
		"threeway_frames_sent_total", "threeway_encode_seconds_count", "threeway_decode_seconds_count",
		"threeway_viewer_bandwidth_kbps_count", "process_cpu_seconds_total"} {
		if after[name] <= before[name] {
			t.Errorf("%s did not move during a second of call: %v → %v", name, before[name], after[name])
		}
	}
	// The view reports its bitrate once a second, within its bounds.
	if n, sum := after["threeway_view_bitrate_kbps_count"], after["threeway_view_bitrate_kbps_sum"]; n == 0 || sum > 1200*n || sum < 50*n {
		t.Errorf("views' bitrate: %v reports summing to %v kbit/s, want some, each from 50 to 1200", n, sum)
	}
	// One shared view serves three viewers: three frames sent per encode.
	enc := after["threeway_frames_encoded_total"] - before["threeway_frames_encoded_total"]
	sent := after["threeway_frames_sent_total"] - before["threeway_frames_sent_total"]
	if enc < 10 || sent < 2.5*enc {
		t.Errorf("in a second: %v frames encoded, %v sent; want about 15 and three times that", enc, sent)
	}
}

// wantSeries checks exact values of series in a scrape.
func wantSeries(t *testing.T, when string, got map[string]float64, want map[string]float64) {
	t.Helper()
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s: %s = %v (present %v), want %v", when, name, g, ok, v)
		}
	}
}

// The series by state move with the call: calls by state, parties by
// media and by connection, encoders by kind, refusals by code, and the
// RTCP feedback the server sends and receives.
func TestMetricsByStateMoveDuringACall(t *testing.T) {
	ts := startServer(t, func(p *signaling.ServerParams) {
		p.Metrics = metrics.New()
		p.Calls.MaxCalls = 2
	})
	ts.createCall(t, "Zed", "dave") // nobody joins it
	wantSeries(t, "a call nobody joined", scrape(t, ts), map[string]float64{
		`threeway_calls_by_state{state="waiting"}`: 1, `threeway_calls_by_state{state="two_party"}`: 0,
	})
	_, peers := ts.threeParty(t)
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent", "third") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	wantSeries(t, "three parties, all on", scrape(t, ts), map[string]float64{
		`threeway_calls_by_state{state="waiting"}`:          1,
		`threeway_calls_by_state{state="three_party"}`:      1,
		`threeway_calls_by_state{state="seeking_help"}`:     0,
		`threeway_parties_by_media{audio="on",video="on"}`:  3,
		`threeway_parties_by_media{audio="on",video="off"}`: 0,
		`threeway_party_connections{state="connected"}`:     3,
		`threeway_video_encoders{kind="view"}`:              1,
		`threeway_video_encoders{kind="placeholder"}`:       0,
		`threeway_parties_sharing`:                          0,
	})

	before := scrape(t, ts)
	// Refusals of every kind are counted by code: the API's, the
	// protocol's and the call limit's.
	if code := ts.apiWithKey(t, "POST", "/api/calls", "wrong-key", map[string]string{"customer": "X", "agent": "alice"}); code != http.StatusUnauthorized {
		t.Errorf("wrong API key: status %d", code)
	}
	if code := ts.api(t, "POST", "/api/calls", map[string]string{"customer": "Y", "agent": "alice"}, nil); code != http.StatusServiceUnavailable {
		t.Errorf("a third call beyond --max-calls 2: status %d, want 503", code)
	}
	if err := peers["third"].SetVideo(false); err != nil {
		t.Fatal(err)
	}
	videoOff(t, peers["customer"], "third")
	since := time.Now()
	if err := peers["customer"].Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "agent"}); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(t, peers["customer"], since); code != call.CodeVideoNotEnabledForAll {
		t.Fatalf("maximize with the third's video off: %s", code)
	}
	// The agent's uplink loses packets: the server NACKs it. The
	// customer's downlink loses packets: the customer NACKs the server.
	if err := peers["agent"].SetOutboundLoss(0.1); err != nil {
		t.Fatal(err)
	}
	if err := peers["customer"].SetInboundLoss(0.1); err != nil {
		t.Fatal(err)
	}
	// NACKs need losses and then a later packet: give them up to 10 s
	// (2 s was a coin toss under the race detector) rather than a fixed wait.
	nacks := []string{`threeway_rtcp_sent_total{type="nack"}`, `threeway_rtcp_received_total{type="nack"}`}
	after := scrape(t, ts)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); after = scrape(t, ts) {
		if after[nacks[0]] > before[nacks[0]] && after[nacks[1]] > before[nacks[1]] {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, code := range []string{"unauthorized", "server_full", "video_not_enabled_for_all"} {
		name := `threeway_refusals_total{code="` + code + `"}`
		if d := after[name] - before[name]; d != 1 {
			t.Errorf("%s moved by %v, want 1", name, d)
		}
	}
	wantSeries(t, "the third's video off", after, map[string]float64{
		`threeway_parties_by_media{audio="on",video="on"}`:  2,
		`threeway_parties_by_media{audio="on",video="off"}`: 1,
	})
	for _, name := range nacks {
		if after[name] <= before[name] {
			t.Errorf("%s did not move with 10%% loss each way: %v → %v", name, before[name], after[name])
		}
	}
	if n := peers["agent"].Stats().NACKsReceived; n == 0 {
		t.Error("the agent, losing 10% of what it sends, got no NACK")
	}
	if after[`threeway_rtcp_sent_total{type="pli"}`] == 0 {
		t.Error("no PLI counted as sent, though every new source is asked for a key frame")
	}

	// The customer's own layout makes a second view and encoder.
	if err := peers["third"].SetVideo(true); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error {
		if err := peers["customer"].Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "agent"}); err != nil {
			return err
		}
		<-time.After(200 * time.Millisecond)
		if got := scrape(t, ts)[`threeway_video_encoders{kind="view"}`]; got != 2 {
			return errorf("%v view encoders after one viewer maximized, want 2", got)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if err := peers["customer"].Leave(); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(3*time.Second, func() error {
		m := scrape(t, ts)
		if m[`threeway_party_connections{state="connected"}`] != 2 || m[`threeway_video_encoders{kind="view"}`] != 1 {
			return errorf("after the customer left: %v connected, %v view encoders; want 2 and 1",
				m[`threeway_party_connections{state="connected"}`], m[`threeway_video_encoders{kind="view"}`])
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// videoOff waits until p's call.state shows role's video off.
func videoOff(t *testing.T, p *peer.Peer, role string) {
	t.Helper()
	if _, err := p.WaitFor(ctxFor(t, 5*time.Second), "call.state", func(m peer.Message) bool {
		var st struct {
			Parties []struct {
				Role  string `json:"role"`
				Video bool   `json:"video"`
			} `json:"parties"`
		}
		if m.Decode(&st) != nil {
			return false
		}
		for _, party := range st.Parties {
			if party.Role == role {
				return !party.Video
			}
		}
		return false
	}); err != nil {
		t.Fatalf("%s's video is not off in the call state: %v", role, err)
	}
}
