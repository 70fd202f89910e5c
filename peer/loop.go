package peer

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/threeway-mcu/threeway/codec"
)

// A sender does not encode as it goes: each pattern (a role's camera or the
// screen share) is encoded once per process into a loop of frames, and
// each tone into a loop of Opus packets, which every sender of that pattern
// and size replays. That keeps a load generator's CPU on what it measures
// (receiving and checking) instead of on encoding the same pictures again
// for every synthetic party.
const (
	// loopSeconds is the length of a video loop. A frame number comes back
	// once per loop, so latencies are measurable up to well over half of
	// it; 20 s is many times any latency worth measuring.
	loopSeconds = 20
	// keySeconds is the spacing of key frames in a video loop. A key frame
	// request is answered by jumping to the next one, so the interval
	// bounds how many frame numbers a request skips, not how long it
	// waits; and the loop keeps key frames rare, as a camera's are.
	keySeconds = 5
	// audioLoopFrames is one second of 20 ms Opus frames. Every tone is a
	// whole number of hertz, so one second holds whole periods and the
	// loop's end joins its start without a step.
	audioLoopFrames = codec.SampleRate / codec.FrameSamples
	// audioWarmLoops is how many seconds of tone go into the encoder before
	// the kept loop, so that the encoder's state where the kept loop starts
	// is the state its end leaves: the loop replays seamlessly.
	audioWarmLoops = 2
)

// loopKey is everything that shapes a video loop.
type loopKey struct {
	pattern            string // a role, or ScreenKey
	width, height, fps int
	bitrateKbps        int
}

// videoLoop is a pattern encoded once: frame i shows frame number i. Only
// the positions in keys are key frames, 0 among them, so the loop can be
// entered there and wraps cleanly. Immutable once built.
type videoLoop struct {
	frames [][]byte
	keys   []int // ascending
}

// nextKey returns the first key frame position at or after pos, wrapping
// to the loop's start.
func (v *videoLoop) nextKey(pos int) int {
	for _, k := range v.keys {
		if k >= pos {
			return k
		}
	}
	return 0
}

// audioLoop is a tone's second, or the speech schedule, as Opus packets
// (nil: DTX sends nothing) and each frame's audio level (RFC 6464).
// Immutable once built.
type audioLoop struct {
	packets [][]byte
	levels  []byte
}

// speechLoopKey and speechLoopNoDTX key the speech loops, with DTX and
// without, among the tones' loops: no tone is 0 Hz or less.
const (
	speechLoopKey   = 0
	speechLoopNoDTX = -1
)

// loopCache holds the loops built in this process so that every peer
// shares them. It is a package variable, not configuration: it holds
// immutable encoded media, a few hundred KB per pattern and size, built
// by the first sender that needs it; no goroutine outlives the build.
var loops = &loopCache{video: map[loopKey]*cacheEntry[*videoLoop]{}, audio: map[float64]*cacheEntry[*audioLoop]{}}

type loopCache struct {
	mu    sync.Mutex
	video map[loopKey]*cacheEntry[*videoLoop]
	audio map[float64]*cacheEntry[*audioLoop]
}

// cacheEntry is built once; a failed or cancelled build is retried by the
// next caller. lock (one slot) guards value and done: a lock a waiter can
// give up on, since a build may take a while.
type cacheEntry[T any] struct {
	lock  chan struct{}
	value T
	done  bool
}

// getOrBuild returns m[k], building it on first use. Concurrent callers
// for one key wait for the one build; other keys build in parallel. A
// caller gives up waiting when ctx ends, and build is expected to.
func getOrBuild[K comparable, T any](ctx context.Context, mu *sync.Mutex, m map[K]*cacheEntry[T], k K,
	build func(context.Context) (T, error)) (T, error) {
	mu.Lock()
	e := m[k]
	if e == nil {
		e = &cacheEntry[T]{lock: make(chan struct{}, 1)}
		m[k] = e
	}
	mu.Unlock()
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	defer func() { <-e.lock }()
	if !e.done {
		v, err := build(ctx)
		if err != nil {
			return v, err
		}
		e.value, e.done = v, true
	}
	return e.value, nil
}

// videoLoopFor returns the loop of k, encoding it the first time; the
// encode stops when ctx ends.
func (c *loopCache) videoLoopFor(ctx context.Context, k loopKey) (*videoLoop, error) {
	return getOrBuild(ctx, &c.mu, c.video, k, func(ctx context.Context) (*videoLoop, error) {
		return encodeVideoLoop(ctx, k)
	})
}

// audioLoopFor returns the loop of a tone, encoding it the first time.
func (c *loopCache) audioLoopFor(ctx context.Context, hz float64) (*audioLoop, error) {
	return getOrBuild(ctx, &c.mu, c.audio, hz, func(context.Context) (*audioLoop, error) {
		if hz <= speechLoopKey {
			return encodeSpeechLoop(hz == speechLoopKey)
		}
		return encodeAudioLoop(hz)
	})
}

// encodeVideoLoop encodes loopSeconds of k's pattern with frame numbers
// 0, 1, ..., forcing a key frame every keySeconds, unless ctx ends first.
func encodeVideoLoop(ctx context.Context, k loopKey) (*videoLoop, error) {
	n, every := loopSeconds*k.fps, keySeconds*k.fps
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{
		Width: k.width, Height: k.height, FPS: k.fps, BitrateKbps: k.bitrateKbps, CPUUsed: -8,
		KeyframeInterval: n, // no key frames but the forced ones
	})
	if err != nil {
		return nil, fmt.Errorf("peer: video encoder: %w", err)
	}
	defer enc.Close()
	loop := &videoLoop{frames: make([][]byte, n)}
	buf := make([]byte, 0, maxVP8Frame)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("peer: encode %s loop: %w", k.pattern, err)
		}
		DrawPattern(enc.Input(), k.pattern, uint16(i))
		out, key, err := enc.Encode(buf, i%every == 0)
		if err != nil {
			return nil, fmt.Errorf("peer: encode %s loop frame %d: %w", k.pattern, i, err)
		}
		if len(out) == 0 {
			// Frame dropping is off; a drop would leave a hole in the loop.
			return nil, fmt.Errorf("peer: encode %s loop frame %d: the encoder dropped it", k.pattern, i)
		}
		loop.frames[i] = bytes.Clone(out)
		if key {
			loop.keys = append(loop.keys, i)
		}
		buf = out[:0]
	}
	if len(loop.keys) == 0 || loop.keys[0] != 0 {
		return nil, fmt.Errorf("peer: %s loop does not start with a key frame", k.pattern)
	}
	return loop, nil
}

// newMicEncoder is the Opus encoder of a peer's microphone: in-band FEC,
// as a browser's sender has once its receiver reports loss, and DTX if
// dtx.
func newMicEncoder(dtx bool) (*codec.OpusEncoder, error) {
	enc, err := codec.NewOpusEncoder(opusBitrate)
	if err != nil {
		return nil, fmt.Errorf("peer: audio encoder: %w", err)
	}
	if err := enc.SetInbandFEC(opusFECLossPercent); err != nil {
		enc.Close()
		return nil, fmt.Errorf("peer: audio encoder FEC: %w", err)
	}
	if err := enc.SetDTX(dtx); err != nil {
		enc.Close()
		return nil, fmt.Errorf("peer: audio encoder DTX: %w", err)
	}
	return enc, nil
}

// encodeAudioLoop encodes one second of the tone hz after audioWarmLoops
// seconds of it.
func encodeAudioLoop(hz float64) (*audioLoop, error) {
	enc, err := newMicEncoder(false)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	tone := newToneGen(hz)
	pcm := make([]int16, codec.FrameSamples)
	buf := make([]byte, 0, maxOpusPacket)
	loop := &audioLoop{packets: make([][]byte, audioLoopFrames), levels: make([]byte, audioLoopFrames)}
	for pass := range audioWarmLoops + 1 {
		for i := range audioLoopFrames {
			tone.fill(pcm)
			pkt, err := enc.Encode(pcm, buf)
			if err != nil {
				return nil, fmt.Errorf("peer: encode %v Hz loop: %w", hz, err)
			}
			if pass == audioWarmLoops {
				loop.packets[i], loop.levels[i] = bytes.Clone(pkt), audioLevel(pcm)
			}
		}
	}
	return loop, nil
}

// Prepare encodes, ahead of any join, the video and tone loops that peers
// with cfg's video settings send as each of roles (ScreenKey: a screen
// share), so that the first leg of each does not wait for them and its
// join time is the server's alone. Calling it is optional: a leg builds
// what is missing when it starts.
func Prepare(cfg Config, roles ...string) error {
	cfg.URL = "-" // only the video settings matter here
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, role := range roles {
		if _, err := loops.videoLoopFor(ctx, loopKey{pattern: role, width: cfg.Width, height: cfg.Height,
			fps: cfg.FPS, bitrateKbps: cfg.VideoBitrateKbps}); err != nil {
			return err
		}
		if role == ScreenKey {
			continue // a share has no voice of its own
		}
		if _, err := loops.audioLoopFor(ctx, ToneHz(role)); err != nil {
			return err
		}
	}
	return nil
}
