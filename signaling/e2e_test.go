package signaling_test

import (
	"fmt"
	"image"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

const (
	testFPS    = 15
	canvasW    = 1280
	canvasH    = 720
	tileW      = 640
	tileH      = 360
	boxSlackPx = 12 // colour boxes lose a few pixels to VP8 edge blur
)

// waitFor polls cond until it holds or the deadline passes, returning the
// last failure reason.
func waitFor(d time.Duration, cond func() error) error {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		<-tick.C
	}
}

// equalRects is where the equal layout puts 2 or 3 parties on a 1280x720
// canvas, in role order.
var equalRects = map[int][]image.Rectangle{
	2: {image.Rect(0, 180, 640, 540), image.Rect(640, 180, 1280, 540)},
	3: {image.Rect(0, 0, 640, 360), image.Rect(640, 0, 1280, 360), image.Rect(320, 360, 960, 720)},
}

// equalTiles checks that p's picture shows exactly roles, each in the tile
// the equal layout gives it.
func equalTiles(p *peer.Peer, roles ...string) error {
	want := map[string]image.Rectangle{}
	for i, role := range roles {
		want[role] = equalRects[len(roles)][i]
	}
	return tilesAt(p, want)
}

// tilesAt checks that p's picture shows exactly the role colours in want,
// each at its rectangle.
func tilesAt(p *peer.Peer, want map[string]image.Rectangle) error {
	st := p.Stats()
	if st.Width != canvasW || st.Height != canvasH {
		return fmt.Errorf("picture is %dx%d, want %dx%d", st.Width, st.Height, canvasW, canvasH)
	}
	if len(st.Tiles) != len(want) {
		return fmt.Errorf("sees %d role colours (%v), want %d", len(st.Tiles), tileRoles(st.Tiles), len(want))
	}
	for role, rect := range want {
		tile, ok := st.Tiles[role]
		if !ok {
			return fmt.Errorf("%s's colour not seen (sees %v)", role, tileRoles(st.Tiles))
		}
		if !near(tile.Box, rect, boxSlackPx) {
			return fmt.Errorf("%s's tile is at %v, want %v", role, tile.Box, rect)
		}
	}
	return nil
}

func tileRoles(tiles map[string]peer.Tile) []string {
	var roles []string
	for r := range tiles {
		roles = append(roles, r)
	}
	return roles
}

func near(a, b image.Rectangle, slack int) bool {
	d := func(x, y int) bool { return x-y <= slack && y-x <= slack }
	return d(a.Min.X, b.Min.X) && d(a.Min.Y, b.Min.Y) && d(a.Max.X, b.Max.X) && d(a.Max.Y, b.Max.Y)
}

// hears checks that p hears the tones of others and not its own: each
// other's tone well above the noise floor, its own at least 30 dB below
// the quietest other.
func hears(p *peer.Peer, own string, others ...string) error {
	levels := p.Stats().ToneDBFS
	quietest := 0.0
	for _, o := range others {
		if levels[o] < -30 {
			return fmt.Errorf("%s hears %s at %.1f dBFS, want above -30 (levels %v)", own, o, levels[o], levels)
		}
		quietest = min(quietest, levels[o])
	}
	if own != "" && levels[own] > quietest-30 {
		return fmt.Errorf("%s hears its own tone at %.1f dBFS, want 30 dB under %.1f (levels %v)",
			own, levels[own], quietest, levels)
	}
	return nil
}

// hearsNow is hears over fresh audio: it passes only once p has received
// a full second of audio since hearsNow was called (the tone levels cover
// the last second), so audio that stopped cannot pass on what it held.
// The roles in gone must be as absent as p's own voice.
func hearsNow(p *peer.Peer, own string, others []string, gone ...string) func() error {
	const second = 50 // 20 ms frames
	mark := p.Stats().AudioFrames
	return func() error {
		if got := p.Stats().AudioFrames - mark; got < second {
			return fmt.Errorf("%s received %d audio frames since the check began, want %d", own, got, second)
		}
		if err := hears(p, own, others...); err != nil {
			return err
		}
		levels := p.Stats().ToneDBFS
		for _, g := range gone {
			if levels[g] > levels[others[0]]-30 {
				return fmt.Errorf("%s still hears %s at %.1f dBFS (levels %v)", own, g, levels[g], levels)
			}
		}
		return nil
	}
}

// measureFPS counts each peer's decoded frames over d.
func measureFPS(peers map[string]*peer.Peer, d time.Duration) map[string]float64 {
	start := map[string]int{}
	for role, p := range peers {
		start[role] = p.Stats().FramesDecoded
	}
	t0 := time.Now()
	<-time.After(d)
	elapsed := time.Since(t0).Seconds()
	fps := map[string]float64{}
	for role, p := range peers {
		fps[role] = float64(p.Stats().FramesDecoded-start[role]) / elapsed
	}
	return fps
}

func TestThreePartyCall(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t)

	// Warm-up: every peer sees all three in equal tiles and hears the others.
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
	}
	for role, p := range peers {
		if err := waitFor(5*time.Second, func() error { return hears(p, role, others(role)...) }); err != nil {
			t.Fatalf("%v", err)
		}
	}

	for role, fps := range measureFPS(peers, 5*time.Second) {
		t.Logf("%s receives %.1f fps", role, fps)
		if fps < minFPS() {
			t.Errorf("%s receives %.1f fps, want at least %.1f", role, fps, minFPS())
		}
	}
	for role, p := range peers {
		if err := equalTiles(p, peer.Roles()...); err != nil {
			t.Errorf("%s after 5 s: %v", role, err)
		}
		if err := hears(p, role, others(role)...); err != nil {
			t.Errorf("after 5 s: %v", err)
		}
	}

	// The third party hangs up: the other two see two equal tiles within
	// 2 s and still hear each other.
	if err := peers["third"].Leave(); err != nil {
		t.Fatalf("third leaves: %v", err)
	}
	left := time.Now()
	for _, role := range []string{"customer", "agent"} {
		p := peers[role]
		if err := waitFor(2*time.Second, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
			t.Errorf("%s, %v after the third left: %v", role, time.Since(left).Round(time.Millisecond), err)
		}
	}
	for _, pair := range [][2]string{{"customer", "agent"}, {"agent", "customer"}} {
		p := peers[pair[0]]
		if err := waitFor(3*time.Second, hearsNow(p, pair[0], pair[1:], "third")); err != nil {
			t.Errorf("after the third left: %v", err)
		}
	}
}

func others(role string) []string {
	var out []string
	for _, r := range peer.Roles() {
		if r != role {
			out = append(out, r)
		}
	}
	return out
}

// A party sending garbage VP8 never disturbs the others: they keep their
// pictures, frame rate and audio, its tile shows the placeholder (it never
// sent a good frame), and the server asks it for a key frame.
func TestGarbageVideoLeavesOthersUnaffected(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.threeParty(t, func(c *peer.Config) { c.GarbageVideo = true })
	bad := peers["third"]
	delete(peers, "third")

	// The third's tile holds the placeholder: no third colour anywhere.
	threeWithoutThird := map[string]image.Rectangle{"customer": equalRects[3][0], "agent": equalRects[3][1]}
	for role, p := range peers {
		if err := waitFor(15*time.Second, func() error { return tilesAt(p, threeWithoutThird) }); err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if err := waitFor(5*time.Second, func() error { return hears(p, role, others(role)...) }); err != nil {
			t.Errorf("%v", err)
		}
	}
	for role, fps := range measureFPS(peers, 3*time.Second) {
		if fps < minFPS() {
			t.Errorf("%s receives %.1f fps beside a garbage sender, want at least %.1f", role, fps, minFPS())
		}
	}
	for role, p := range peers {
		if err := tilesAt(p, threeWithoutThird); err != nil {
			t.Errorf("%s: %v", role, err)
		}
	}
	if err := waitFor(5*time.Second, func() error {
		if n := bad.Stats().PLIsReceived; n == 0 {
			return errorf("the garbage sender got no PLI")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// A party that vanishes keeps its seat for the rejoin grace, shown to the
// others as reconnecting, and is then removed, the other two carrying on:
// whether its media stops while its socket stays open (ICE lost) or its
// socket drops.
func TestVanishedPartyIsRemoved(t *testing.T) {
	const grace = 2 * time.Second
	for _, tt := range []struct {
		name   string
		vanish func(*peer.Peer)
		within time.Duration // to be removed: grace, after the loss is seen
	}{
		{"media lost", (*peer.Peer).Drop, grace + 3*time.Second},
		{"socket dropped", func(p *peer.Peer) { p.Close() }, grace + 2*time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, rejoinGrace(grace), func(p *signaling.ServerParams) { p.Metrics = metrics.New() })
			_, peers := ts.threeParty(t)
			for role, p := range peers {
				if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
					t.Fatalf("%s: %v", role, err)
				}
			}
			tt.vanish(peers["third"])
			gone := time.Now()
			for _, role := range []string{"customer", "agent"} {
				if err := waitFor(grace, func() error { return showsReconnecting(peers[role], "third") }); err != nil {
					t.Fatalf("%s, %v after the third vanished: %v", role, time.Since(gone).Round(time.Millisecond), err)
				}
			}
			if n := scrape(t, ts)["threeway_parties_reconnecting"]; n != 1 {
				t.Errorf("threeway_parties_reconnecting = %v while the third's seat waits, want 1", n)
			}
			for _, role := range []string{"customer", "agent"} {
				p := peers[role]
				if err := waitFor(tt.within, func() error { return equalTiles(p, "customer", "agent") }); err != nil {
					t.Fatalf("%s, %v after the third vanished: %v", role, time.Since(gone).Round(time.Millisecond), err)
				}
			}
			if took := time.Since(gone); took < grace {
				t.Errorf("the third was removed %v after it vanished, before its %v grace", took, grace)
			}
			t.Logf("removed after %v", time.Since(gone).Round(time.Millisecond))
			for _, pair := range [][2]string{{"customer", "agent"}, {"agent", "customer"}} {
				p := peers[pair[0]]
				if err := waitFor(3*time.Second, hearsNow(p, pair[0], pair[1:], "third")); err != nil {
					t.Errorf("after the third vanished: %v", err)
				}
			}
			if n := scrape(t, ts)["threeway_parties_reconnecting"]; n != 0 {
				t.Errorf("threeway_parties_reconnecting = %v after the third's seat was given up, want 0", n)
			}
		})
	}
}
