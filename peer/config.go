package peer

import (
	"fmt"
	"log/slog"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// Defaults for the zero fields of Config.
const (
	DefaultWidth            = 640
	DefaultHeight           = 360
	DefaultFPS              = 15
	DefaultVideoBitrateKbps = 600
)

// Config describes one synthetic party.
type Config struct {
	// URL is the server's signaling WebSocket, e.g. ws://127.0.0.1:8080/ws.
	URL string
	// Call, Role, Name and Token go into the join message as they are, so
	// tests can send invalid ones. An agent console (Connect, SignIn)
	// needs none of them: its role comes from the server's `joined`.
	Call, Role, Name, Token string
	// Width, Height and FPS describe the sent video; 0 means 640x360 at 15.
	Width, Height, FPS int
	// VideoBitrateKbps is the sent video's target; 0 means 600.
	VideoBitrateKbps int
	// Loopback restricts ICE to IPv4 on 127.0.0.1 (and loopback
	// candidates are included), for tests on one machine.
	Loopback bool
	// Network is what the party's network does to its packets, each way
	// (netcond.Parse reads a spec like "loss=5%,delay=20ms"), applied to
	// every media leg from its start: outage windows count from the leg's
	// `joined`. The zero value is a perfect network.
	Network netcond.Conditions
	// Audio is what the microphone sends: AudioTone ("tone", the
	// default), the role's steady tone, or AudioSpeech ("speech"), a
	// spoken sentence in the role's turn of a schedule the parties share
	// (SpeechAt), sent with DTX as a browser does: one speaker at a time,
	// and silence in between.
	Audio string
	// NoAudioDTX sends audio in silence too, and no audio levels, as a
	// client without DTX does, whatever the server's answer asks.
	NoAudioDTX bool
	// GarbageVideo sends random bytes as VP8 payloads instead of encoded
	// frames, to test the server's robustness.
	GarbageVideo bool
	// AutoAccept makes an agent console accept every `help.offer` at
	// once; media then starts on the server's `joined` as after Accept.
	// For load tests.
	AutoAccept bool
	// ViewWidth and ViewHeight, when set, are the size the party says it
	// shows the composed picture at (view.size, sent on each `joined`):
	// the server then composes its picture at a canvas that covers it.
	ViewWidth, ViewHeight int
	// IgnoreSendLimits sends the configured video whatever the server's
	// send.limits ask; by default the camera is scaled down (and slowed)
	// to them, as the page does, from the next key frame.
	IgnoreSendLimits bool
	// Reconnect makes the peer come back on its own, as the browser page
	// does: when its WebSocket drops it dials again and takes its seat
	// back with its token (and signs its console in again); when its
	// media path fails, or stays disconnected, it restarts ICE. Off, a
	// dropped socket ends the peer's life as a party.
	Reconnect bool
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.URL == "" {
		return c, fmt.Errorf("%w: empty URL", ErrConfig)
	}
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = DefaultWidth, DefaultHeight
	}
	if c.FPS == 0 {
		c.FPS = DefaultFPS
	}
	if c.VideoBitrateKbps == 0 {
		c.VideoBitrateKbps = DefaultVideoBitrateKbps
	}
	if c.Audio == "" {
		c.Audio = AudioTone
	}
	if c.Audio != AudioTone && c.Audio != AudioSpeech {
		return c, fmt.Errorf("%w: audio %q is neither %q nor %q", ErrConfig, c.Audio, AudioTone, AudioSpeech)
	}
	switch {
	case c.Width < minReadWidth || c.Height < minReadHeight || c.Width%2 != 0 || c.Height%2 != 0:
		return c, fmt.Errorf("%w: video size %dx%d must be even and at least %dx%d",
			ErrConfig, c.Width, c.Height, minReadWidth, minReadHeight)
	case c.FPS < 1 || c.FPS > 120:
		return c, fmt.Errorf("%w: fps %d out of range 1..120", ErrConfig, c.FPS)
	case c.VideoBitrateKbps < 0:
		return c, fmt.Errorf("%w: negative video bitrate %d", ErrConfig, c.VideoBitrateKbps)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
