package loadtest

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

// Server CPU per call-second covers only the window in which every call
// was up: the ramp before it, with fewer calls, is not counted as if all
// had been up.
func TestServerFiguresCoverTheHold(t *testing.T) {
	t0 := time.Now()
	hold := processSample{At: t0.Add(10 * time.Second), CPU: 4, RSS: 100 << 20, OK: true}
	end := processSample{At: t0.Add(20 * time.Second), CPU: 10, RSS: 300 << 20, OK: true}
	var sum Summary
	serverFigures(&sum, hold, end, 2)
	if sum.ServerCPUS != 6 || sum.ServerCPUSPerCallS != 0.3 || sum.ServerRSSMB != 300 {
		t.Errorf("CPU %v s, %v s per call-second, %v MB; want 6, 0.3 (6 s over 2 calls x 10 s), 300",
			sum.ServerCPUS, sum.ServerCPUSPerCallS, sum.ServerRSSMB)
	}
	generatorFigures(&sum, 2*time.Second)
	if sum.GeneratorCPUS != 2 || sum.GeneratorCPURatio != 2.0/6 {
		t.Errorf("generator %v s, ratio %v; want 2 and 1/3", sum.GeneratorCPUS, sum.GeneratorCPURatio)
	}
	var none Summary
	serverFigures(&none, processSample{}, end, 2)
	generatorFigures(&none, time.Second)
	if none.ServerCPUS != 0 || none.GeneratorCPURatio != 0 {
		t.Errorf("without a scrape at the hold: %+v", none)
	}
}

// Off a terminal the progress is a line a second; on one, a bar redrawn
// in place, a longer line wiped by the next.
func TestProgressBar(t *testing.T) {
	pt := Point{Calls: 12, Healthy: 36, FPS: 14.8, LatencyMSP50: 38, ServerCores: 0.5}
	want := "[############........] 12/20 calls up, 36/36 streams healthy, 14.8 fps, p50 38 ms, server 0.50 cores"
	if got := progressLine(pt, 20, 36); got != want {
		t.Errorf("line\n%q, want\n%q", got, want)
	}
	if bar(0, 3) != "["+strings.Repeat(".", barCells)+"]" || bar(3, 3) != "["+strings.Repeat("#", barCells)+"]" {
		t.Errorf("empty %s, full %s", bar(0, 3), bar(3, 3))
	}

	var plain bytes.Buffer
	p := newProgress(&plain)
	p.draw(pt, 20, 36)
	p.draw(Point{Calls: 20}, 20, 60)
	p.done()
	lines := strings.Split(plain.String(), "\n")
	if len(lines) != 3 || lines[0] != want || lines[2] != "" || strings.Contains(plain.String(), "\r") {
		t.Errorf("plain output %q", plain.String())
	}

	var term bytes.Buffer
	p = &progress{w: &term, inPlace: true}
	p.draw(pt, 20, 36)
	p.draw(Point{Calls: 1}, 2, 3)
	p.done()
	out := term.String()
	second := progressLine(Point{Calls: 1}, 2, 3)
	if strings.Count(out, "\r") != 2 || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") ||
		!strings.Contains(out, "\r"+second+strings.Repeat(" ", len(want)-len(second))+"\n") {
		t.Errorf("in-place output %q", out)
	}
}

// The latency target is the views' frame interval, from the frames they
// encoded over the hold, plus the p99 of the encodes made over the hold,
// interpolated inside its bucket as Prometheus does; the encodes before
// the hold do not count.
func TestLatencyTargetFromTheHold(t *testing.T) {
	inf := math.Inf(1)
	t0 := time.Now()
	// Before the hold: 1000 slow encodes (all in 16-32 ms).
	hold := processSample{At: t0, OK: true, Frames: 1000, Views: 4,
		Encode: bucketCounts{0.004: 0, 0.008: 0, 0.016: 0, 0.032: 1000, inf: 1000}}
	// Over 10 s, 4 views at 15 fps: 600 encodes, 594 of them under 4 ms
	// and 6 in 4-8 ms, so the 99th percentile (rank 594) is at 4 ms.
	end := processSample{At: t0.Add(10 * time.Second), OK: true, Frames: 1600, Views: 4,
		Encode: bucketCounts{0.004: 594, 0.008: 600, 0.016: 600, 0.032: 1600, inf: 1600}}
	var sum Summary
	latencyTarget(&sum, hold, end, 4*10)
	if math.Abs(sum.FrameIntervalMS-66.667) > 0.01 || math.Abs(sum.EncodeMSP99-4) > 0.01 ||
		math.Abs(sum.LatencyTargetMS-70.667) > 0.01 {
		t.Errorf("frame interval %.3f ms, encode p99 %.3f ms, target %.3f ms; want 66.667, 4, 70.667",
			sum.FrameIntervalMS, sum.EncodeMSP99, sum.LatencyTargetMS)
	}
	// Half-way through a bucket's count is half-way through its range.
	b := bucketCounts{0.004: 50, 0.008: 150, inf: 150}
	if got := b.quantileSince(bucketCounts{}, 2.0/3); math.Abs(got-0.006) > 1e-9 {
		t.Errorf("p67 of 50 under 4 ms and 100 in 4-8 ms: %v s, want 0.006", got)
	}
	if got := (bucketCounts{0.004: 0, inf: 10}).quantileSince(bucketCounts{}, 0.99); got != 0.004 {
		t.Errorf("beyond the last bound: %v, want the bound 0.004", got)
	}
	var none Summary
	latencyTarget(&none, processSample{}, processSample{}, 0)
	if none.LatencyTargetMS != 0 {
		t.Errorf("without frames: target %v, want 0", none.LatencyTargetMS)
	}
}

// A view that splits off during the hold counts for the time it ran, not
// for the whole window: two views at 15 fps for 4 s, and a third for the
// last 2.5 s of them, still make a 66.7 ms interval.
func TestFrameIntervalFollowsAViewSplittingOff(t *testing.T) {
	t0 := time.Now()
	scrape := func(s float64, views float64) processSample {
		return processSample{At: t0.Add(time.Duration(s * float64(time.Second))), OK: true, Views: views}
	}
	m := &meter{held: true, holdProc: scrape(0, 2)}
	// The scrapes see 2 views, then 3 from some moment between them
	// (taken as half-way, 1.5 s in), then 3 to the end.
	samples := []processSample{m.holdProc, scrape(1, 2), scrape(2, 3), scrape(3, 3), scrape(4, 3)}
	for i := 1; i < len(samples); i++ {
		m.addViewTime(samples[i-1], samples[i])
	}
	end := samples[len(samples)-1]
	end.Frames = 15 * (2*4 + 2.5)
	var sum Summary
	latencyTarget(&sum, m.holdProc, end, m.viewSeconds)
	if math.Abs(sum.FrameIntervalMS-66.667) > 0.01 {
		t.Errorf("frame interval %.3f ms over %.2f view-seconds, want 66.667", sum.FrameIntervalMS, m.viewSeconds)
	}
	// A scrape from before the hold counts only from the hold.
	before := &meter{held: true, holdProc: scrape(0, 2)}
	before.addViewTime(scrape(-0.5, 2), scrape(1, 2))
	if before.viewSeconds != 2 {
		t.Errorf("%.2f view-seconds from a scrape before the hold, want 2", before.viewSeconds)
	}
}

// A call is up once each picture shows the layout its viewer chose: all
// three tiles, and the maximized party's far larger than the others'.
func TestShowsLayout(t *testing.T) {
	tile := func(px int) peer.Tile { return peer.Tile{Pixels: px} }
	equal := map[string]peer.Tile{"customer": tile(230400), "agent": tile(230400), "third": tile(230400)}
	agentLarge := map[string]peer.Tile{"customer": tile(57600), "agent": tile(518400), "third": tile(57600)}
	two := map[string]peer.Tile{"customer": tile(230400), "agent": tile(230400)}
	for _, tc := range []struct {
		name  string
		tiles map[string]peer.Tile
		focus string
		want  bool
	}{
		{"equal tiles, equal chosen", equal, "", true},
		{"agent large, agent chosen", agentLarge, "agent", true},
		{"equal tiles, agent chosen (not moved yet)", equal, "agent", false},
		{"agent large, customer chosen", agentLarge, "customer", false},
		{"a tile missing", two, "", false},
	} {
		if got := showsLayout(tc.tiles, tc.focus); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
