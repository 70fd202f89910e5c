package main

import (
	"bufio"
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

// startServe runs `threeway serve` with args, printing to out, until the
// test ends or stop, which is its SIGTERM (the drain begins).
func startServe(t *testing.T, out io.Writer, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := rootCommand()
	cmd.SetArgs(append([]string{"serve"}, args...))
	cmd.SetOut(out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve %v ended with %v", args, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("serve %v did not stop", args)
		}
	})
	return cancel
}

// waitHealthy waits until addr answers /healthz.
func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; <-time.After(20 * time.Millisecond) {
		if code, _ := get("http://" + addr + "/healthz"); code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer /healthz", addr)
		}
	}
}

// A keep-alive connection left idle is closed by the server once the
// idle timeout passes, freeing its descriptor; one in use is not.
func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	clearServeEnv(t)
	defer func(d time.Duration) { httpIdleTimeout = d }(httpIdleTimeout)
	httpIdleTimeout = 300 * time.Millisecond
	addr := freeAddr(t)
	startServe(t, io.Discard, slices.Concat(serveBase, []string{"--listen", addr, "--drain", "0s"})...)
	waitHealthy(t, addr)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for i := range 3 { // requests a little apart keep it open
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("request %d on the kept-alive connection: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		<-time.After(100 * time.Millisecond)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("the idle connection ended with %v, want the server closing it", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the idle connection was closed after %v, want about 300ms", d)
	}
}

// With --metrics-listen, /metrics is served on that internal address and
// not on the public one; health answers on both.
func TestMetricsListenKeepsMetricsOffThePublicPort(t *testing.T) {
	clearServeEnv(t)
	public, internal := freeAddr(t), freeAddr(t)
	startServe(t, io.Discard, slices.Concat(serveBase, []string{"--listen", public, "--metrics-listen", internal, "--drain", "0s"})...)
	waitHealthy(t, public)
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
