package mixer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/threeway-mcu/threeway/layout"
)

// viewer is one party watching one view.
type viewer struct {
	id   string
	spec layout.Spec
	view *view
	sink SampleWriter
}

// ViewKey names the picture a spec produces: viewers with equal keys see
// the same picture and share one view and one encoder (or two, when one
// of them is split off for its low bandwidth: bitrate.go).
func ViewKey(spec layout.Spec) string {
	return strings.Join(spec.Parties, ",") + "|" + string(spec.Mode) + "|" + spec.Focus
}

// SetViewer makes viewer id watch the picture spec describes, written to
// sink. It moves the viewer between views as its spec changes; a view
// nobody watches stops.
func (m *Mixer) SetViewer(id string, spec layout.Spec, sink SampleWriter) error {
	p := m.params
	if _, err := layout.Tiles(p.Width, p.Height, spec); err != nil {
		return fmt.Errorf("viewer %s: %w", id, err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	idle, err := m.watchLocked(id, spec, sink)
	m.mu.Unlock()
	if idle != nil {
		idle.stop()
	}
	return err
}

// watchLocked moves viewer id to the view of spec (its low one if the
// viewer was split off) and returns the view it left if nobody watches
// that any more; the caller stops it after unlocking.
func (m *Mixer) watchLocked(id string, spec layout.Spec, sink SampleWriter) (*view, error) {
	key := m.viewKeyLocked(id, spec)
	cur := m.viewers[id]
	if cur != nil && cur.view.key == key && cur.sink == sink {
		return nil, nil
	}
	v := m.views[key]
	if v == nil {
		var err error
		if v, err = m.startViewLocked(key, spec, m.canvasOfLocked(id)); err != nil {
			return nil, err
		}
	}
	// Subscribe before unsubscribing, so that a viewer who only changes
	// its sink never leaves its view empty for a moment (and stopped).
	v.subscribe(sink)
	m.viewers[id] = &viewer{id: id, spec: spec, view: v, sink: sink}
	var idle *view
	if cur != nil {
		idle = m.unsubscribeLocked(cur)
		if idle == nil {
			m.retargetLocked(cur.view)
		}
	}
	m.retargetLocked(v)
	return idle, nil
}

// startViewLocked makes and starts the view of key.
func (m *Mixer) startViewLocked(key string, spec layout.Spec, c Canvas) (*view, error) {
	v, err := newView(m, key, spec, c)
	if err != nil {
		return nil, err
	}
	m.views[key] = v
	m.params.Observer.ViewsChanged(1)
	m.params.Observer.EncodersChanged(EncoderView, 1)
	ticker := m.params.Clock.NewTickerFrom(m.grid.next(m.params.Clock.Now()), v.period)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		v.run(ticker)
	}()
	return v, nil
}

// RemoveViewer stops sending to viewer id.
func (m *Mixer) RemoveViewer(id string) {
	m.mu.Lock()
	cur := m.viewers[id]
	var idle *view
	if cur != nil {
		delete(m.viewers, id)
		if idle = m.unsubscribeLocked(cur); idle == nil {
			m.retargetLocked(cur.view)
		}
	}
	m.forgetRateLocked(id)
	m.mu.Unlock()
	if idle != nil {
		idle.stop()
	}
}

// RequestKeyframe asks viewer id's view for a key frame (rate-limited).
func (m *Mixer) RequestKeyframe(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.viewers[id]; cur != nil {
		cur.view.forceKey.Store(true)
	}
}

// ViewCount is how many views (and so encoders) are running.
func (m *Mixer) ViewCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.views)
}

// unsubscribeLocked takes a viewer's sink off its view and returns the
// view if nobody watches it any more; the caller stops it after
// unlocking, since stopping waits for a render to finish.
func (m *Mixer) unsubscribeLocked(cur *viewer) *view {
	if cur.view.unsubscribe(cur.sink) > 0 {
		return nil
	}
	delete(m.views, cur.view.key)
	m.params.Observer.ViewsChanged(-1)
	m.params.Observer.EncodersChanged(EncoderView, -1)
	return cur.view
}

// subscribe adds a sink. It receives frames from the view's next key
// frame on, which it needs to start (it may come from another encoder).
func (v *view) subscribe(sink SampleWriter) {
	v.sinksMu.Lock()
	defer v.sinksMu.Unlock()
	v.pending = append(v.pending, sink)
	v.forceKey.Store(true)
}

// unsubscribe removes a sink and returns how many remain.
func (v *view) unsubscribe(sink SampleWriter) int {
	v.sinksMu.Lock()
	defer v.sinksMu.Unlock()
	v.sinks = slices.DeleteFunc(v.sinks, func(s SampleWriter) bool { return s == sink })
	v.pending = slices.DeleteFunc(v.pending, func(s SampleWriter) bool { return s == sink })
	return len(v.sinks) + len(v.pending)
}

// receivers copies into dst the sinks this frame goes to, first admitting
// the pending ones if the frame is a key frame.
func (v *view) receivers(dst []SampleWriter, key bool) []SampleWriter {
	v.sinksMu.Lock()
	defer v.sinksMu.Unlock()
	if key && len(v.pending) > 0 {
		v.sinks = append(v.sinks, v.pending...)
		v.pending = v.pending[:0]
	}
	if len(v.pending) > 0 {
		v.forceKey.Store(true)
	}
	return append(dst[:0], v.sinks...)
}
