package mixer

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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

// source is one party's inbound video: sample building, decoding, and the
// latest picture, plus its scaled copies per tile size so that each size is
// scaled once per source frame however many views show it.
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
	decodeTime      atomic.Int64 // nanoseconds spent in the decoder
	clock           stopwatch
	observe         Observer

	mu     sync.Mutex
	latest *codec.Frame // nil until the first good frame
	seq    uint64       // bumps with every new latest frame
	scaled []*scaledFrame
}

// scaledFrame is the latest picture at one tile size. A rescale goes into a
// fresh frame from the entry's own pool, never into one a view may still be
// reading.
type scaledFrame struct {
	w, h     int
	frames   codec.FramePool
	frame    *codec.Frame
	seq      uint64
	lastUsed time.Time
	dropped  bool // out of the cache: a view scaling into it keeps its result
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

func newSource(id string, requestKeyframe func(), clock stopwatch, observe Observer, log *slog.Logger) (*source, error) {
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
		clock:           clock,
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

// push hands one packet to the sample builder and decodes what completes.
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
	start := s.clock()
	err := s.decoder.Unpack(data)
	took := s.clock() - start
	s.decodeTime.Add(int64(took))
	var f *codec.Frame
	if err == nil {
		f = s.frames.Get(2, 2)
		if err = s.decoder.CopyTo(f); err != nil {
			f.Release()
		}
	}
	if err != nil {
		s.observe.DecodeFailed()
		if !errors.Is(err, codec.ErrNoFrame) {
			s.log.Debug("undecodable video", "source", s.id, "err", err)
			s.needKeyframe("undecodable frame")
		}
		return
	}
	s.observe.FrameDecoded(took)
	s.publish(f)
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

// publish makes f, holding one reference, the latest picture.
func (s *source) publish(f *codec.Frame) {
	s.mu.Lock()
	old := s.latest
	s.latest = f
	s.seq++
	s.mu.Unlock()
	if old != nil {
		old.Release()
	}
}

// picture returns the latest picture scaled to fit a boxW x boxH tile
// keeping its shape, retained for the caller, or nil if there is none yet.
// now is the view's clock, used to expire scaled copies nobody asks for.
// Scaling runs outside the lock, so ingest never waits for it; two views
// scaling the same frame at once both do the work, and one result is kept.
func (s *source) picture(boxW, boxH int, now time.Time) *codec.Frame {
	s.mu.Lock()
	latest, seq := s.latest, s.seq
	if latest == nil {
		s.mu.Unlock()
		return nil
	}
	w, h := fitSize(latest.Width, latest.Height, boxW, boxH)
	latest.Retain()
	if latest.Width == w && latest.Height == h {
		s.mu.Unlock()
		return latest
	}
	sc := s.scaledEntry(w, h, now)
	if sc.frame != nil && sc.seq == seq {
		sc.frame.Retain()
		s.mu.Unlock()
		latest.Release()
		return sc.frame
	}
	f := sc.frames.Get(w, h)
	s.mu.Unlock()

	codec.Scale(latest, f)
	latest.Release()

	s.mu.Lock()
	defer s.mu.Unlock()
	sc.keep(f, seq)
	return f
}

// scaledEntry finds or makes the cache entry for w x h and drops entries
// unused for a while. Caller holds s.mu.
func (s *source) scaledEntry(w, h int, now time.Time) *scaledFrame {
	var found *scaledFrame
	kept := s.scaled[:0]
	for _, sc := range s.scaled {
		switch {
		case sc.w == w && sc.h == h:
			found = sc
		case now.Sub(sc.lastUsed) > scaledCacheTTL:
			sc.drop()
			continue
		}
		kept = append(kept, sc)
	}
	s.scaled = kept
	if found == nil {
		found = &scaledFrame{w: w, h: h}
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
