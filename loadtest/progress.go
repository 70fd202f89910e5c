package loadtest

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// barCells is the width of the progress bar.
const barCells = 20

// progress draws the live status once a second: a bar of the calls up and
// the last second's figures, e.g.
//
//	[##########..........] 10/20 calls up, 30/30 streams healthy, 14.8 fps, p50 38 ms, server 0.84 cores
//
// On a terminal the line is redrawn in place; otherwise (a file, a pipe,
// CI logs) each update is a line of its own.
type progress struct {
	w       io.Writer // nil: no progress
	inPlace bool
	width   int // length of the last line drawn in place
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, inPlace: isTerminal(w)}
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// draw shows pt with want calls wanted and streams followed.
func (p *progress) draw(pt Point, want, streams int) {
	if p.w == nil {
		return
	}
	line := progressLine(pt, want, streams)
	if !p.inPlace {
		fmt.Fprintln(p.w, line)
		return
	}
	// Pad over what is left of a longer previous line.
	pad := max(0, p.width-len(line))
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

// done ends a line drawn in place, so what follows starts on its own.
func (p *progress) done() {
	if p.w != nil && p.inPlace && p.width > 0 {
		fmt.Fprintln(p.w)
		p.width = 0
	}
}

// progressLine is one status line.
func progressLine(pt Point, want, streams int) string {
	return fmt.Sprintf("%s %d/%d calls up, %d/%d streams healthy, %.1f fps, p50 %.0f ms, server %.2f cores",
		bar(pt.Calls, want), pt.Calls, want, pt.Healthy, streams, pt.FPS, pt.LatencyMSP50, pt.ServerCores)
}

// bar is [####......] filled to n of total.
func bar(n, total int) string {
	filled := 0
	if total > 0 {
		filled = min(barCells, (n*barCells+total/2)/total)
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", barCells-filled) + "]"
}
