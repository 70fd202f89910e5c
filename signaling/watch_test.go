package signaling_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

// seenState is what the tests read of a call.state.
type seenState struct {
	Parties []seenParty `json:"parties"`
	Layout  struct {
		Mode  string `json:"mode"`
		Party string `json:"party"`
	} `json:"layout"`
}

// seenParty is what the tests read of a party in a call.state.
type seenParty struct {
	Role         string `json:"role"`
	Audio        bool   `json:"audio"`
	Reconnecting bool   `json:"reconnecting"`
}

// lastState decodes the latest call.state p received.
func lastState(p *peer.Peer) (seenState, error) {
	var st seenState
	msgs := p.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Type == "call.state" {
			return st, msgs[i].Decode(&st)
		}
	}
	return st, errors.New("no call.state received")
}

// showsReconnecting checks that p's latest call.state shows exactly roles
// reconnecting (none: nobody).
func showsReconnecting(p *peer.Peer, roles ...string) error {
	st, err := lastState(p)
	if err != nil {
		return err
	}
	var got []string
	for _, party := range st.Parties {
		if party.Reconnecting {
			got = append(got, party.Role)
		}
	}
	if !slices.Equal(got, roles) {
		return fmt.Errorf("call.state shows %v reconnecting, want %v", got, roles)
	}
	return nil
}

// noColour checks that role's colour is nowhere in p's picture: its tile
// shows a placeholder.
func noColour(p *peer.Peer, role string) error {
	if t, ok := p.Counters().Tiles[role]; ok {
		return fmt.Errorf("%s's colour is still in the picture, at frame %d", role, t.FrameNumber)
	}
	return nil
}

// seesColour checks that role's colour is in p's picture.
func seesColour(p *peer.Peer, role string) error {
	if _, ok := p.Counters().Tiles[role]; !ok {
		return fmt.Errorf("%s's colour is not in the picture (sees %v)", role, tileRoles(p.Counters().Tiles))
	}
	return nil
}

// movesPast checks that p's picture shows role's tile at a readable frame
// number other than frame: its media is back, not a picture held over.
func movesPast(p *peer.Peer, role string, frame int) error {
	t, ok := p.Counters().Tiles[role]
	if !ok || t.FrameNumber < 0 || t.FrameNumber == frame {
		return fmt.Errorf("%s's tile shows frame %d (seen %v), want a new one after %d", role, t.FrameNumber, ok, frame)
	}
	return nil
}

// messagesSince lists the types of p's messages that arrived after t.
func messagesSince(p *peer.Peer, t time.Time) []string {
	var out []string
	for _, m := range p.Messages() {
		if m.At.After(t) {
			out = append(out, m.Type)
		}
	}
	return out
}

// minFPS is the least rate at which a party must receive its picture:
// 90 % of the frame rate, 60 % under the race detector, whose slowed
// composing has cost 10.7-13.4 fps, at the parent commit too. The plain
// pass holds the product to its figures; the race pass looks for races
// on the same paths, and only for a picture that keeps moving.
func minFPS() float64 {
	if raceEnabled {
		return 0.6 * testFPS
	}
	return 0.9 * testFPS
}

// raceSlack is what the race detector may add to a deadline that the
// plain pass holds (the outage placeholder came at 1.8 s under it, and a
// picture back from an outage took 1.0 s to show and 4 s to reach its rate).
func raceSlack() time.Duration {
	if raceEnabled {
		return time.Second
	}
	return 0
}

// minTileFPS is the least rate at which a party back in its seat must be
// seen moving in another's picture: 80 % of the frame rate (less under
// the race detector, see raceEnabled).
func minTileFPS() float64 {
	if raceEnabled {
		return 0.6 * testFPS
	}
	return 0.8 * testFPS
}

// holeWait bounds how long a party's picture, back after an outage, may
// take to move at its full rate again: the frame builder gives the
// outage's hole up as lost for good (300 ms), the key frame it asks for
// comes a round trip later, and resumesInTile measures over a second.
const holeWait = 3 * time.Second

// resumesInTile waits up to d for viewer to see role's tile move at
// minTileFPS over a second.
func resumesInTile(viewer *peer.Peer, role string, d time.Duration) error {
	one := map[string]*peer.Peer{"viewer": viewer}
	return waitFor(d+2*raceSlack(), func() error {
		if fps := watch(one, []string{role}, time.Second)["viewer"].tileFPS[role]; fps < minTileFPS() {
			return errorf("%s's tile moves at %.1f fps, want at least %.1f", role, fps, minTileFPS())
		}
		return nil
	})
}

// maximizes checks that p's latest call.state has it maximizing party.
func maximizes(p *peer.Peer, party string) error {
	st, err := lastState(p)
	if err != nil {
		return err
	}
	if st.Layout.Mode != "maximize" || st.Layout.Party != party {
		return errorf("layout %+v, want %s maximized", st.Layout, party)
	}
	return nil
}

// seesBoth checks that p's picture shows the customer and the agent.
func seesBoth(p *peer.Peer) error {
	tiles := p.Counters().Tiles
	for _, role := range []string{"customer", "agent"} {
		if t, ok := tiles[role]; !ok || t.FrameNumber < 0 {
			return errorf("%s's tile is not readable (sees %v)", role, tileRoles(tiles))
		}
	}
	return nil
}

// watched is what one viewer's picture did over a watch.
type watched struct {
	fps     float64            // pictures decoded a second
	maxGap  time.Duration      // the longest time with no new picture
	tileFPS map[string]float64 // new frame numbers a second in each role's tile
}

// watch samples every viewer's picture every 10 ms for d: how often it
// changed, its longest freeze, and how often each of roles' tiles showed
// a new frame number (as the browsers' freeze and frame counts would).
func watch(viewers map[string]*peer.Peer, roles []string, d time.Duration) map[string]watched {
	out := map[string]watched{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, p := range viewers {
		wg.Go(func() {
			w := watchOne(p, roles, d)
			mu.Lock()
			out[name] = w
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func watchOne(p *peer.Peer, roles []string, d time.Duration) watched {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	first := p.Counters()
	frames, lastChange := first.FramesDecoded, start
	shown := map[string]int{}
	for _, role := range roles {
		shown[role] = -1
		if t, ok := first.Tiles[role]; ok {
			shown[role] = t.FrameNumber
		}
	}
	changes := map[string]int{}
	var w watched
	for now := start; now.Sub(start) < d; now = <-tick.C {
		st := p.Counters()
		if st.FramesDecoded != frames {
			w.maxGap = max(w.maxGap, now.Sub(lastChange))
			frames, lastChange = st.FramesDecoded, now
		}
		for _, role := range roles {
			if t, ok := st.Tiles[role]; ok && t.FrameNumber >= 0 && t.FrameNumber != shown[role] {
				shown[role] = t.FrameNumber
				changes[role]++
			}
		}
	}
	elapsed := time.Since(start)
	w.maxGap = max(w.maxGap, elapsed-lastChange.Sub(start))
	w.fps = float64(frames-first.FramesDecoded) / elapsed.Seconds()
	w.tileFPS = map[string]float64{}
	for _, role := range roles {
		w.tileFPS[role] = float64(changes[role]) / elapsed.Seconds()
	}
	return w
}

// cutProxy forwards TCP connections to a server until cut closes every
// one open, as a network that drops them would; it accepts new ones
// after.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Go(func() { pipe(out, in) })
		p.wg.Go(func() { pipe(in, out) })
	}
}

// pipe copies from src to dst until either fails, then closes both.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
}

// cut closes every connection through the proxy.
func (p *cutProxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// url is the proxy's address for the server's WebSocket.
func (p *cutProxy) url() string { return "ws://" + p.ln.Addr().String() + "/ws" }
