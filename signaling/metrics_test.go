package signaling_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/metrics"
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
	}
	for name, want := range exact {
		if got, ok := after[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"threeway_frames_decoded_total", "threeway_frames_encoded_total",
		"threeway_frames_sent_total", "threeway_encode_seconds_count", "threeway_decode_seconds_count",
		"process_cpu_seconds_total"} {
		if after[name] <= before[name] {
			t.Errorf("%s did not move during a second of call: %v → %v", name, before[name], after[name])
		}
	}
	// One shared view serves three viewers: three frames sent per encode.
	enc := after["threeway_frames_encoded_total"] - before["threeway_frames_encoded_total"]
	sent := after["threeway_frames_sent_total"] - before["threeway_frames_sent_total"]
	if enc < 10 || sent < 2.5*enc {
		t.Errorf("in a second: %v frames encoded, %v sent; want about 15 and three times that", enc, sent)
	}
}
