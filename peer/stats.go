package peer

import (
	"maps"
	"time"

	"github.com/pion/webrtc/v4"
)

// Stats is a snapshot of a peer's media counters and analysis. Everything
// but SocketClosed describes the current media leg (or the last one, after
// it ended): a new leg (a `joined` after a `left`, e.g. a console helping
// in its next call) starts every counter from zero.
type Stats struct {
	// ConnectionState is the leg's PeerConnection state ("new" ..
	// "closed"); "new" before any leg.
	ConnectionState string
	// SocketClosed is set once the signaling WebSocket has ended.
	SocketClosed bool

	FramesDecoded int       // composed pictures received and decoded
	DecodeErrors  int       // pictures the decoder rejected
	FramesSkipped int       // pictures dropped while waiting for a key frame
	FirstFrameAt  time.Time // when the first picture was decoded
	Width, Height int       // size of the last received picture
	// Tiles holds, by role, where that role's colour was in the last
	// received picture; roles not visible are absent. A screen share's
	// colour is reported under "screen".
	Tiles map[string]Tile
	// ToneDBFS holds, by role, the level of that role's tone in the last
	// second of received audio (about -12 dBFS for one tone mixed at unity
	// gain). Empty until audio has arrived.
	ToneDBFS    map[string]float64
	AudioFrames int // received audio packets decoded
	PLIsSent    int // key frame requests we sent for the server's video
	// MeanLuma is the average brightness (Y, 16..235) of the last
	// received picture: a placeholder is dark grey (about 45).
	MeanLuma float64
	// InboundDropped counts inbound RTP packets SetInboundLoss threw
	// away.
	InboundDropped int

	FramesSent       int // camera frames sent
	ScreenFramesSent int // screen-share frames sent
	AudioFramesSent  int // audio frames sent
	PLIsReceived     int // PLIs and FIRs the server sent for our video
	NACKsReceived    int // NACKs the server sent for our video
}

// Stats returns a snapshot of the peer's counters. Tone levels are
// computed here, over the last second of audio, not per packet, and only
// when audio arrived since the last call.
func (p *Peer) Stats() Stats {
	p.mu.Lock()
	l := p.leg
	if l == nil {
		s := Stats{ConnectionState: webrtc.PeerConnectionStateNew.String(), SocketClosed: p.socketClosed,
			Tiles: map[string]Tile{}, ToneDBFS: map[string]float64{}}
		p.mu.Unlock()
		return s
	}
	s := l.stats
	s.SocketClosed = p.socketClosed
	if l.udp != nil {
		s.InboundDropped = int(l.udp.dropped.Load())
	}
	s.Tiles = maps.Clone(l.stats.Tiles)
	tones, fresh := l.toneCache, l.toneCache != nil && l.toneCacheAt == l.stats.AudioFrames
	var pcm []int16
	if !fresh && l.stats.AudioFrames > 0 {
		pcm = l.pcm.snapshot()
	}
	p.mu.Unlock()
	if s.Tiles == nil {
		s.Tiles = map[string]Tile{}
	}
	if !fresh {
		// Computed outside the lock so the receive loops never wait for it.
		tones = make(map[string]float64, 3)
		if len(pcm) > 0 {
			for _, role := range Roles() {
				tones[role] = Goertzel(pcm, ToneHz(role))
			}
		}
		p.mu.Lock()
		l.toneCache, l.toneCacheAt = tones, s.AudioFrames
		p.mu.Unlock()
	}
	s.ToneDBFS = maps.Clone(tones)
	return s
}
