package mixer

import (
	"fmt"
	"strings"

	"github.com/threeway-mcu/threeway/layout"
)

// viewer is one party watching one view.
type viewer struct {
	id   string
	view *view
	sink SampleWriter
}

// ViewKey names the picture a spec produces: viewers with equal keys see
// the same picture and share one view and one encoder.
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
	key := ViewKey(spec)

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	cur := m.viewers[id]
	if cur != nil && cur.view.key == key && cur.sink == sink {
		m.mu.Unlock()
		return nil
	}
	v := m.views[key]
	if v == nil {
		var err error
		if v, err = newView(m, key, spec); err != nil {
			m.mu.Unlock()
			return err
		}
		m.views[key] = v
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			v.run()
		}()
	}
	var idle *view
	if cur != nil {
		idle = m.unsubscribeLocked(cur)
	}
	m.viewers[id] = &viewer{id: id, view: v, sink: sink}
	v.subscribe(sink)
	m.mu.Unlock()

	if idle != nil {
		idle.stop()
	}
	return nil
}

// RemoveViewer stops sending to viewer id.
func (m *Mixer) RemoveViewer(id string) {
	m.mu.Lock()
	cur := m.viewers[id]
	var idle *view
	if cur != nil {
		idle = m.unsubscribeLocked(cur)
	}
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

// unsubscribeLocked removes a viewer and returns its view if nobody
// watches it any more; the caller stops it after unlocking, since a view's
// render may wait on m.mu.
func (m *Mixer) unsubscribeLocked(cur *viewer) *view {
	delete(m.viewers, cur.id)
	if cur.view.unsubscribe(cur.sink) > 0 {
		return nil
	}
	delete(m.views, cur.view.key)
	return cur.view
}

// subscribe adds a sink; the new viewer needs a key frame to start.
func (v *view) subscribe(sink SampleWriter) {
	old := *v.sinks.Load()
	next := make([]SampleWriter, 0, len(old)+1)
	next = append(append(next, old...), sink)
	v.sinks.Store(&next)
	v.forceKey.Store(true)
}

// unsubscribe removes a sink and returns how many remain.
func (v *view) unsubscribe(sink SampleWriter) int {
	old := *v.sinks.Load()
	next := make([]SampleWriter, 0, len(old))
	for _, s := range old {
		if s != sink {
			next = append(next, s)
		}
	}
	v.sinks.Store(&next)
	return len(next)
}
