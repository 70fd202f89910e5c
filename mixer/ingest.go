package mixer

import "fmt"

// IngestVideo decodes VP8 RTP read from r as source id, publishing each
// picture to the views, until r fails, and returns r's error; then the
// source is removed, and its tiles keep its last picture for
// endedPictureHold (a leaving party's re-layout comes within it) before
// they fall back to the placeholder.
// requestKeyframe is called, rate-limited, when the picture needs a key
// frame from the sender (after loss or an undecodable frame). Run it on
// the track's own goroutine.
func (m *Mixer) IngestVideo(id string, r RTPReader, requestKeyframe func()) error {
	s, err := newSource(id, m.params.Clock, requestKeyframe, m.params.Observer, m.log)
	if err != nil {
		return err
	}
	s.grid = m.grid
	if err := m.addSource(s); err != nil {
		s.close()
		return err
	}
	defer func() {
		m.removeSource(s)
		s.close()
	}()
	s.needKeyframe("new source")
	return fmt.Errorf("video from %s: %w", id, s.ingest(r))
}

func (m *Mixer) addSource(s *source) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	editCopy(&m.sources, func(sources map[string]*source) { sources[s.id] = s })
	return nil
}

// removeSource drops s if it is still the source under its id.
func (m *Mixer) removeSource(s *source) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if (*m.sources.Load())[s.id] == s {
		editCopy(&m.sources, func(sources map[string]*source) { delete(sources, s.id) })
	}
}
