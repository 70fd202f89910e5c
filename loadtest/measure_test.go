package loadtest

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
