package mixer

import "fmt"

// IngestVideo decodes VP8 RTP read from r as source id, publishing each
// picture to the views, until r fails; then the source is removed and its
// tile falls back to the placeholder. requestKeyframe is called,
// rate-limited, when the picture needs a key frame from the sender (after
// loss or an undecodable frame). Run it on the track's own goroutine.
func (m *Mixer) IngestVideo(id string, r RTPReader, requestKeyframe func()) error {
	s, err := newSource(id, requestKeyframe, m.params.Observer, m.log)
	if err != nil {
		return err
	}
	if err := m.addSource(s); err != nil {
		s.close()
		return err
	}
	defer func() {
		m.removeSource(s)
		s.close()
	}()
	s.needKeyframe("new source")
	if err := s.ingest(r); err != nil {
		return fmt.Errorf("video from %s: %w", id, err)
	}
	return nil
}

func (m *Mixer) addSource(s *source) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	old := *m.sources.Load()
	next := make(map[string]*source, len(old)+1)
	for id, src := range old {
		next[id] = src
	}
	next[s.id] = s
	m.sources.Store(&next)
	return nil
}

// removeSource drops s if it is still the source under its id.
func (m *Mixer) removeSource(s *source) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.sources.Load()
	if old[s.id] != s {
		return
	}
	next := make(map[string]*source, len(old))
	for id, src := range old {
		if src != s {
			next[id] = src
		}
	}
	m.sources.Store(&next)
}
