package mixer

import (
	"errors"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
)

// ErrClosed is returned for work handed to a closed Mixer.
var ErrClosed = errors.New("mixer closed")

// SampleWriter receives encoded media; pion's TrackLocalStaticSample is one.
type SampleWriter interface {
	WriteSample(media.Sample) error
}

// RTPReader yields raw RTP packets; pion's TrackRemote is one.
type RTPReader interface {
	Read(b []byte) (int, interceptor.Attributes, error)
}

// Params configures a Mixer.
type Params struct {
	Width, Height    int // canvas size of every view
	FPS              int // output frame rate
	VideoBitrateKbps int // per view encoder
	AudioBitrate     int // per mix encoder, bits per second
	Logger           *slog.Logger
	Observer         Observer // nil: NopObserver
	// CPU are the slots views compose and encode in; a server's mixers
	// share one set. nil: slots of this mixer's own, one per CPU.
	CPU *CPUSlots
	// Clock ticks the views and the audio mix, and times key frame
	// requests, the sizes views show and when packets arrive (a video
	// hole's wait, a voice's jitter). nil: the wall clock. Offline keeps
	// its own time and ignores it.
	Clock Clock
}

func (p Params) withDefaults() Params {
	if p.Width <= 0 || p.Height <= 0 {
		p.Width, p.Height = 1280, 720
	}
	if p.FPS <= 0 {
		p.FPS = 15
	}
	if p.VideoBitrateKbps <= 0 {
		p.VideoBitrateKbps = 1200
	}
	if p.AudioBitrate <= 0 {
		p.AudioBitrate = 32000
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Observer == nil {
		p.Observer = NopObserver{}
	}
	if p.CPU == nil {
		p.CPU = NewCPUSlots(0)
	}
	if p.Clock == nil {
		p.Clock = wallClock{}
	}
	return p
}

// Mixer holds one call's media.
type Mixer struct {
	params Params
	log    *slog.Logger

	// sources and tiles are replaced, never edited, so that views read
	// them lock-free.
	sources atomic.Pointer[map[string]*source]
	tiles   atomic.Pointer[map[string]TileInfo]

	mu      sync.Mutex
	views   map[string]*view
	viewers map[string]*viewer
	rates   map[string]*viewerRate // by viewer id
	// canvases are the viewers' own canvases (SetViewerCanvas), by id.
	canvases map[string]Canvas
	closed   bool
	// produced, when set, stands in for what views' encoders made, for
	// tests whose pictures are too easy to fill a bitrate.
	produced func(*view) int
	// natural, when set, stands in for what views' encoders made at the
	// full bitrate, for tests: a view on a test clock measures its own.
	natural func(*view) int

	grid         frameGrid // when views tick
	placeholders placeholderCache
	audio        *audioMixer
	wg           sync.WaitGroup
}

// New starts a Mixer; its audio clock runs until Close. Codecs are made as
// sources, views and mixes appear, so starting cannot fail.
func New(p Params) *Mixer {
	m := newMixer(p)
	m.audio.clockStarted = true
	ticker := m.params.Clock.NewTicker(mixPeriod)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.audio.run(ticker)
	}()
	return m
}

// newMixer is a Mixer whose audio clock has not started.
func newMixer(p Params) *Mixer {
	p = p.withDefaults()
	m := &Mixer{
		params:   p,
		log:      p.Logger,
		views:    map[string]*view{},
		viewers:  map[string]*viewer{},
		rates:    map[string]*viewerRate{},
		canvases: map[string]Canvas{},
		grid:     frameGrid{epoch: p.Clock.Now(), period: time.Second / time.Duration(p.FPS)},
	}
	m.sources.Store(&map[string]*source{})
	m.tiles.Store(&map[string]TileInfo{})
	m.audio = newAudioMixer(p.AudioBitrate, p.Observer, p.Logger)
	m.audio.now = p.Clock.Now
	return m
}

// Params returns the mixer's effective configuration.
func (m *Mixer) Params() Params { return m.params }

// TileInfo says how a source's tile looks beyond its picture.
type TileInfo struct {
	Label    string // shown on the placeholder; "" shows the id
	VideoOff bool   // show the placeholder, never the last frame
	// Reconnecting shows the placeholder, saying so, never the last frame:
	// the party's connection dropped and its seat waits for it.
	Reconnecting bool
	// StandIn is the source whose picture the tile shows while its own
	// source has none: the sharer's camera in the screen's tile, until the
	// screen's first picture comes. "": the placeholder.
	StandIn string
}

// SetTile sets how id's tile looks. A tile whose video is off, or whose
// party is reconnecting, shows its placeholder from the next frame on.
func (m *Mixer) SetTile(id string, info TileInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	editCopy(&m.tiles, func(tiles map[string]TileInfo) { tiles[id] = info })
}

// editCopy replaces the map p points to with an edited copy, so that
// readers holding the old map never see it change. Callers serialize their
// edits (Mixer.mu).
func editCopy[K comparable, V any](p *atomic.Pointer[map[K]V], edit func(map[K]V)) {
	next := maps.Clone(*p.Load())
	edit(next)
	p.Store(&next)
}

// tile returns id's tile info, with the id as the default label.
func (m *Mixer) tile(id string) TileInfo {
	info := (*m.tiles.Load())[id]
	if info.Label == "" {
		info.Label = id
	}
	return info
}

// Close stops every view and the audio clock and releases codec state.
// Ingest calls still running return once their readers fail.
func (m *Mixer) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	views := m.views
	m.views = map[string]*view{}
	m.viewers = map[string]*viewer{}
	for id := range m.rates {
		m.forgetRateLocked(id)
	}
	m.mu.Unlock()
	for _, v := range views {
		v.stop()
	}
	m.params.Observer.ViewsChanged(-len(views))
	m.params.Observer.EncodersChanged(EncoderView, -len(views))
	m.audio.stop()
	m.wg.Wait()
	m.placeholders.release()
	codec.ReleaseMemory()
}
