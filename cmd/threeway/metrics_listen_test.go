package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// get fetches url, returning its status and body; 0 while nothing answers.
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// With --metrics-listen, /metrics is served on that internal address and
// not on the public one; health answers on both.
func TestMetricsListenKeepsMetricsOffThePublicPort(t *testing.T) {
	clearServeEnv(t)
	public, internal := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := rootCommand()
	args := slices.Concat([]string{"serve"}, serveBase, []string{"--listen", public, "--metrics-listen", internal, "--drain", "0s"})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve ended with %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; <-time.After(20 * time.Millisecond) {
		if code, _ := get("http://" + public + "/healthz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the public server does not answer /healthz")
		}
	}
	if code, _ := get("http://" + public + "/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics: %d, want 404", code)
	}
	if code, body := get("http://" + internal + "/metrics"); code != http.StatusOK || !strings.Contains(body, "threeway_calls ") {
		t.Errorf("internal /metrics: %d, and threeway_calls in it: %v", code, strings.Contains(body, "threeway_calls "))
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, _ := get("http://" + internal + path); code != http.StatusOK {
			t.Errorf("internal %s: %d, want 200", path, code)
		}
	}
}
