package mixer

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

const (
	// videoMaxLate is how many packets the sample builder waits for a
	// missing one before it gives the frame up.
	videoMaxLate = 128
	// keyframeRequestInterval rate-limits PLIs to one sender.
	keyframeRequestInterval = 500 * time.Millisecond
	// scaledCacheTTL drops a size no view has shown for a while.
	scaledCacheTTL = 2 * time.Second
)

// source is one party's inbound video: frame building, decoding, and the
// latest picture at every tile size views show it at, so that each size is
// made once per source frame however many views show it.
//
// The picture is never copied out at the sender's own size. Views showing
// it at that size, or larger, draw it straight from libvpx's buffer, which
// holds it until the next decode; unpacking keeps the two apart. The
// smaller sizes tiles show are scaled from that buffer as the picture is
// decoded; a size asked for anew is made at once, then with every frame
// from the next one on, until no tile has shown it for a while.
type source struct {
	id  string
	log *slog.Logger

	// Owned by the ingest goroutine.
	packets         packetPool
	builder         *frameBuilder
	decoder         *codec.VP8Decoder
	requestKeyframe func()
	now             func() time.Time // wall clock; tests step it
	lastKeyRequest  time.Time
	waitingForKey   bool
	observe         Observer

	// unpacking is held for writing while libvpx decodes a frame, which
	// replaces the picture in its buffer (and while the decode scales it),
	// and for reading while a view draws or scales that picture. A decode
	// waits for views' copies and scales at most; a view waits for a
	// decode only for a tile that holds no picture yet (readHeld).
	unpacking sync.RWMutex

	mu            sync.Mutex
	seq           uint64 // bumps with every decoded picture; 0 before the first
	width, height int    // the size of picture seq
	held          uint64 // the picture in libvpx's buffer: seq, or 0 after a failed decode or close
	scaled        []*scaledFrame

	// Owned by the ingest goroutine: keepPicture's buffers.
	wanted []*scaledFrame
	keep   []*codec.Frame
}

// scaledFrame is the latest picture fitted into one tile size (box). A
// rescale goes into a fresh frame from the entry's own pool, never into one
// a view may still be reading.
type scaledFrame struct {
	boxW, boxH int
	frames     codec.FramePool
	frame      *codec.Frame
	seq        uint64
	lastUsed   time.Time
	dropped    bool // out of the cache: a view scaling into it keeps its result
}

// keep caches f, the scaled picture of source frame seq, with a reference
// of its own, unless the entry holds a newer one or was dropped while f
// was being scaled. Caller holds the source's mu.
func (sc *scaledFrame) keep(f *codec.Frame, seq uint64) {
	if sc.dropped || (sc.frame != nil && sc.seq >= seq) {
		return
	}
	if sc.frame != nil {
		sc.frame.Release()
	}
	f.Retain()
	sc.frame, sc.seq = f, seq
}

// drop takes the entry out of the cache. A view may still be scaling for
// it, outside the lock; it sees dropped and keeps its frame to itself.
// Caller holds the source's mu.
func (sc *scaledFrame) drop() {
	if sc.frame != nil {
		sc.frame.Release()
		sc.frame = nil
	}
	sc.dropped = true
}

func newSource(id string, requestKeyframe func(), observe Observer, log *slog.Logger) (*source, error) {
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", id, err)
	}
	s := &source{
		id:              id,
		log:             log,
		decoder:         dec,
		requestKeyframe: requestKeyframe,
		now:             time.Now,
		waitingForKey:   true,
		observe:         observe,
	}
	s.builder = newFrameBuilder(videoMaxLate, &codecs.VP8Packet{}, 90000, &s.packets, lastOfVideoFrame)
	return s, nil
}

// ingest reads r until it fails, and returns the read error.
func (s *source) ingest(r RTPReader) error {
	for {
		pkt, err := s.packets.readPacket(r, s.observe)
		if err != nil {
			return err
		}
		s.push(pkt)
	}
}

// push hands one packet to the frame builder and decodes what completes.
func (s *source) push(pkt *rtp.Packet) {
	s.builder.push(pkt)
	for sample := s.builder.pop(); sample != nil; sample = s.builder.pop() {
		if sample.PrevDroppedPackets > 0 {
			s.observe.PacketsLost(int(sample.PrevDroppedPackets))
			s.needKeyframe("packets lost")
		}
		s.decode(sample.Data)
	}
}

// decode turns one VP8 frame into the latest picture. A frame after a loss
// or a decode error is only accepted from the next key frame on, so the
// tile keeps its last good picture instead of showing corruption.
func (s *source) decode(data []byte) {
	if w, h, ok := vp8KeyframeSize(data); ok && (w > maxSourceWidth || h > maxSourceHeight) {
		// libvpx would allocate for any size a sender claims.
		s.log.Debug("refusing oversized video", "source", s.id, "width", w, "height", h)
		s.observe.DecodeFailed()
		s.waitingForKey = true
		return
	}
	if s.waitingForKey {
		if !isVP8Keyframe(data) {
			s.needKeyframe("waiting for key frame")
			return
		}
		s.waitingForKey = false
	}
	start := time.Now()
	err := s.unpack(data)
	took := time.Since(start) // the tiles' sizes, made here, included
	if err != nil {
		s.observe.DecodeFailed()
		if !errors.Is(err, codec.ErrNoFrame) {
			s.log.Debug("undecodable video", "source", s.id, "err", err)
			s.needKeyframe("undecodable frame")
		}
		return
	}
	s.observe.FrameDecoded(took)
}

// unpack decodes data into libvpx's buffer and makes it the latest
// picture; after a failure the buffer holds none.
func (s *source) unpack(data []byte) error {
	s.unpacking.Lock()
	defer s.unpacking.Unlock()
	err := s.decoder.Unpack(data)
	if err == nil {
		err = s.keepPicture()
	}
	if err != nil {
		s.mu.Lock()
		s.held = 0
		s.mu.Unlock()
	}
	return err
}

// keepPicture makes the unpacked picture the latest, scaled to the smaller
// sizes tiles showed lately. Caller holds unpacking.
func (s *source) keepPicture() error {
	w, h, _ := s.decoder.PictureSize()
	now := s.now()
	s.mu.Lock()
	// A copy: views reorder s.scaled while this goroutine scales.
	wanted := s.wanted[:0]
	for _, sc := range s.wantedScales(now) {
		if fw, _ := fitSize(w, h, sc.boxW, sc.boxH); fw < w {
			wanted = append(wanted, sc) // larger tiles draw from the decoder
		}
	}
	s.mu.Unlock()
	s.wanted = wanted
	defer clear(wanted)

	keep := s.keep[:0]
	defer func() {
		for i := range keep {
			keep[i].Release() // the entries hold their own references
		}
		clear(keep)
		s.keep = keep[:0]
	}()
	for _, sc := range wanted {
		fw, fh := fitSize(w, h, sc.boxW, sc.boxH)
		f := sc.frames.Get(fw, fh)
		if err := s.decoder.ScaleTo(f); err != nil {
			f.Release()
			return err
		}
		keep = append(keep, f)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.width, s.height = w, h
	s.held = s.seq
	for i, sc := range wanted {
		sc.keep(keep[i], s.seq)
	}
	return nil
}

// wantedScales is the sizes tiles showed lately; it drops the rest.
// Caller holds s.mu.
func (s *source) wantedScales(now time.Time) []*scaledFrame {
	kept := s.scaled[:0]
	for _, sc := range s.scaled {
		if now.Sub(sc.lastUsed) > scaledCacheTTL {
			sc.drop()
			continue
		}
		kept = append(kept, sc)
	}
	clear(s.scaled[len(kept):])
	s.scaled = kept
	return kept
}

func (s *source) needKeyframe(why string) {
	s.waitingForKey = true
	now := s.now()
	if now.Sub(s.lastKeyRequest) < keyframeRequestInterval {
		return
	}
	s.lastKeyRequest = now
	s.observe.KeyframeRequested()
	s.log.Debug("requesting key frame", "source", s.id, "why", why)
	if s.requestKeyframe != nil {
		s.requestKeyframe()
	}
}

// The largest picture a source may send: 4K, enough for a screen share.
const maxSourceWidth, maxSourceHeight = 3840, 2160

// drawOn draws the latest picture fitted into tile r of canvas, with black
// bars where its shape differs, unless the tile shows it already: shown is
// the picture the tile holds, 0 for none. It returns the picture the tile
// holds afterwards, 0 if the source has none to draw (the caller draws a
// placeholder). now is the view's clock: a size stays made while a tile
// shows it, and expires once none has for a while.
//
// A tile that holds a picture never waits for a decode under way: it
// keeps its picture, one frame behind, until the next frame of the view.
// Only a tile drawn anew waits, for the picture libvpx is making.
func (s *source) drawOn(canvas *codec.Frame, r layout.Rect, shown uint64, now time.Time) uint64 {
	seq, sc, pic := s.lookup(r.W, r.H, shown, now)
	switch {
	case seq == 0 || seq == shown:
		return seq
	case sc == nil: // the sender's size, or larger
		return s.drawHeld(canvas, r, shown)
	case pic == nil:
		if pic, seq = s.scaleAnew(sc, shown); pic == nil {
			return shown
		}
	}
	defer pic.Release()
	x, y := placeIn(r, pic.Width, pic.Height)
	fillBars(canvas, r, x, y, pic.Width, pic.Height)
	pic.CopyTo(canvas, x, y)
	return seq
}

// lookup is, under one lock, the latest picture's number and, for a
// boxW x boxH tile smaller than the sender's picture, that size's entry
// (kept: a tile shows it) with its picture, retained, if it is the latest
// and not the one shown.
func (s *source) lookup(boxW, boxH int, shown uint64, now time.Time) (uint64, *scaledFrame, *codec.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, _ := fitSize(s.width, s.height, boxW, boxH); s.seq == 0 || w >= s.width {
		return s.seq, nil, nil
	}
	sc := s.scaledEntry(boxW, boxH, now)
	if s.seq == shown {
		return s.seq, sc, nil
	}
	return s.seq, sc, s.current(sc)
}

// current is sc's picture, retained, if it is the latest picture at sc's
// size; else nil. Caller holds s.mu.
func (s *source) current(sc *scaledFrame) *codec.Frame {
	w, h := fitSize(s.width, s.height, sc.boxW, sc.boxH)
	f := sc.frame
	if f == nil || sc.seq != s.seq || f.Width != w || f.Height != h {
		return nil
	}
	f.Retain()
	return f
}

// drawHeld draws the picture in libvpx's buffer, at the sender's size or
// scaled up, into tile r. A tile larger than the sender's picture is rarely
// shared (the large tile of a maximized layout is one view's), so it is
// scaled straight onto the canvas rather than through a copy of its own.
func (s *source) drawHeld(canvas *codec.Frame, r layout.Rect, shown uint64) uint64 {
	if !s.readHeld(shown) {
		return shown
	}
	defer s.unpacking.RUnlock()
	s.mu.Lock()
	held, sw, sh := s.held, s.width, s.height
	s.mu.Unlock()
	if held == 0 || held == shown {
		// After an undecodable frame there is nothing to draw until the
		// next key frame: a tile keeps what it shows, a new one the
		// placeholder.
		return shown
	}
	w, h := fitSize(sw, sh, r.W, r.H)
	x, y := placeIn(r, w, h)
	if err := s.decoder.DrawInto(canvas, x, y, w, h); err != nil {
		s.log.Warn("drawing video", "source", s.id, "err", err)
		return 0
	}
	fillBars(canvas, r, x, y, w, h)
	return held
}

// readHeld read-locks libvpx's buffer for a tile holding picture shown:
// at once, or, for a tile with none (0), once a decode under way is done.
// It reports false, unlocked, when a decode is under way and the tile
// holds a picture to keep meanwhile.
func (s *source) readHeld(shown uint64) bool {
	if s.unpacking.TryRLock() {
		return true
	}
	if shown != 0 {
		return false
	}
	s.unpacking.RLock()
	return true
}

// scaleAnew makes sc's size of the latest picture, which the decode did
// not make (a size asked for anew), from libvpx's buffer, the next decode
// waiting meanwhile; two views making the same one at once both do the
// work, and one result is kept. It returns the picture, retained, and its
// number; nil if there is no picture to make it from, or if a decode is
// under way and the tile holds picture shown (see readHeld).
func (s *source) scaleAnew(sc *scaledFrame, shown uint64) (*codec.Frame, uint64) {
	if !s.readHeld(shown) {
		return nil, 0
	}
	defer s.unpacking.RUnlock()
	s.mu.Lock()
	seq, held := s.seq, s.held
	f := s.current(sc) // made by the decode this view waited for
	w, h := fitSize(s.width, s.height, sc.boxW, sc.boxH)
	s.mu.Unlock()
	switch {
	case f != nil:
		return f, seq
	case held == 0:
		return nil, 0 // see drawHeld
	}
	f = sc.frames.Get(w, h)
	if err := s.decoder.ScaleTo(f); err != nil {
		f.Release()
		s.log.Warn("scaling video", "source", s.id, "err", err)
		return nil, 0
	}
	s.mu.Lock()
	sc.keep(f, seq)
	s.mu.Unlock()
	return f, seq
}

// placeIn is where a w x h picture goes in tile r: centred, at even
// coordinates, as chroma needs (rounded towards the tile's top left).
func placeIn(r layout.Rect, w, h int) (x, y int) {
	return r.X + (r.W-w)/2&^1, r.Y + (r.H-h)/2&^1
}

// scaledEntry finds or makes the entry for a boxW x boxH tile and drops
// entries unused for a while. Caller holds s.mu.
func (s *source) scaledEntry(boxW, boxH int, now time.Time) *scaledFrame {
	var found *scaledFrame
	for _, sc := range s.wantedScales(now) {
		if sc.boxW == boxW && sc.boxH == boxH {
			found = sc
		}
	}
	if found == nil {
		found = &scaledFrame{boxW: boxW, boxH: boxH}
		s.scaled = append(s.scaled, found)
	}
	found.lastUsed = now
	return found
}

// close drops the source's pictures and its decoder, once any view
// drawing from it is done. The ingest goroutine must have returned.
func (s *source) close() {
	s.unpacking.Lock()
	defer s.unpacking.Unlock()
	s.decoder.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = 0
	for _, sc := range s.scaled {
		sc.drop()
	}
	s.scaled = nil
}

// fitSize is the largest even size of a srcW x srcH picture's shape inside
// a boxW x boxH box. Shapes within 2% of the box's fill it exactly, so
// rounding never leaves hairline bars.
func fitSize(srcW, srcH, boxW, boxH int) (int, int) {
	if srcW <= 0 || srcH <= 0 {
		return boxW, boxH
	}
	// Compare srcW/srcH with boxW/boxH in integers.
	a, b := srcW*boxH, boxW*srcH
	switch {
	case a*100 <= b*102 && b*100 <= a*102:
		return boxW, boxH
	case a > b: // wider than the box: full width, bars above and below
		return boxW, max(2, (boxW*srcH/srcW)&^1)
	default: // taller: full height, bars left and right
		return max(2, (boxH*srcW/srcH)&^1), boxH
	}
}
