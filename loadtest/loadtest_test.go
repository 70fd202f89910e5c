package loadtest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/loadtest"
	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/mixer"
	"github.com/threeway-mcu/threeway/signaling"
)

const apiKey = "loadtest-key"

// server runs threeway in-process on 127.0.0.1 with media on loopback.
func server(t *testing.T, maxCalls int) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	srv, err := signaling.NewServer(signaling.ServerParams{
		Media:   mixer.Params{Width: 1280, Height: 720, FPS: 15, VideoBitrateKbps: 1200, Logger: log},
		ICE:     signaling.ICEParams{Interfaces: []string{"lo"}},
		Calls:   call.Params{Directory: call.DefaultDirectory(), MaxCalls: maxCalls},
		Secret:  []byte("secret"),
		APIKey:  apiKey,
		Logger:  log,
		Metrics: metrics.New(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Routes(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(ctx)
		hs.Close()
	})
	return hs.URL
}

func TestTwoCallsMeetTheirSLOs(t *testing.T) {
	url := server(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Params{
		Server: url, APIKey: apiKey, Calls: 2, Ramp: 4, Duration: 4 * time.Second,
		Layout: loadtest.Equal, SLOFPS: 0.8, SLOLatencyP99: 400 * time.Millisecond, Loopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.SLOPass {
		t.Errorf("SLOs missed: %v", res.SLOMissed)
	}
	path := filepath.Join(t.TempDir(), "result.json")
	if err := loadtest.WriteJSON(path, res); err != nil {
		t.Fatal(err)
	}
	if err := loadtest.WriteHTML(filepath.Join(t.TempDir(), "report.html"), res); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"calls", "duration_s", "slo_pass", "summary", "streams"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("result JSON lacks %q", key)
		}
	}
	summary := doc["summary"].(map[string]any)
	sane := map[string][2]float64{ // every summary field, with the range it must lie in
		"fps_p50": {12, 16}, "fps_min": {12, 16},
		"latency_ms_p50": {1, 400}, "latency_ms_p99": {1, 400}, "join_ms_p99": {1, 10000},
		"freezes": {0, 2}, "tiles_ok_ratio": {1, 1}, "audio_ok_ratio": {1, 1},
		"server_cpu_s_per_call_s": {0.01, 2}, "server_rss_mb": {10, 4000}, "generator_cpu_s": {0.01, 1000},
	}
	for key, r := range sane {
		v, ok := summary[key].(float64)
		if !ok || v < r[0] || v > r[1] {
			t.Errorf("summary.%s = %v, want in [%v, %v]", key, summary[key], r[0], r[1])
		}
	}
	if n := len(doc["streams"].([]any)); n != 6 {
		t.Errorf("%d streams, want 6 (three parties in two calls)", n)
	}
	t.Logf("summary: %+v", res.Summary)
}

func TestRefusedCallsAreReportedNotAwaited(t *testing.T) {
	url := server(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	res, err := loadtest.Run(ctx, loadtest.Params{
		Server: url, APIKey: apiKey, Calls: 2, Ramp: 4, Duration: 2 * time.Second,
		Layout: loadtest.Equal, SLOFPS: 0.8, Loopback: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Refused[call.CodeServerFull] != 1 || res.Up != 1 {
		t.Errorf("with --max-calls 1: up %d, refused %v; want 1 up and 1 server_full", res.Up, res.Refused)
	}
	if res.SLOPass {
		t.Error("a run with refused calls passed its SLOs")
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("the run took %v: refusals must not be waited for", took)
	}
}
