package mixer

import (
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

// scaledCacheTTL drops a size no view has shown for a while.
const scaledCacheTTL = 2 * time.Second

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
// was being scaled. Caller holds the picture's mu.
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
// Caller holds the picture's mu.
func (sc *scaledFrame) drop() {
	if sc.frame != nil {
		sc.frame.Release()
		sc.frame = nil
	}
	sc.dropped = true
}

// wantedScales is the sizes tiles showed lately; it drops the rest.
// Caller holds p.mu.
func (p *latestPicture) wantedScales(now time.Time) []*scaledFrame {
	kept := p.scaled[:0]
	for _, sc := range p.scaled {
		if now.Sub(sc.lastUsed) > scaledCacheTTL {
			sc.drop()
			continue
		}
		kept = append(kept, sc)
	}
	clear(p.scaled[len(kept):])
	p.scaled = kept
	return kept
}

// scaledEntry finds or makes the entry for a boxW x boxH tile and drops
// entries unused for a while. Caller holds p.mu.
func (p *latestPicture) scaledEntry(boxW, boxH int, now time.Time) *scaledFrame {
	var found *scaledFrame
	for _, sc := range p.wantedScales(now) {
		if sc.boxW == boxW && sc.boxH == boxH {
			found = sc
		}
	}
	if found == nil {
		found = &scaledFrame{boxW: boxW, boxH: boxH}
		p.scaled = append(p.scaled, found)
	}
	found.lastUsed = now
	return found
}
