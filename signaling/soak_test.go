package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// TestSoak runs for THREEWAY_SOAK (e.g. 10m; `make bench` sets it, and
// the test is skipped without it): two-party calls with media join and
// leave, a party floods its call with commands, and 500 sockets that never
// join are kept open (reopened as the server closes them for auth_timeout),
// beside a three-party bystander call. Before and after, with the churn
// over, it reports the process's goroutines and RSS and the bystanders'
// frame rate; it fails if goroutines leaked or the bystanders fell below
// the product's rate.
func TestSoak(t *testing.T) {
	length, err := time.ParseDuration(os.Getenv("THREEWAY_SOAK"))
	if err != nil {
		t.Skip("set THREEWAY_SOAK to a duration to soak")
	}
	ts := startServer(t, func(p *signaling.ServerParams) { p.Metrics = metrics.New() })
	_, bystanders := ts.threeParty(t)
	for role, p := range bystanders {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, "customer", "agent", "third") }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	before := soakSample(t, ts, bystanders)
	t.Logf("before: %s", before)

	ctx, stop := context.WithTimeout(context.Background(), length)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { keepIdleSockets(ctx, ts.ws, 500) })
	wg.Go(func() { flood(ctx, t, ts) })
	cycles := 0
	for ctx.Err() == nil {
		churnCall(ctx, t, ts)
		cycles++
	}
	wg.Wait()
	// The server closes what the churn left: sockets, legs, rooms.
	time.Sleep(15 * time.Second)
	after := soakSample(t, ts, bystanders)
	t.Logf("after %v, %d calls joined and left: %s", length, cycles, after)
	if grown := after.goroutines - before.goroutines; grown > 50 {
		t.Errorf("%d goroutines more after the soak than before", grown)
	}
	for role, fps := range after.fps {
		if fps < minFPS() {
			t.Errorf("the bystanders' %s at %.1f fps after the soak, want at least %.1f", role, fps, minFPS())
		}
	}
}

// soakFigures are what the soak compares before and after.
type soakFigures struct {
	goroutines int
	rssMB      float64
	fps        map[string]float64
}

func (f soakFigures) String() string {
	return fmt.Sprintf("%d goroutines, %.0f MB RSS, bystanders at %.1f/%.1f/%.1f fps",
		f.goroutines, f.rssMB, f.fps["customer"], f.fps["agent"], f.fps["third"])
}

func soakSample(t *testing.T, ts *testServer, bystanders map[string]*peer.Peer) soakFigures {
	f := soakFigures{fps: measureFPS(bystanders, 5*time.Second)}
	runtime.GC()
	f.goroutines = runtime.NumGoroutine()
	f.rssMB = scrape(t, ts)["process_resident_memory_bytes"] / (1 << 20)
	return f
}

// keepIdleSockets keeps n sockets that never join open until ctx ends,
// from several loopback addresses (the server caps sockets per address).
func keepIdleSockets(ctx context.Context, url string, n int) {
	var wg sync.WaitGroup
	for i := range n {
		from := fmt.Sprintf("127.0.0.%d", 2+i%4)
		wg.Go(func() {
			dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
			client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
			for ctx.Err() == nil {
				conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				_, _, _ = conn.Read(ctx) // auth_timeout's error, then its close
				conn.CloseNow()
			}
		})
	}
	wg.Wait()
}

// flood has a customer send video.set as fast as it can, reading the
// rate_limited refusals, until ctx ends; it joins a new call whenever the
// server let it go (no_media, then auth_timeout).
func flood(ctx context.Context, t *testing.T, ts *testServer) {
	for ctx.Err() == nil {
		c := ts.createCall(t, "Flood", "carol")
		conn, _, err := websocket.Dial(ctx, ts.ws, nil)
		if err != nil {
			continue
		}
		go func() {
			for {
				if _, _, err := conn.Read(ctx); err != nil {
					return
				}
			}
		}()
		join, _ := json.Marshal(map[string]string{"type": "join", "call": c.Call, "role": "customer", "name": "Flood", "token": c.Customer.Token})
		for i := 0; conn.Write(ctx, websocket.MessageText, join) == nil && ctx.Err() == nil; i++ {
			join = fmt.Appendf(nil, `{"type":"video.set","on":%v}`, i%2 == 0)
		}
		conn.CloseNow()
	}
}

// churnCall runs one two-party call with media for a few seconds.
func churnCall(ctx context.Context, t *testing.T, ts *testServer) {
	c := ts.createCall(t, "Churn", "dave")
	join := func(role, token string) *peer.Peer {
		p, err := peer.Join(ctx, peer.Config{URL: ts.ws, Call: c.Call, Role: role, Name: role, Token: token, Loopback: true})
		if err != nil {
			return nil
		}
		return p
	}
	customer, agent := join("customer", c.Customer.Token), join("agent", c.Agent.Token)
	select {
	case <-ctx.Done():
	case <-time.After(8 * time.Second):
	}
	for _, p := range []*peer.Peer{customer, agent} {
		if p != nil {
			_ = p.Leave()
			_ = p.Close()
		}
	}
}
