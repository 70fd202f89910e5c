package loadtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/loadtest"
)

// 5% random loss with 30 ms of jitter on the customer's path, both ways:
// the customer's own tile at the others, and the picture it receives,
// keep at least 80% of the frame rate with at most one freeze a minute;
// the agent and the third are untouched (95%, no freeze); and the audio
// the customer receives stays continuous, under 6% of it concealed, as
// Opus's in-band FEC rebuilds most of what is lost.
func TestLossAndJitterOnOneParty(t *testing.T) {
	const (
		hold = 20 * time.Second
		fps  = 15 // the server's and the parties' default
	)
	url := server(t, 0)
	impair, err := loadtest.ParseImpair([]string{"customer:loss=5%,jitter=30ms"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hold+60*time.Second)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Params{
		Server: url, APIKey: apiKey, Calls: 1, Ramp: 4, Duration: hold,
		Layout: loadtest.Equal, Loopback: true, Impair: impair,
	})
	if err != nil {
		t.Fatal(err)
	}
	for role, p := range res.PerRole {
		t.Logf("%s: %+v", role, p)
	}
	c := res.PerRole["customer"]
	if c.FPSP50 < 0.8*fps || c.TileFPSP50 < 0.8*fps || c.Freezes > 1 {
		t.Errorf("the customer on a lossy path receives %.1f fps, its tile moves at %.1f fps, %d freezes in %v; "+
			"want at least %.0f fps each and at most one freeze a minute", c.FPSP50, c.TileFPSP50, c.Freezes, hold, 0.8*fps)
	}
	if c.AudioConcealedRatio >= 0.06 {
		t.Errorf("the customer conceals %.1f%% of the audio it receives, want under 6%%", 100*c.AudioConcealedRatio)
	}
	for _, role := range []string{"agent", "third"} {
		p := res.PerRole[role]
		if p.FPSP50 < 0.95*fps || p.TileFPSP50 < 0.95*fps || p.Freezes != 0 {
			t.Errorf("the %s on a clean path receives %.1f fps, its tile moves at %.1f fps, %d freezes; "+
				"want at least %.2f fps each and none", role, p.FPSP50, p.TileFPSP50, p.Freezes, 0.95*fps)
		}
	}
}
