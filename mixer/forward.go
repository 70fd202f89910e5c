package mixer

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"
)

// RTPWriter receives forwarded RTP; pion's TrackLocalStaticRTP is one.
type RTPWriter interface {
	WriteRTP(*rtp.Packet) error
}

// Forwarder is the sfu video mode: each source's RTP goes untranscoded to
// the sinks subscribed to it. Audio goes straight to the receiver's track,
// sequence numbers and timestamps unchanged; video goes through the
// receiver's SFUOutput, which switches to a placeholder while the camera
// is off. pion rewrites SSRC and payload type per receiver, and its
// interceptors answer NACKs from what they sent.
type Forwarder struct {
	observe Observer
	mu      sync.Mutex
	sources map[string]*forwardedSource
}

type forwardedSource struct {
	sinks   atomic.Pointer[[]RTPWriter] // replaced, never edited
	packets packetPool
}

// NewForwarder returns a Forwarder with no sources; observe (nil: none)
// hears of the packets it drops.
func NewForwarder(observe Observer) *Forwarder {
	if observe == nil {
		observe = NopObserver{}
	}
	return &Forwarder{observe: observe, sources: map[string]*forwardedSource{}}
}

func (f *Forwarder) source(id string) *forwardedSource {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sources[id]
	if s == nil {
		s = &forwardedSource{}
		s.sinks.Store(&[]RTPWriter{})
		f.sources[id] = s
	}
	return s
}

// Forward copies RTP from r to id's subscribers until r fails. Packets
// that do not parse are dropped.
func (f *Forwarder) Forward(id string, r RTPReader) error {
	s := f.source(id)
	for {
		pkt, err := s.packets.readPacket(r, f.observe)
		if err != nil {
			return fmt.Errorf("forward %s: %w", id, err)
		}
		// Header extension ids were negotiated with the sender, not with
		// the receivers: they do not travel.
		pkt.Extension, pkt.Extensions = false, nil
		for _, sink := range *s.sinks.Load() {
			_ = sink.WriteRTP(pkt) // a receiver gone is its own leg's business
		}
		s.packets.put(pkt)
	}
}

// SetSubscribers replaces the sinks that receive id's packets.
func (f *Forwarder) SetSubscribers(id string, sinks ...RTPWriter) {
	s := f.source(id)
	list := append([]RTPWriter(nil), sinks...)
	s.sinks.Store(&list)
}
