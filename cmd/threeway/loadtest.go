package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/threeway-mcu/threeway/loadtest"
)

// errSLOMissed makes the command exit non-zero after its report.
var errSLOMissed = errors.New("SLO missed")

func loadtestCommand() *cobra.Command {
	var (
		p          loadtest.Params
		ramp       string
		layout     string
		jsonPath   string
		reportPath string
		iceLo      bool
		sender     string
		sendLimits bool
		viewerSize string
		audio      string
		audioDTX   bool
		impair     []string
	)
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Hold three-party calls of synthetic parties against a server and measure them",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if p.Ramp, err = loadtest.ParseRamp(ramp); err != nil {
				return err
			}
			if p.Impair, err = loadtest.ParseImpair(impair); err != nil {
				return err
			}
			// The generator idles between packets as a server does, and
			// pays the same sysmon wake-ups.
			keepSysmonAwake(cmd.ErrOrStderr())
			if p.Sender, err = loadtest.ParseSender(sender); err != nil {
				return err
			}
			p.IgnoreSendLimits = !sendLimits
			p.Audio, p.NoAudioDTX = audio, !audioDTX
			if viewerSize != "" {
				if p.ViewSize, err = loadtest.ParseSender(viewerSize + "@1"); err != nil {
					return fmt.Errorf("--viewer-size %q: want WIDTHxHEIGHT, e.g. 640x360", viewerSize)
				}
			}
			p.Layout = loadtest.Layout(layout)
			p.Loopback = iceLo
			p.Progress = cmd.ErrOrStderr()
			res, err := loadtest.Run(cmd.Context(), p)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := loadtest.WriteSummary(out, res); err != nil {
				return err
			}
			if jsonPath != "" {
				if err := loadtest.WriteJSON(jsonPath, res); err != nil {
					return err
				}
			}
			if reportPath != "" {
				if err := loadtest.WriteHTML(reportPath, res); err != nil {
					return err
				}
			}
			if !res.SLOPass {
				return fmt.Errorf("%w: %s", errSLOMissed, strings.Join(res.SLOMissed, "; "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.Server, "server", "http://127.0.0.1:8080", "the server's base URL")
	f.StringVar(&p.APIKey, "api-key", os.Getenv("THREEWAY_API_KEY"), "the server's API key")
	f.IntVar(&p.Calls, "calls", 2, "three-party calls to hold")
	f.StringVar(&ramp, "ramp", "2/s", "calls started per second")
	f.DurationVar(&p.Duration, "duration", 30*time.Second, "how long to hold all calls")
	f.StringVar(&layout, "layout", "equal", "equal, maximize or mixed (each viewer its own: three encodes per call)")
	f.StringVar(&p.Queue, "queue", "", "skill queue the helpers come from (default: the largest)")
	f.IntVar(&p.FPS, "fps", 15, "the server's output frame rate")
	f.Float64Var(&p.SLOFPS, "slo-fps", 0.9, "every stream gets at least this share of --fps (0: no objective)")
	f.DurationVar(&p.SLOLatencyP99, "slo-latency-p99", 250*time.Millisecond, "latency through the mixer, p99 (0: no objective)")
	f.StringVar(&jsonPath, "json", "", "write the result as JSON to this file")
	f.StringVar(&reportPath, "report", "", "write an HTML report with charts to this file")
	f.BoolVar(&iceLo, "ice-loopback", true, "restrict the synthetic parties' media to loopback")
	f.StringVar(&sender, "sender", "", "the synthetic parties' camera, WIDTHxHEIGHT@FPS, e.g. 1280x720@30 (default 640x360@15)")
	f.StringVar(&viewerSize, "viewer-size", "", "the size every party says it shows the picture at (view.size), e.g. 640x360 (default: none, the full canvas)")
	f.StringVar(&audio, "audio", "tone", "what the synthetic parties' microphones send: tone (each role its own, always on) or speech (a sentence each in turn, with pauses; audio checks then follow the turns)")
	f.BoolVar(&audioDTX, "audio-dtx", true, "the parties send Opus DTX and audio levels when the server asks, as browsers do; false: they send silence as sound")
	f.BoolVar(&sendLimits, "send-limits", true, "the parties scale their camera down to the server's send.limits, as browsers do; false: they send it as configured")
	f.StringArrayVar(&impair, "impair", nil, "ROLE:SPEC: the network of a role's parties (customer, agent, third or all), e.g. "+
		"customer:loss=5%,delay=20ms,jitter=30ms; repeatable, a later flag refines an earlier one (see README)")
	return cmd
}
