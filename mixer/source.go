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
)

const (
	// videoMaxLate is how many packets the sample builder waits for a
	// missing one before it gives the frame up.
	videoMaxLate = 128
	// keyframeRequestInterval rate-limits PLIs to one sender.
	keyframeRequestInterval = 500 * time.Millisecond
	// scaledCacheTTL drops a scaled copy no view has asked for lately.
	scaledCacheTTL = 2 * time.Second
)

// source is one party's inbound video: frame building, decoding, and the
// latest picture at every tile size views show it at, so that each size is
// made once per source frame however many views show it.
//
// The sizes views asked for lately are made as the picture is decoded,
// straight from libvpx's buffer: scaled to each tile size, and copied out
// at the sender's own size only when a tile shows it at that size (or no
// view asked for any). A sender at 1280x720 shown in smaller tiles is
// never copied at full size. A size asked for anew is made at once from
// the best picture at hand, then with every frame from the next one on.
type source struct {
	id     string
	frames codec.FramePool // decoded pictures, all of the sender's size
	log    *slog.Logger

	// Owned by the ingest goroutine.
	packets         packetPool
	builder         *frameBuilder
	decoder         *codec.VP8Decoder
	requestKeyframe func()
	now             func() time.Time // wall clock; tests step it
	lastKeyRequest  time.Time
	waitingForKey   bool
	observe         Observer

	mu            sync.Mutex
	seq           uint64       // bumps with every decoded picture; 0 before the first
	width, height int          // the size of picture seq
	latest        *codec.Frame // the last picture kept at the sender's size
	latestSeq     uint64
	nativeUsed    time.Time // when a view last showed the sender's size
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

// ingest reads r until it fails.
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
	err := s.decoder.Unpack(data)
	if err == nil {
		err = s.keepPicture()
	}
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

// keepPicture makes the unpacked picture the latest, at the sizes views
// asked for lately.
func (s *source) keepPicture() error {
	w, h, _ := s.decoder.PictureSize()
	now := s.now()
	s.mu.Lock()
	// A copy: views reorder s.scaled while this goroutine scales.
	wanted := append(s.wanted[:0], s.wantedScales(now)...)
	native := len(wanted) == 0 || now.Sub(s.nativeUsed) <= scaledCacheTTL
	s.mu.Unlock()
	s.wanted = wanted
	defer clear(wanted)

	var own *codec.Frame
	if native {
		own = s.frames.Get(w, h)
		if err := s.decoder.CopyTo(own); err != nil {
			own.Release()
			return err
		}
	}
	keep := s.keep[:0]
	for _, sc := range wanted {
		fw, fh := fitSize(w, h, sc.boxW, sc.boxH)
		f := sc.frames.Get(fw, fh)
		if err := s.decoder.ScaleTo(f); err != nil {
			f.Release()
			for _, k := range keep {
				k.Release()
			}
			clear(keep)
			if own != nil {
				own.Release()
			}
			return err
		}
		keep = append(keep, f)
	}
	s.keep = keep

	s.mu.Lock()
	s.seq++
	s.width, s.height = w, h
	var old *codec.Frame
	if own != nil {
		old, s.latest, s.latestSeq = s.latest, own, s.seq
	}
	for i, sc := range wanted {
		sc.keep(keep[i], s.seq)
	}
	s.mu.Unlock()
	for i := range keep {
		keep[i].Release() // the entries hold their own references
		keep[i] = nil
	}
	if old != nil {
		old.Release()
	}
	return nil
}

// wantedScales is the entries views asked for lately; it drops the rest.
// A dropped entry's picture, if newer than latest, becomes latest: it may
// be the newest picture there is, for a view that asks again after a
// quiet spell. Caller holds s.mu.
func (s *source) wantedScales(now time.Time) []*scaledFrame {
	kept := s.scaled[:0]
	for _, sc := range s.scaled {
		if now.Sub(sc.lastUsed) > scaledCacheTTL {
			if sc.frame != nil && sc.seq > s.latestSeq {
				if s.latest != nil {
					s.latest.Release()
				}
				s.latest, s.latestSeq = sc.frame, sc.seq
				sc.frame = nil
			}
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

// isVP8Keyframe reads the frame tag of a VP8 frame (RFC 6386, 9.1): bit 0
// of the first byte is 0 for key frames, which also carry a start code.
func isVP8Keyframe(data []byte) bool {
	return len(data) >= 10 && data[0]&1 == 0 &&
		data[3] == 0x9d && data[4] == 0x01 && data[5] == 0x2a
}

// vp8KeyframeSize reads a key frame's picture size (RFC 6386, 9.1: 14 bits
// each after the start code).
func vp8KeyframeSize(data []byte) (w, h int, ok bool) {
	if !isVP8Keyframe(data) {
		return 0, 0, false
	}
	return int(data[6]) | int(data[7]&0x3f)<<8, int(data[8]) | int(data[9]&0x3f)<<8, true
}

// picture returns the latest picture scaled to fit a boxW x boxH tile
// keeping its shape, retained for the caller, or nil if there is none yet.
// now is the view's clock, used to expire sizes nobody asks for. A size
// the decode did not make (asked for anew) is made here, outside the lock,
// so ingest never waits for it; two views making the same one at once both
// do the work, and one result is kept.
func (s *source) picture(boxW, boxH int, now time.Time) *codec.Frame {
	s.mu.Lock()
	if s.seq == 0 {
		s.mu.Unlock()
		return nil
	}
	seq := s.seq
	w, h := fitSize(s.width, s.height, boxW, boxH)
	native := w == s.width && h == s.height
	var sc *scaledFrame
	if native {
		s.nativeUsed = now
		if l := s.latest; l != nil && s.latestSeq == seq && l.Width == w && l.Height == h {
			l.Retain()
			defer s.mu.Unlock()
			return l
		}
	} else {
		sc = s.scaledEntry(boxW, boxH, now)
		if f := sc.frame; f != nil && sc.seq == seq && f.Width == w && f.Height == h {
			f.Retain()
			defer s.mu.Unlock()
			return f
		}
	}
	from := s.bestPicture(seq)
	if from == nil {
		s.mu.Unlock()
		return nil
	}
	var f *codec.Frame
	if native {
		f = s.frames.Get(w, h)
	} else {
		f = sc.frames.Get(w, h)
	}
	s.mu.Unlock()

	codec.Scale(from, f)
	// Only a picture made from one at least as large stands for frame seq
	// at this size; one blown up from a smaller stand-in is for this view
	// now, and the next decode makes the size properly.
	exact := from.Width >= w && from.Height >= h
	from.Release()
	if sc != nil && exact {
		s.mu.Lock()
		sc.keep(f, seq)
		s.mu.Unlock()
	}
	return f
}

// tilePicture is what a boxW x boxH tile shows, retained, and the size to
// draw it at (nil if there is no picture yet). A tile larger than the
// sender's picture gets that picture, to scale straight onto its canvas:
// such a size is rarely shared (the large tile of a maximized layout is
// one view's), and copying a scaled copy into place would move more bytes
// than copying the sender's picture out of the decoder.
func (s *source) tilePicture(boxW, boxH int, now time.Time) (*codec.Frame, int, int) {
	s.mu.Lock()
	sw, sh := s.width, s.height
	s.mu.Unlock()
	w, h := fitSize(sw, sh, boxW, boxH)
	if sw > 0 && w > sw {
		pic := s.picture(sw, sh, now)
		return pic, w, h
	}
	pic := s.picture(boxW, boxH, now)
	if pic == nil {
		return nil, 0, 0
	}
	return pic, pic.Width, pic.Height
}

// bestPicture is the picture to make a missing size from, retained: the
// newest at hand, the largest of its sizes. Caller holds s.mu.
func (s *source) bestPicture(seq uint64) *codec.Frame {
	var best *codec.Frame
	var bestSeq uint64
	better := func(f *codec.Frame, fseq uint64) {
		switch {
		case f == nil:
		case best == nil, fseq > bestSeq, fseq == bestSeq && f.Width*f.Height > best.Width*best.Height:
			best, bestSeq = f, fseq
		}
	}
	if l := s.latest; l != nil && s.latestSeq == seq && l.Width == s.width && l.Height == s.height {
		l.Retain() // the sender's size: nothing is better
		return l
	}
	better(s.latest, s.latestSeq)
	for _, sc := range s.scaled {
		better(sc.frame, sc.seq)
	}
	if best != nil {
		best.Retain()
	}
	return best
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

// close drops the source's pictures and its decoder. The ingest goroutine
// must have returned.
func (s *source) close() {
	s.decoder.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latest != nil {
		s.latest.Release()
		s.latest = nil
	}
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
