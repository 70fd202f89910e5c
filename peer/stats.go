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

	FramesDecoded int // composed pictures received and decoded
	// Freezes counts the gaps of more than FreezeGap between two decoded
	// pictures, ended by the second.
	Freezes       int
	DecodeErrors  int       // pictures the decoder rejected
	FramesSkipped int       // pictures dropped while waiting for a key frame
	FirstFrameAt  time.Time // when the first picture was decoded
	Width, Height int       // size of the last received picture
	// Tiles holds, by role, where that role's colour was in the last
	// received picture; roles not visible are absent. A screen share's
	// colour is reported under "screen".
	Tiles map[string]Tile
	// TileUpdates holds, by role (or "screen"), how often the frame
	// number read in that role's tile changed, and its freezes: how the
	// party's own picture moved for this viewer, whatever the composed
	// picture's rate.
	TileUpdates map[string]TileUpdates
	// ToneDBFS holds, by role, the level of that role's tone in the last
	// second of received audio (about -12 dBFS for one tone mixed at unity
	// gain). Empty until audio has arrived.
	ToneDBFS map[string]float64
	// HeardDBFS is the level of the last 400 ms of received audio, DTX
	// silence counted as silence (-120); what a speech check reads.
	HeardDBFS   float64
	AudioFrames int // received audio packets (Opus frames)
	// MeanLuma is the average brightness (Y, 16..235) of the last
	// received picture: a placeholder is dark grey (about 45).
	MeanLuma float64
	// InboundDropped counts the inbound datagrams the leg's network
	// conditions dropped (Config.Network, SetNetwork, SetInboundLoss).
	InboundDropped int
	// VideoPackets and AudioPackets count the RTP packets received on the
	// composed video and the mixed audio; the Lost counts are those
	// missing from their sequence numbers and never retransmitted (as
	// RFC 3550 receiver reports count them).
	VideoPackets, VideoPacketsLost int
	AudioPackets, AudioPacketsLost int
	// AudioFramesDue counts the 20 ms frames a receiver of this audio
	// has played, with a buffer 60 ms above the earliest arrival that
	// waits for a late packet; AudioFramesConcealed those it concealed:
	// frames whose packet, and the next one with in-band FEC (Opus LBRR)
	// for them, had not arrived by their play time, and the 20 ms steps
	// of waiting for a late one (see playout).
	AudioFramesDue, AudioFramesConcealed int
	// AudioFramesRebuilt counts the frames of AudioFramesDue whose own
	// packet was missing by their play time but that the next packet's
	// in-band FEC rebuilt.
	AudioFramesRebuilt int

	FramesSent      int // camera frames sent
	CameraBytesSent int // VP8 payload bytes of the camera frames sent
	// SentWidth and SentHeight are the camera's picture as its last key
	// frame on the wire says (send.limits scales it down).
	SentWidth, SentHeight int
	ScreenFramesSent      int // screen-share frames sent
	AudioFramesSent       int // audio frames sent
	PLIsReceived          int // PLIs and FIRs the server sent for our video
	NACKsReceived         int // NACKs (RTCP messages) the server sent for our video

	// What the leg's PeerConnection put on the wire: PLIs and FIRs for
	// the server's video, NACK messages (pion's NACK generator asking for
	// what our downlink lost), and the RTP packets pion's NACK responder
	// resent for the server's NACKs (what our uplink lost).
	PLIsSent        int
	NACKsSent       int
	Retransmissions int
}

// FreezeGap is the longest pause between two pictures, or two updates of
// a tile, that is not a freeze, as the browsers count freezes.
const FreezeGap = 600 * time.Millisecond

// TileUpdates is how a role's tile moved in the received pictures.
type TileUpdates struct {
	Count   int // frame number changes read
	Freezes int // changes more than FreezeGap after the one before
}

// Stats returns a snapshot of the peer's counters and the tone levels of
// the last second of received audio, which are measured here: the audio
// is decoded when asked for, not as it arrives, and levels are computed
// only when audio arrived since the last call.
func (p *Peer) Stats() Stats {
	s, l := p.counters()
	if l == nil {
		s.ToneDBFS, s.HeardDBFS = map[string]float64{}, silentDBFS
		return s
	}
	tones, dbfs := l.an.hearing()
	s.ToneDBFS, s.HeardDBFS = maps.Clone(tones), dbfs
	return s
}

// Counters returns what Stats does but the tone levels (ToneDBFS is nil),
// which are the costly part: cheap enough to poll every few milliseconds,
// as a load test does to spot freezes.
func (p *Peer) Counters() Stats {
	s, _ := p.counters()
	return s
}

// counters snapshots the current leg's counters (nil leg: before any).
func (p *Peer) counters() (Stats, *leg) {
	l := p.currentLeg()
	if l == nil {
		return Stats{ConnectionState: webrtc.PeerConnectionStateNew.String(), SocketClosed: p.sig.ended(),
			Tiles: map[string]Tile{}, TileUpdates: map[string]TileUpdates{}}, nil
	}
	s := l.an.counters()
	state, dropped := l.stateAndDropped()
	s.ConnectionState = state.String()
	s.InboundDropped = dropped
	s.SocketClosed = p.sig.ended()
	return s, l
}
