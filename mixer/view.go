package mixer

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

// keyframeMinInterval rate-limits key frames forced by viewers.
const keyframeMinInterval = 300 * time.Millisecond

// keyframeShare is the most of a view's bitrate forced key frames may
// take: on a narrow path a key frame asked for after every loss would
// fill it and cause the next loss.
const keyframeShare = 0.25

// Canvas colours (BT.601 limited range).
const (
	blackY, blackU, blackV = 16, 128, 128
)

// view is one composed picture: a layout spec rendered on a canvas at the
// output frame rate, encoded once, and written to every subscribed viewer.
type view struct {
	key    string
	m      *Mixer
	enc    *codec.VP8Encoder
	canvas Canvas // the size it composes at
	period time.Duration
	// maxKbps is its canvas's share of the mixer's video bitrate: the
	// most it is sent at.
	maxKbps int

	// Owned by the view goroutine.
	tiles        []viewTile
	out          []byte
	lastKeyframe time.Time
	keyBytes     int // the size of the last key frame
	lastTick     time.Time
	kbps         int       // the encoder's bitrate
	kbpsReported time.Time // when kbps last went to the Observer
	// Encoded since kbpsReported; skipped counts the frames the encoder
	// dropped to keep to a narrow target.
	frameBytes, frames, skipped int

	// target is the bitrate its viewers can take (bitrate.go), which the
	// encoder follows from its next frame.
	target atomic.Int32
	// produced is the bitrate the encoder made in its last second, at the
	// view's frame rate (so ticks it skipped do not count), in kbit/s;
	// under the target when the picture is easy to encode, and taken as
	// the target when the encoder dropped frames to keep to it (it would
	// have made more). 0: not known yet.
	produced atomic.Int32
	// natural is what the encoder made in its last second at the full
	// bitrate: what the picture takes when nobody holds it down.
	natural atomic.Int32

	sinksMu  sync.Mutex
	sinks    []SampleWriter // receiving frames
	pending  []SampleWriter // waiting for a key frame
	sendTo   []SampleWriter // this frame's receivers; owned by the view goroutine
	lastSent time.Time
	forceKey atomic.Bool

	stopOnce      sync.Once
	done, stopped chan struct{}
}

func newView(m *Mixer, key string, spec layout.Spec, c Canvas) (*view, error) {
	p := m.params
	kbps := c.bitrateKbps(p)
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{
		Width: c.Width, Height: c.Height, FPS: p.FPS, BitrateKbps: kbps,
	})
	if err != nil {
		return nil, fmt.Errorf("view %s: %w", key, err)
	}
	v := &view{
		key:     key,
		m:       m,
		enc:     enc,
		canvas:  c,
		period:  time.Second / time.Duration(p.FPS),
		kbps:    kbps,
		maxKbps: kbps,
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if err := v.layOut(spec); err != nil {
		enc.Close()
		return nil, fmt.Errorf("view %s: %w", key, err)
	}
	v.forceKey.Store(true)
	return v, nil
}

// layOut places the view's tiles for spec on a black canvas, where every
// tile is drawn anew. A view's spec is fixed, so this runs once, as the
// view is made.
func (v *view) layOut(spec layout.Spec) error {
	tiles, err := layout.Tiles(v.canvas.Width, v.canvas.Height, spec)
	if err != nil {
		return err
	}
	v.tiles = make([]viewTile, len(tiles))
	for i, t := range tiles {
		v.tiles[i] = viewTile{party: t.Party, fit: tileFit{rect: t.Rect}}
	}
	v.enc.Input().Fill(blackY, blackU, blackV)
	return nil
}

// run renders on every tick until stop. A slow render skips ticks rather
// than queueing them, so a view never falls behind real time.
func (v *view) run(ticker Ticker) {
	defer close(v.stopped)
	defer ticker.Stop()
	for {
		select {
		case <-v.done:
			return
		case now := <-ticker.C():
			v.render(now)
		}
	}
}

// stop ends the view's goroutine and frees its encoder; safe to repeat.
func (v *view) stop() {
	v.stopOnce.Do(func() {
		close(v.done)
		<-v.stopped
		v.enc.Close()
	})
}

// render composes, encodes and sends one frame. Composing and encoding
// hold a CPU slot; sending does not.
func (v *view) render(now time.Time) {
	cpu := v.m.params.CPU
	cpu.acquire()
	composeTime := v.composeFrame(now)
	key, encodeTime, err := v.encode(now)
	cpu.release()
	if err != nil {
		v.encodeFailed(err)
		return
	}
	v.send(now, key, composeTime, encodeTime)
}

// composeFrame draws the frame due at now on the encoder's input and
// returns how long that took. Once it returns, the sources may move on:
// the picture no longer depends on them.
func (v *view) composeFrame(now time.Time) time.Duration {
	v.countLateTicks(now)
	start := time.Now()
	v.compose(now)
	took := time.Since(start)
	return took
}

// encode encodes the composed picture into v.out, a key frame if a viewer
// asked for one.
func (v *view) encode(now time.Time) (key bool, took time.Duration, err error) {
	forceKey := v.forceKey.Load() && now.Sub(v.lastKeyframe) >= v.keyframeInterval()
	if forceKey {
		v.forceKey.Store(false)
	}
	v.followTarget(now)
	start := time.Now()
	out, key, err := v.enc.Encode(v.out[:0], forceKey)
	took = time.Since(start)
	if err != nil {
		return false, took, err
	}
	v.out = out
	v.frameBytes += len(out)
	v.frames++
	if len(out) == 0 {
		v.skipped++
	}
	if key {
		v.lastKeyframe, v.keyBytes = now, len(out)
	}
	return key, took, nil
}

// keyframeInterval is how long after a key frame the next may be forced:
// keyframeMinInterval, or longer if the key frames are large for the
// view's bitrate.
func (v *view) keyframeInterval() time.Duration {
	share := time.Duration(float64(v.keyBytes*8) / (keyframeShare * float64(v.kbps*1000)) * float64(time.Second))
	return max(keyframeMinInterval, share)
}

// followTarget sets the encoder's bitrate to the target, which takes
// effect from this frame on without a key frame; once a second of the
// view's clock it reports the bitrate and measures what the encoder made.
func (v *view) followTarget(now time.Time) {
	if want := int(v.target.Load()); want > 0 && want != v.kbps {
		// Below the full bitrate the view serves a narrow path: better a
		// skipped frame than an overflowing one.
		if err := v.enc.SetBitrate(want, want < v.m.params.VideoBitrateKbps); err != nil {
			v.m.log.Warn("set view bitrate", "view", v.key, "kbps", want, "err", err)
		} else {
			v.kbps = want
		}
	}
	if now.Sub(v.kbpsReported) >= time.Second {
		v.kbpsReported = now
		v.m.params.Observer.ViewBitrate(v.kbps)
		if v.frames > 0 {
			made := v.frameBytes * 8 * v.m.params.FPS / v.frames / 1000
			if v.skipped > 0 {
				made = max(made, v.kbps)
			}
			v.produced.Store(int32(made))
			if v.kbps == v.m.params.VideoBitrateKbps {
				v.natural.Store(int32(made))
			}
		}
		v.frameBytes, v.frames, v.skipped = 0, 0, 0
	}
}

func (v *view) encodeFailed(err error) {
	v.m.params.Observer.FramesDropped(1)
	v.m.log.Warn("encode view", "view", v.key, "err", err)
}

// send writes the encoded frame to every receiver.
func (v *view) send(now time.Time, key bool, composeTime, encodeTime time.Duration) {
	v.sendTo = v.receivers(v.sendTo, key)
	v.m.params.Observer.FrameComposed(composeTime, encodeTime, len(v.out), len(v.sendTo))
	if len(v.out) == 0 {
		return
	}
	// The frame lasts from the last one sent: after skipped ticks the RTP
	// clock keeps up with real time.
	duration := v.period
	if !v.lastSent.IsZero() {
		duration = now.Sub(v.lastSent)
	}
	v.lastSent = now
	sample := media.Sample{Data: v.out, Duration: duration}
	for _, sink := range v.sendTo {
		_ = sink.WriteSample(sample) // a viewer's transport failing is its own leg's business
	}
}

// countLateTicks reports the frames a slow render made the ticker skip.
func (v *view) countLateTicks(now time.Time) {
	if !v.lastTick.IsZero() {
		if missed := int((now.Sub(v.lastTick)+v.period/2)/v.period) - 1; missed > 0 {
			v.m.params.Observer.FramesDropped(missed)
		}
	}
	v.lastTick = now
}

// compose draws every tile on the encoder's input picture. The canvas
// keeps its pixels from frame to frame, so a tile still showing its
// source's latest picture is left as it is.
func (v *view) compose(now time.Time) {
	canvas := v.enc.Input()
	sources := *v.m.sources.Load()
	for i := range v.tiles {
		t := &v.tiles[i]
		v.drawTile(canvas, t, sources[t.party], now)
	}
}

// drawTile draws what the tile shows now and notes it: its source's
// video (drawVideo), or the party's placeholder if it has none, or its
// video is off, or it is reconnecting (then until a picture newer than its
// last comes).
func (v *view) drawTile(canvas *codec.Frame, t *viewTile, src *source, now time.Time) {
	info := v.m.tile(t.party)
	if info.VideoOff || info.Reconnecting || !v.drawVideo(canvas, t, src, info, now) {
		v.drawPlaceholder(canvas, t, info)
	}
}

// drawVideo draws the source's latest picture, fitted into the tile with
// black bars if its shape differs; without one, the tile keeps the last
// picture of a source that just ended, or shows its stand-in's picture.
// It reports whether the tile holds a picture.
func (v *view) drawVideo(canvas *codec.Frame, t *viewTile, src *source, info TileInfo, now time.Time) bool {
	if src != nil && v.drawPicture(canvas, t, &src.picture, now) {
		return true
	}
	return t.keepsEndedPicture(now) || v.drawStandIn(canvas, t, info.StandIn, now)
}

// drawPicture draws picture into the tile, unless the tile shows it
// already, and reports whether the tile holds it: false if it has none.
func (v *view) drawPicture(canvas *codec.Frame, t *viewTile, picture *latestPicture, now time.Time) bool {
	shown := t.shows.seq
	switch {
	case t.shows.picture == picture:
	case t.shows.placeholder != nil && t.stale.picture == picture:
		shown = t.stale.seq // back from reconnecting: only a newer picture replaces the placeholder
	default:
		shown = 0 // another source's numbers
	}
	seq := picture.drawOn(canvas, &t.fit, shown, now)
	if seq == 0 {
		return false
	}
	if t.shows.placeholder == nil || seq != shown {
		t.shows, t.stale = tileShows{picture: picture, seq: seq}, tileShows{}
	}
	t.endedAt = time.Time{}
	return true
}

// drawStandIn draws, into a tile whose source has no picture, the picture
// of source id standing in for it, and reports whether there was one.
func (v *view) drawStandIn(canvas *codec.Frame, t *viewTile, id string, now time.Time) bool {
	if id == "" {
		return false
	}
	src := (*v.m.sources.Load())[id]
	info := v.m.tile(id)
	if src == nil || info.VideoOff || info.Reconnecting {
		return false
	}
	return v.drawPicture(canvas, t, &src.picture, now)
}

// drawPlaceholder draws the party's placeholder, unless the tile shows it
// already.
func (v *view) drawPlaceholder(canvas *codec.Frame, t *viewTile, info TileInfo) {
	label := info.Label
	if info.Reconnecting {
		label = ReconnectingLabel(label)
		if t.shows.picture != nil {
			t.stale = t.shows
		}
	}
	r := t.fit.rect
	placeholder := v.m.placeholders.get(label, r.W, r.H)
	if t.shows.placeholder != placeholder {
		placeholder.CopyTo(canvas, r.X, r.Y)
	}
	t.shows = tileShows{placeholder: placeholder}
}
