package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/components"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// WriteSummary prints the run's summary table and any missed objective.
func WriteSummary(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	s := r.Summary
	rows := []struct {
		name  string
		value string
	}{
		{"calls up", fmt.Sprintf("%d of %d (refused %v, failed %d)", r.Up, r.Calls, r.Refused, len(r.Failed))},
		{"received fps p50 / min", fmt.Sprintf("%.1f / %.1f", s.FPSP50, s.FPSMin)},
		{"latency through the mixer p50 / p99", fmt.Sprintf("%.0f / %.0f ms", s.LatencyMSP50, s.LatencyMSP99)},
		{"latency target: frame interval + encode p99", fmt.Sprintf("%.0f ms = %.1f + %.1f ms", s.LatencyTargetMS, s.FrameIntervalMS, s.EncodeMSP99)},
		{"join to first frame p99", fmt.Sprintf("%.0f ms", s.JoinMSP99)},
		{"help request to helper joined p99", fmt.Sprintf("%.0f ms", s.HelpMSP99)},
		{"freezes (over 600 ms) / frame gaps (over 3 frames)", fmt.Sprintf("%d / %d", s.Freezes, s.FrameGaps)},
		{"packets lost", fmt.Sprintf("%d (%.2f%%)", s.PacketsLost, 100*s.LossRatio)},
		{"streams with all tiles / right audio", fmt.Sprintf("%.0f%% / %.0f%%", 100*s.TilesOKRatio, 100*s.AudioOKRatio)},
		{"server CPU per call-second", fmt.Sprintf("%.3f s", s.ServerCPUSPerCallS)},
		{"calls and CPU per call-second by node", perNodeText(s.PerNode)},
		{"server encode time per call-second", fmt.Sprintf("%.3f s", s.EncodeSPerCallS)},
		{"camera uplink per party, p50", fmt.Sprintf("%.0f kbit/s", s.UplinkKbpsP50)},
		{"server memory", fmt.Sprintf("%.0f MB (%.0f MB a call more than before the run)", s.ServerRSSMB, s.ServerRSSMBPerCall)},
		{"generator CPU / server CPU", fmt.Sprintf("%.2f s / %.2f s = %.2f", s.GeneratorCPUS, s.ServerCPUS, s.GeneratorCPURatio)},
	}
	fmt.Fprintln(tw, "\nmeasure\tvalue")
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row.name, row.value)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writePerRole(w, r.PerRole); err != nil {
		return err
	}
	for _, f := range r.Failed {
		fmt.Fprintln(w, "failed:", f)
	}
	if warn := generatorWarning(s); warn != "" {
		fmt.Fprintln(w, "warning:", warn)
	}
	if r.SLOPass {
		fmt.Fprintln(w, "SLOs: all met")
	}
	for _, miss := range r.SLOMissed {
		fmt.Fprintln(w, "SLO missed:", miss)
	}
	return nil
}

// generatorWarning says why the server's figures may not be the server's
// alone: the generator spent over half the server's CPU (issue 4's
// bound), or the server's CPU is unknown. It is a warning, not a missed
// objective, since the objectives are the server's.
func generatorWarning(s Summary) string {
	switch {
	case s.ServerCPUS <= 0:
		return "no server CPU from /metrics: the generator's share of it is unknown"
	case s.GeneratorCPURatio >= generatorCPUMax:
		return fmt.Sprintf("generator_cpu_ratio %.2f: the generator used over %.0f%% of the server's CPU, so its own load may show in the figures "+
			"(or the server runs in this process, and the two are the same figure); run it on another machine or with fewer calls",
			s.GeneratorCPURatio, 100*generatorCPUMax)
	}
	return ""
}

// WriteJSON writes the result to path.
func WriteJSON(path string, r *Result) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// writePerRole prints the per-role table.
func writePerRole(w io.Writer, per map[string]RoleSummary) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\n"+strings.Join(perRoleColumns, "\t"))
	for _, row := range perRoleRows(per) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// perRoleColumns head the per-role table.
var perRoleColumns = []string{"role", "network", "fps p50", "tile fps p50", "freezes", "latency p99",
	"audio concealed", "NACKs sent / received", "PLIs sent / received", "resent"}

// perRoleRows are the per-role table's rows, in role order.
func perRoleRows(per map[string]RoleSummary) [][]string {
	var rows [][]string
	for _, role := range roles {
		p, ok := per[role]
		if !ok {
			continue
		}
		network := p.Network
		if network == "" {
			network = "-"
		}
		rows = append(rows, []string{role, network, fmt.Sprintf("%.1f", p.FPSP50), fmt.Sprintf("%.1f", p.TileFPSP50),
			fmt.Sprint(p.Freezes), fmt.Sprintf("%.0f ms", p.LatencyMSP99), fmt.Sprintf("%.1f%%", 100*p.AudioConcealedRatio),
			fmt.Sprintf("%d / %d", p.NACKsSent, p.NACKsReceived), fmt.Sprintf("%d / %d", p.PLIsSent, p.PLIsReceived),
			fmt.Sprint(p.Retransmissions)})
	}
	return rows
}

// perRoleHTML is the per-role table as HTML.
func perRoleHTML(per map[string]RoleSummary) string {
	var b strings.Builder
	b.WriteString(`<h3 style="font-family:sans-serif">Per role</h3><table style="font-family:sans-serif;border-collapse:collapse" border="1" cellpadding="4"><tr>`)
	for _, c := range perRoleColumns {
		b.WriteString("<th>" + html.EscapeString(c) + "</th>")
	}
	b.WriteString("</tr>")
	for _, row := range perRoleRows(per) {
		b.WriteString("<tr>")
		for _, cell := range row {
			b.WriteString("<td>" + html.EscapeString(cell) + "</td>")
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return b.String()
}

// WriteHTML writes a report with charts over time (received fps, latency
// through the mixer, server CPU and calls up) and the per-role table.
func WriteHTML(path string, r *Result) error {
	xs := make([]string, len(r.Series))
	for i, p := range r.Series {
		xs[i] = fmt.Sprintf("%.0f", p.T)
	}
	page := components.NewPage()
	page.PageTitle = "threeway load test"
	page.AddCharts(
		lineChart("Received fps (mean per stream)", xs, r.Series, func(p Point) float64 { return p.FPS }),
		lineChart("Latency through the mixer, p50 (ms)", xs, r.Series, func(p Point) float64 { return p.LatencyMSP50 }),
		lineChart("Server CPU (cores)", xs, r.Series, func(p Point) float64 { return p.ServerCores }),
		lineChart("Calls up", xs, r.Series, func(p Point) float64 { return float64(p.Calls) }),
	)
	var buf bytes.Buffer
	if err := page.Render(&buf); err != nil {
		return err
	}
	doc := strings.Replace(buf.String(), "</body>", perRoleHTML(r.PerRole)+"\n</body>", 1)
	return os.WriteFile(path, []byte(doc), 0o644)
}

func lineChart(title string, xs []string, series []Point, value func(Point) float64) *charts.Line {
	line := charts.NewLine()
	line.SetGlobalOptions(
		charts.WithTitleOpts(opts.Title{Title: title}),
		charts.WithXAxisOpts(opts.XAxis{Name: "s"}),
	)
	data := make([]opts.LineData, len(series))
	for i, p := range series {
		data[i] = opts.LineData{Value: value(p)}
	}
	line.SetXAxis(xs).AddSeries(title, data)
	return line
}

// perNodeText is a run's per-node figures on one line ("-" for one
// server).
func perNodeText(nodes map[string]NodeFigures) string {
	if len(nodes) == 0 {
		return "-"
	}
	ids := make([]string, 0, len(nodes))
	for id := range nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%s %d calls %.3f s", id, nodes[id].Calls, nodes[id].ServerCPUSPerCallS))
	}
	return strings.Join(parts, ", ")
}
