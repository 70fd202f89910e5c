package signaling_test

import (
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// A third party whose camera turns bad mid-call (random bytes, some
// behind a valid key frame header so that the server's decoder meets them;
// a key frame that never ends; 4K key frames; frames under a codec the
// answer did not accept) is asked for key frames, and its tile keeps its
// last good frame, held, never corruption; the customer and agent keep
// their frame rate and sound; and once its camera behaves again its tile
// moves again: its track survived.
func TestFaultyCameraReachesNobodyElse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault peer.CameraFault
	}{
		{"garbage", peer.FaultGarbage},
		{"endless key frame", peer.FaultEndlessFrame},
		{"4K key frames", peer.FaultOversized},
		{"unoffered codec", peer.FaultUnofferedCodec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New()
			ts := startServer(t, func(p *signaling.ServerParams) { p.Metrics = m })
			_, peers := ts.threeParty(t)
			bad := peers["third"]
			watchers := map[string]*peer.Peer{"customer": peers["customer"], "agent": peers["agent"]}
			for role, p := range watchers {
				if err := waitFor(15*time.Second, func() error { return equalTiles(p, peer.Roles()...) }); err != nil {
					t.Fatalf("%s: %v", role, err)
				}
			}
			plis := bad.Stats().PLIsReceived
			discarded := scrape(t, ts)[`threeway_rtp_packets_discarded_total`]
			if err := bad.SetCameraFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			<-time.After(time.Second)
			held := map[string]int{}
			for role, p := range watchers {
				held[role] = p.Stats().Tiles["third"].FrameNumber
			}
			for role, fps := range measureFPS(watchers, 3*time.Second) {
				if fps < minFPS() {
					t.Errorf("%s receives %.1f fps beside the faulty camera, want at least %.1f", role, fps, minFPS())
				}
			}
			for role, p := range watchers {
				if err := equalTiles(p, peer.Roles()...); err != nil {
					t.Errorf("%s, after 3 s of the fault: %v", role, err)
				}
				if n := p.Stats().Tiles["third"].FrameNumber; n != held[role] || n < 0 {
					t.Errorf("%s sees the third's tile at frame %d, then %d: want the last good frame, held", role, held[role], n)
				}
				if err := waitFor(3*time.Second, hearsNow(p, role, others(role))); err != nil {
					t.Errorf("beside the faulty camera: %v", err)
				}
			}
			if tc.fault == peer.FaultUnofferedCodec {
				// Its packets are dropped unread, counted, before any decoder.
				if n := scrape(t, ts)[`threeway_rtp_packets_discarded_total`] - discarded; n < 30 {
					t.Errorf("%v packets discarded in 4 s of an unoffered codec, want every one (60 or more)", n)
				}
			} else if err := waitFor(10*time.Second, func() error {
				// An endless frame is given up at 512 packets: seconds.
				if got := bad.Stats().PLIsReceived - plis; got < 1 {
					return errorf("the faulty camera got no key frame request")
				}
				return nil
			}); err != nil {
				t.Error(err)
			}

			if err := bad.SetCameraFault(peer.NoFault); err != nil {
				t.Fatal(err)
			}
			for role, p := range watchers {
				if err := waitFor(3*time.Second, func() error { return movesPast(p, "third", held[role]) }); err != nil {
					t.Errorf("%s, once the camera behaves again: %v", role, err)
				}
			}
		})
	}
}
