package mixer

import (
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// A view encodes at the bitrate the slowest of its viewers can take, as
// their congestion control estimates it (SetViewerBitrate). One viewer far
// below the others of its picture would pull them all down, so it is
// split off to the picture's low view, which every viewer split off from
// that picture shares:
//
//   - a viewer is split off once, for splitAfter, its bitrate has stayed
//     under splitBelow of the best of the others still on the shared view
//     while the picture needs more than the slow viewer takes: that view's
//     encoder made at least busyShare of its target, or dropped frames to
//     keep to it, or the picture took more at the full bitrate than the
//     target is (an easy picture loses nothing by being held down, and an
//     estimate that only follows what is sent, as GCC's does, says
//     nothing of the path);
//   - it comes back once, for mergeAfter, its bitrate has stayed at or
//     above mergeFrom of them, or above what the shared view makes by
//     1/busyShare (the shared picture fits its path as it is).
//
// The gaps between the ratios and the two waits keep a viewer whose
// estimate wanders from moving to and fro: each move costs it a key frame
// and, for the split, an encoder.
const (
	splitBelow = 0.5
	splitAfter = 2 * time.Second
	mergeFrom  = 0.75
	mergeAfter = 10 * time.Second
	busyShare  = 0.8

	// minViewKbps is the least a view encodes at, whatever its viewers
	// take: a picture that keeps moving, if coarse.
	minViewKbps = 50
	// audioHeaderKbps is what the RTP headers of 50 audio packets a
	// second add to the audio's bitrate, as a sender-side estimate
	// counts them.
	audioHeaderKbps = 10
	// raiseStep is the least rise of a view's bitrate worth a change of
	// the encoder's settings; a fall is followed at once.
	raiseStep = 0.05
)

// lowViewSuffix marks a picture's low view among the views' keys.
const lowViewSuffix = "|low"

// viewerRate is what the mixer knows of one viewer's bandwidth.
type viewerRate struct {
	kbps int  // what its view may take, minViewKbps to VideoBitrateKbps
	low  bool // it watches its picture's low view
	// since is when the viewer began to qualify for the other view; zero
	// while it does not.
	since time.Time
}

// ViewerKbps is what a viewer takes at full quality: its view at
// VideoBitrateKbps and its mix-minus audio, with the RTP headers a
// sender-side estimate counts.
func (p Params) ViewerKbps() int { return p.VideoBitrateKbps + p.audioKbps() }

// MinViewerKbps is the least a viewer is sent: its view at the floor
// bitrate and its audio.
func (p Params) MinViewerKbps() int { return minViewKbps + p.audioKbps() }

func (p Params) audioKbps() int { return p.AudioBitrate/1000 + audioHeaderKbps }

// SetViewerBitrate tells the mixer how many kbit/s viewer id's path
// takes for all the mixer sends it, its picture and its audio, as its
// congestion control estimates it. The viewer's view then encodes for the
// slowest of its viewers, or the viewer is split off to a view of its own
// (see above). Until the first call, a viewer takes ViewerKbps.
func (m *Mixer) SetViewerBitrate(id string, kbps int) {
	p := m.params
	p.Observer.ViewerBandwidth(kbps)
	video := min(max(kbps-p.audioKbps(), minViewKbps), p.VideoBitrateKbps)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.rateLocked(id).kbps = video
	// Targets follow the new rate before the tiers are decided on them,
	// and again after viewers moved.
	for _, v := range m.views {
		m.retargetLocked(v)
	}
	idle := m.retierLocked(p.Clock.Now())
	for _, v := range m.views {
		m.retargetLocked(v)
	}
	m.mu.Unlock()
	for _, v := range idle {
		v.stop()
	}
}

// rateLocked returns viewer id's rate, made at the full bitrate if new.
func (m *Mixer) rateLocked(id string) *viewerRate {
	r := m.rates[id]
	if r == nil {
		r = &viewerRate{kbps: m.params.VideoBitrateKbps}
		m.rates[id] = r
	}
	return r
}

// forgetRateLocked drops what the mixer knew of a viewer that left.
func (m *Mixer) forgetRateLocked(id string) {
	if r := m.rates[id]; r != nil && r.low {
		m.params.Observer.ViewersSplit(-1)
	}
	delete(m.rates, id)
}

// viewKeyLocked is the key of the view viewer id watches for spec: the
// spec's own, or its low view's if the viewer was split off.
func (m *Mixer) viewKeyLocked(id string, spec layout.Spec) string {
	key := m.pictureKeyLocked(id, spec)
	if r := m.rates[id]; r != nil && r.low {
		key += lowViewSuffix
	}
	return key
}

// retierLocked moves the viewers whose time has come to or from their
// picture's low view, and returns the views nobody watches any more,
// for the caller to stop after unlocking.
func (m *Mixer) retierLocked(now time.Time) []*view {
	var moving []*viewer
	for _, w := range m.viewers {
		r := m.rateLocked(w.id)
		if !m.qualifiesLocked(w, r) {
			r.since = time.Time{}
			continue
		}
		if r.since.IsZero() {
			r.since = now
		}
		wait := splitAfter
		if r.low {
			wait = mergeAfter
		}
		if now.Sub(r.since) >= wait {
			moving = append(moving, w)
		}
	}
	// Decided on the tiers as they were, then moved, so that the order
	// of the viewers does not matter.
	var idle []*view
	for _, w := range moving {
		r := m.rates[w.id]
		r.low, r.since = !r.low, time.Time{}
		if r.low {
			m.params.Observer.ViewersSplit(1)
		} else {
			m.params.Observer.ViewersSplit(-1)
		}
		v, err := m.watchLocked(w.id, w.spec, w.sink)
		if err != nil {
			m.log.Warn("move viewer for its bandwidth", "viewer", w.id, "err", err)
		}
		if v != nil {
			idle = append(idle, v)
		}
	}
	return idle
}

// qualifiesLocked says whether viewer w's bitrate r calls for the other
// view than the one it watches (see the rules above).
func (m *Mixer) qualifiesLocked(w *viewer, r *viewerRate) bool {
	shared := m.views[m.pictureKeyLocked(w.id, w.spec)]
	best := 0
	for _, o := range m.viewers {
		if o != w && o.view == shared {
			best = max(best, m.rateLocked(o.id).kbps)
		}
	}
	if best == 0 {
		return false // nobody to compare with
	}
	if r.low {
		made := m.producedKbps(shared)
		return float64(r.kbps) >= mergeFrom*float64(best) || made > 0 && float64(made) <= busyShare*float64(r.kbps)
	}
	target := targetOf(w.view)
	busy := float64(m.producedKbps(w.view)) >= busyShare*float64(target) || m.naturalKbps(w.view) > target
	return busy && float64(r.kbps) < splitBelow*float64(best)
}

// naturalKbps is what view v's encoder made in its last second at the
// full bitrate.
func (m *Mixer) naturalKbps(v *view) int {
	if m.natural != nil {
		return m.natural(v)
	}
	return int(v.natural.Load())
}

// producedKbps is what view v's encoder made in its last second.
func (m *Mixer) producedKbps(v *view) int {
	if m.produced != nil {
		return m.produced(v)
	}
	return int(v.produced.Load())
}

// targetOf is view v's target bitrate.
func targetOf(v *view) int {
	if kbps := int(v.target.Load()); kbps > 0 {
		return kbps
	}
	return v.maxKbps
}

// retargetLocked sets view v's target to the least its viewers take.
func (m *Mixer) retargetLocked(v *view) {
	want := v.maxKbps
	for _, w := range m.viewers {
		if w.view == v {
			want = min(want, m.rateLocked(w.id).kbps)
		}
	}
	cur := targetOf(v)
	if want < cur || want == v.maxKbps || float64(want) >= (1+raiseStep)*float64(cur) {
		v.target.Store(int32(want))
	}
}

// ViewerBitrate is the bitrate of the view viewer id watches, and
// whether that view is its picture's low one (the viewer was split off);
// zero for no such viewer.
func (m *Mixer) ViewerBitrate(id string) (kbps int, split bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := m.viewers[id]
	if w == nil {
		return 0, false
	}
	return targetOf(w.view), m.rateLocked(id).low
}
