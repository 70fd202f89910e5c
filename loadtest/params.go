package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/peer/netcond"
)

// Layout is how the synthetic viewers arrange their pictures.
type Layout string

// Layouts.
const (
	// Equal: everyone sees equal tiles (one shared view per call).
	Equal Layout = "equal"
	// Maximize: everyone maximizes the customer (one shared view per call).
	Maximize Layout = "maximize"
	// Mixed: each viewer picks its own (three views per call).
	Mixed Layout = "mixed"
)

// Params configures a run.
type Params struct {
	// Server is the server's base URL, http://127.0.0.1:8080, or a
	// comma-separated list of a cluster's nodes: the run spreads its API
	// calls and joins over them (withDefaults fills Servers).
	Server   string
	Servers  []string
	APIKey   string        // bearer key of /api
	Calls    int           // three-party calls to hold
	Ramp     float64       // calls started per second
	Duration time.Duration // how long all calls are held once up
	Layout   Layout
	Queue    string // skill queue helpers come from; "" picks the largest
	FPS      int    // the server's output frame rate; 0: 15

	SLOFPS        float64       // each stream's fps at least this share of FPS; 0: no SLO
	SLOLatencyP99 time.Duration // latency through the mixer, p99; 0: no SLO

	// Impair holds each role's network conditions, applied to that
	// role's peers in every call (ParseImpair reads --impair); a role
	// absent has a perfect network.
	Impair map[string]netcond.Conditions

	// Sender is every synthetic party's camera: its size and rate (zero:
	// the peer's default, 640x360 at 15). ParseSender reads --sender.
	Sender Sender
	// ViewSize is the size every party says it shows the picture at
	// (view.size); zero: none said, the server's full canvas.
	ViewSize Sender
	// IgnoreSendLimits has the parties send their camera as configured,
	// whatever the server's send.limits ask (--send-limits=false).
	IgnoreSendLimits bool
	// Audio is what every party's microphone sends: peer.AudioTone (the
	// default) or peer.AudioSpeech, people talking in turn with pauses.
	// NoAudioDTX has them send silence too, with no audio levels, as
	// clients without DTX do (--audio-dtx=false).
	Audio      string
	NoAudioDTX bool

	Loopback bool      // restrict ICE to loopback (tests, local runs)
	Progress io.Writer // a live progress bar (in place on a terminal, else a line a second); nil: none
	Logger   *slog.Logger
}

// ErrParams is a run that cannot start as configured.
var ErrParams = errors.New("loadtest")

func (p Params) withDefaults() (Params, error) {
	if p.FPS == 0 {
		p.FPS = 15
	}
	if p.Audio == "" {
		p.Audio = peer.AudioTone
	}
	if p.Audio != peer.AudioTone && p.Audio != peer.AudioSpeech {
		return p, fmt.Errorf("%w: --audio %q: want %s or %s", ErrParams, p.Audio, peer.AudioTone, peer.AudioSpeech)
	}
	if p.Ramp == 0 {
		p.Ramp = 2
	}
	if p.Layout == "" {
		p.Layout = Equal
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case p.Server == "":
		return p, fmt.Errorf("%w: --server is required", ErrParams)
	case p.Calls < 1:
		return p, fmt.Errorf("%w: --calls must be at least 1", ErrParams)
	case p.Ramp <= 0:
		return p, fmt.Errorf("%w: --ramp must be positive", ErrParams)
	case p.Duration <= 0:
		return p, fmt.Errorf("%w: --duration must be positive", ErrParams)
	case p.Layout != Equal && p.Layout != Maximize && p.Layout != Mixed:
		return p, fmt.Errorf("%w: --layout must be equal, maximize or mixed", ErrParams)
	}
	for role := range p.Impair {
		if !slices.Contains(roles, role) {
			return p, fmt.Errorf("%w: impairment for %q, which is no role (%s)", ErrParams, role, strings.Join(roles, ", "))
		}
	}
	p.Servers = nil
	for _, s := range strings.Split(p.Server, ",") {
		if s = strings.TrimSuffix(strings.TrimSpace(s), "/"); s != "" {
			p.Servers = append(p.Servers, s)
		}
	}
	if len(p.Servers) == 0 {
		return p, fmt.Errorf("%w: --server names no URL", ErrParams)
	}
	p.Server = p.Servers[0]
	return p, nil
}

// ParseRamp reads "2/s" (or "2") as calls per second.
func ParseRamp(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%w: ramp %q: want calls per second, e.g. 2/s", ErrParams, s)
	}
	return v, nil
}

// Sender is a camera's size and frame rate.
type Sender struct{ Width, Height, FPS int }

// ParseSender reads WIDTHxHEIGHT@FPS, e.g. 1280x720@30; "" is the peer's
// default camera.
func ParseSender(s string) (Sender, error) {
	var c Sender
	if s == "" {
		return c, nil
	}
	if _, err := fmt.Sscanf(s, "%dx%d@%d", &c.Width, &c.Height, &c.FPS); err != nil ||
		c.Width < 64 || c.Height < 36 || c.Width%2 != 0 || c.Height%2 != 0 || c.FPS < 1 || c.FPS > 60 {
		return Sender{}, fmt.Errorf("%w: --sender %q: want WIDTHxHEIGHT@FPS, even sizes, 1-60 fps, e.g. 1280x720@30", ErrParams, s)
	}
	return c, nil
}
