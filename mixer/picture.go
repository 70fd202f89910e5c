package mixer

import (
	"log/slog"
	"sync"
	"time"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

// latestPicture is one source's latest picture at every size views show
// it, each size made once per source frame however many views show it.
// The source's ingest goroutine decodes into it (unpack); views draw from
// it (drawOn), each on its own goroutine.
//
// The picture is never copied out at the sender's own size. Views showing
// it at that size, or larger, copy or scale it onto their canvases straight
// from libvpx's buffer, which holds it until the next decode; unpacking
// keeps the two apart. The smaller sizes tiles show are scaled from that
// buffer as the picture is decoded, into reference-counted frames, one per
// size (scaledFrame); a size asked for anew is made at once, then with
// every frame from the next one on, until no tile has shown it for a while.
//
// Lock order: unpacking, then mu.
type latestPicture struct {
	id  string // the source's, for logs
	log *slog.Logger

	// unpacking is held for writing while libvpx decodes a frame, which
	// replaces the picture in its buffer (and while the decode scales it),
	// and for reading while a view draws or scales that picture. A decode
	// waits for views' copies and scales at most; a view waits for a
	// decode only for a tile that holds no picture yet (readHeld).
	unpacking sync.RWMutex
	decoder   *codec.VP8Decoder // its buffer holds the picture

	mu            sync.Mutex
	seq           uint64 // bumps with every decoded picture; 0 before the first
	width, height int    // the size of picture seq
	held          uint64 // the picture in libvpx's buffer: seq, or 0 after a failed decode or close
	drawn         uint64 // the newest picture a view drew
	scaled        []*scaledFrame

	// Owned by the ingest goroutine: publish's buffers.
	wanted []scaling
	made   []*codec.Frame
}

// scaling is a size publish makes the new picture at.
type scaling struct {
	sc   *scaledFrame
	w, h int
}

// unpack decodes data into libvpx's buffer and makes it the latest
// picture; after a failure the buffer holds none. now is the source's
// clock, read once the picture is there. skipped reports that the picture
// it replaced was never drawn, although the one before it was: the views
// showing the source saw two pictures come between two of their ticks.
func (p *latestPicture) unpack(data []byte, now func() time.Time) (skipped bool, err error) {
	p.unpacking.Lock()
	defer p.unpacking.Unlock()
	err = p.decoder.Unpack(data)
	if err == nil {
		skipped, err = p.publish(now())
	}
	if err != nil {
		p.mu.Lock()
		p.held = 0
		p.mu.Unlock()
	}
	return skipped, err
}

// publish makes the unpacked picture the latest, scaled to the smaller
// sizes tiles showed lately. Caller holds unpacking.
func (p *latestPicture) publish(now time.Time) (skipped bool, err error) {
	w, h, _ := p.decoder.PictureSize()
	p.mu.Lock()
	// A copy: views reorder p.scaled while this goroutine scales.
	wanted := p.wanted[:0]
	for _, sc := range p.wantedScales(now) {
		if fw, fh := layout.FitSize(w, h, sc.boxW, sc.boxH); fw < w {
			wanted = append(wanted, scaling{sc, fw, fh}) // larger tiles draw from the decoder
		}
	}
	p.mu.Unlock()
	p.wanted = wanted
	defer clear(wanted)

	made := p.made[:0]
	defer func() {
		for i := range made {
			made[i].Release() // the entries hold their own references
		}
		clear(made)
		p.made = made[:0]
	}()
	for _, s := range wanted {
		f := s.sc.frames.Get(s.w, s.h)
		if err := p.decoder.ScaleTo(f); err != nil {
			f.Release()
			return false, err
		}
		made = append(made, f)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	skipped = p.drawn > 0 && p.drawn == p.seq-1
	p.seq++
	p.width, p.height = w, h
	p.held = p.seq
	for i, s := range wanted {
		s.sc.keep(made[i], p.seq)
	}
	return skipped, nil
}

// drawOn draws the latest picture on canvas, fitted into fit's tile with
// black bars where its shape differs, unless the tile shows it already:
// shown is the picture the tile holds, 0 for none. It returns the picture
// the tile holds afterwards, 0 if there is none to draw (the caller draws a
// placeholder). now is the view's clock: a size stays made while a tile
// shows it, and expires once none has for a while. Whether it waits for a
// decode under way: see readHeld.
func (p *latestPicture) drawOn(canvas *codec.Frame, fit *tileFit, shown uint64, now time.Time) uint64 {
	seq := p.draw(canvas, fit, shown, now)
	if seq != shown && seq != 0 {
		p.mu.Lock()
		p.drawn = max(p.drawn, seq)
		p.mu.Unlock()
	}
	return seq
}

func (p *latestPicture) draw(canvas *codec.Frame, fit *tileFit, shown uint64, now time.Time) uint64 {
	seq, sc, pic := p.lookup(fit, shown, now)
	switch {
	case seq == 0 || seq == shown:
		return seq
	case sc == nil: // the sender's size, or larger
		return p.drawHeld(canvas, fit, shown)
	case pic == nil:
		if pic, seq = p.scaleAnew(sc, fit, shown); pic == nil {
			return shown
		}
	}
	defer pic.Release()
	fillBars(canvas, &fit.place)
	pic.CopyTo(canvas, fit.place.Picture.X, fit.place.Picture.Y)
	return seq
}

// lookup reads what drawOn needs, under one lock so that the three agree.
// seq is the latest picture's number, 0 for none. sc is the entry of the
// tile's size, marked shown so that decodes keep making it; nil if the
// tile shows the picture at the sender's size or larger. pic is sc's
// picture, retained, if that is picture seq and the tile does not show it
// yet; else nil.
func (p *latestPicture) lookup(fit *tileFit, shown uint64, now time.Time) (seq uint64, sc *scaledFrame, pic *codec.Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seq == 0 {
		return 0, nil, nil
	}
	place := fit.placement(p.width, p.height)
	if place.Picture.W >= p.width {
		return p.seq, nil, nil
	}
	sc = p.scaledEntry(fit.rect.W, fit.rect.H, now)
	if p.seq == shown {
		return p.seq, sc, nil
	}
	return p.seq, sc, p.current(sc, place)
}

// current is sc's picture, retained, if it is the latest picture at the
// size place gives it; else nil. Caller holds p.mu.
func (p *latestPicture) current(sc *scaledFrame, place *layout.Placement) *codec.Frame {
	f := sc.frame
	if f == nil || sc.seq != p.seq || f.Width != place.Picture.W || f.Height != place.Picture.H {
		return nil
	}
	f.Retain()
	return f
}

// drawHeld draws the picture in libvpx's buffer, at the sender's size or
// scaled up, into tile fit. A tile larger than the sender's picture is rarely
// shared (the large tile of a maximized layout is one view's), so it is
// scaled straight onto the canvas rather than through a copy of its own.
func (p *latestPicture) drawHeld(canvas *codec.Frame, fit *tileFit, shown uint64) uint64 {
	if !p.readHeld(shown) {
		return shown
	}
	defer p.unpacking.RUnlock()
	p.mu.Lock()
	held, w, h := p.held, p.width, p.height
	p.mu.Unlock()
	if held == 0 || held == shown {
		// After an undecodable frame there is nothing to draw until the
		// next key frame: a tile keeps what it shows, a new one the
		// placeholder.
		return shown
	}
	place := fit.placement(w, h)
	r := place.Picture
	if err := p.decoder.DrawInto(canvas, r.X, r.Y, r.W, r.H); err != nil {
		p.log.Warn("drawing video", "source", p.id, "err", err)
		return 0
	}
	fillBars(canvas, place)
	return held
}

// readHeld read-locks libvpx's buffer for a tile holding picture shown:
// at once, or, for a tile with none (0), once a decode under way is done.
// It reports false, unlocked, when a decode is under way and the tile
// holds a picture to keep meanwhile.
func (p *latestPicture) readHeld(shown uint64) bool {
	if p.unpacking.TryRLock() {
		return true
	}
	if shown != 0 {
		return false
	}
	p.unpacking.RLock()
	return true
}

// scaleAnew makes sc's size of the latest picture, which the decode did
// not make (a size asked for anew), from libvpx's buffer, the next decode
// waiting meanwhile; two views making the same one at once both do the
// work, and one result is kept. It returns the picture, retained, and its
// number; nil if there is no picture to make it from, or if a decode is
// under way and the tile holds picture shown (see readHeld).
func (p *latestPicture) scaleAnew(sc *scaledFrame, fit *tileFit, shown uint64) (*codec.Frame, uint64) {
	if !p.readHeld(shown) {
		return nil, 0
	}
	defer p.unpacking.RUnlock()
	p.mu.Lock()
	seq, held := p.seq, p.held
	place := fit.placement(p.width, p.height)
	f := p.current(sc, place) // made by the decode this view waited for
	p.mu.Unlock()
	switch {
	case f != nil:
		return f, seq
	case held == 0:
		return nil, 0 // see drawHeld
	}
	f = sc.frames.Get(place.Picture.W, place.Picture.H)
	if err := p.decoder.ScaleTo(f); err != nil {
		f.Release()
		p.log.Warn("scaling video", "source", p.id, "err", err)
		return nil, 0
	}
	p.mu.Lock()
	sc.keep(f, seq)
	p.mu.Unlock()
	return f, seq
}

// close drops the pictures and the decoder, once any view drawing from
// them is done.
func (p *latestPicture) close() {
	p.unpacking.Lock()
	defer p.unpacking.Unlock()
	p.decoder.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = 0
	for _, sc := range p.scaled {
		sc.drop()
	}
	p.scaled = nil
}
