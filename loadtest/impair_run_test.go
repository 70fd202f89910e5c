package loadtest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/loadtest"
)

// A customer whose network loses 20% each way shows in per_role: it NACKs
// what its downlink lost, resends what the server NACKed of its uplink,
// and conceals the audio FEC could not rebuild; the agent and the third,
// on clean networks, see its tile move but none of that. The loss is high
// because a pattern's camera sends few packets: at 5% a few seconds may
// lose none of them.
func TestImpairedCustomerShowsInPerRole(t *testing.T) {
	url := server(t, 0)
	impair, err := loadtest.ParseImpair([]string{"customer:loss=20%"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Params{
		Server: url, APIKey: apiKey, Calls: 1, Ramp: 4, Duration: 4 * time.Second,
		Layout: loadtest.Equal, Loopback: true, Impair: impair,
	})
	if err != nil {
		t.Fatal(err)
	}
	for role, p := range res.PerRole {
		t.Logf("%s: %+v", role, p)
	}
	c := res.PerRole["customer"]
	if c.Network != "loss=20%" || c.NACKsSent == 0 || c.NACKsReceived == 0 || c.Retransmissions == 0 ||
		c.AudioConcealedRatio < 0.01 || c.AudioConcealedRatio > 0.3 {
		t.Errorf("the customer losing 20%%: %+v; want NACKs sent and received, packets resent, some audio concealed", c)
	}
	for _, role := range []string{"agent", "third"} {
		p, ok := res.PerRole[role]
		if !ok || p.Network != "" || p.NACKsSent+p.NACKsReceived+p.Retransmissions != 0 || p.AudioConcealedRatio > 0.01 ||
			p.Freezes != 0 || p.FPSP50 < 12 || p.TileFPSP50 < 12 {
			t.Errorf("the %s on a clean network: %+v", role, p)
		}
	}

	// The printed summary and the HTML report show the same table.
	var printed strings.Builder
	if err := loadtest.WriteSummary(&printed, res); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "report.html")
	if err := loadtest.WriteHTML(report, res); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tile fps p50", "customer", "loss=20%"} {
		if !strings.Contains(printed.String(), want) || !strings.Contains(string(page), "<td>"+want+"</td>") &&
			!strings.Contains(string(page), "<th>"+want+"</th>") {
			t.Errorf("the summary or the report lacks %q:\n%s", want, printed.String())
		}
	}

	path := filepath.Join(t.TempDir(), "result.json")
	if err := loadtest.WriteJSON(path, res); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		PerRole map[string]map[string]any `json:"per_role"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"customer", "agent", "third"} {
		for _, key := range []string{"fps_p50", "tile_fps_p50", "freezes", "latency_ms_p99", "audio_concealed_ratio",
			"nacks_sent", "nacks_received", "plis_sent", "plis_received", "retransmissions"} {
			if _, ok := doc.PerRole[role][key].(float64); !ok {
				t.Errorf("per_role.%s lacks %s", role, key)
			}
		}
	}
}
