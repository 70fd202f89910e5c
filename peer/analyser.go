package peer

import (
	"log/slog"
	"maps"
	"sync"
	"time"
)

// historySize is how many frame numbers SentAt and ReceivedAt remember
// (about 4.5 minutes at 15 fps).
const historySize = 4096

// pliInterval rate-limits our key frame requests.
const pliInterval = 500 * time.Millisecond

// analyser is what one leg's media showed: its counters, the tiles of the
// last picture, the latency stamps and the received audio, which Stats,
// Counters, SentAt and ReceivedAt read. The leg's send and receive loops
// write it while callers poll it, so mu guards the fields grouped under
// it; log never changes, and fb counts by itself.
type analyser struct {
	log *slog.Logger
	fb  feedbackCounter

	mu sync.Mutex
	// stats holds the counters and the last picture's analysis; the leg
	// and the Peer fill in the rest of a snapshot.
	stats       Stats
	lastPLI     time.Time
	lastPicture time.Time // when the last decoded picture arrived
	sent        [historySize]stamp
	received    map[string]*readTimes
	heard       heardRing

	// listen decodes the heard audio under its own lock, taken before mu,
	// so that a slow decode holds up no loop.
	listen listener
}

func newAnalyser(log *slog.Logger) *analyser {
	return &analyser{log: log, received: make(map[string]*readTimes),
		stats: Stats{TileUpdates: map[string]TileUpdates{}}}
}

// stamp records when a frame number was seen.
type stamp struct {
	frame uint16
	at    time.Time
}

// counters returns a copy of the counters, with a Tiles map of its own.
func (a *analyser) counters() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Tiles = maps.Clone(a.stats.Tiles)
	if s.Tiles == nil {
		s.Tiles = map[string]Tile{}
	}
	s.TileUpdates = maps.Clone(a.stats.TileUpdates)
	s.NACKsSent = int(a.fb.nacksSent.Load())
	s.PLIsSent = int(a.fb.plisSent.Load())
	s.Retransmissions = int(a.fb.resent.Load())
	return s
}

// feedback is the leg's feedbackCounter, for its PeerConnection.
func (a *analyser) feedback() *feedbackCounter {
	return &a.fb
}

// sentAt returns when camera frame number frame was last sent.
func (a *analyser) sentAt(frame uint16) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sent[int(frame)%historySize].of(frame)
}

// receivedAt returns when frame number frame was first read in role's
// tile (see Peer.ReceivedAt).
func (a *analyser) receivedAt(role string, frame uint16) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.received[role]
	if h == nil {
		return time.Time{}, false
	}
	return h.stamps[int(frame)%historySize].of(frame)
}

// of returns the stamp's time if it is frame's.
func (s stamp) of(frame uint16) (time.Time, bool) {
	if s.at.IsZero() || s.frame != frame {
		return time.Time{}, false
	}
	return s.at, true
}

// recordSent stores the send time of a camera frame (camera false: a
// screen frame, only counted).
// recordCameraSize notes the size a camera key frame carries.
func (a *analyser) recordCameraSize(w, h int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.SentWidth, a.stats.SentHeight = w, h
}

func (a *analyser) recordSent(camera bool, frame uint16, bytes int, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !camera {
		a.stats.ScreenFramesSent++
		return
	}
	a.sent[int(frame)%historySize] = stamp{frame, at}
	a.stats.FramesSent++
	a.stats.CameraBytesSent += bytes
}

// countFaultSent counts a camera frame sent while the camera misbehaves:
// its frame number, if any, is not for the server to show.
func (a *analyser) countFaultSent() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.FramesSent++
}

func (a *analyser) countAudioSent() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.AudioFramesSent++
}

// countFeedback counts the server's key frame requests (pli) or NACKs
// for our video.
func (a *analyser) countFeedback(pli bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if pli {
		a.stats.PLIsReceived++
	} else {
		a.stats.NACKsReceived++
	}
}

// pliDue reports whether a key frame request may go out now, at most one
// per pliInterval.
func (a *analyser) pliDue(now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.lastPLI) < pliInterval {
		return false
	}
	a.lastPLI = now
	return true
}

// videoPackets notes the composed video's packet counts so far.
func (a *analyser) videoPackets(c *lossCounter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.VideoPackets, a.stats.VideoPacketsLost = c.received, c.lost()
}

func (a *analyser) countSkipped() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.FramesSkipped++
}

func (a *analyser) countDecodeError() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.DecodeErrors++
}

// picture records a decoded picture: its size and where each role's tile
// is and which frame it shows. arrived is when the picture's last packet
// came in (zero if unknown).
func (a *analyser) picture(pic *picture, arrived time.Time) {
	tiles := maps.Clone(pic.tiles)
	now := time.Now()
	if arrived.IsZero() {
		arrived = now
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stats.FramesDecoded == 0 {
		a.stats.FirstFrameAt = now
	} else if arrived.Sub(a.lastPicture) > FreezeGap {
		a.stats.Freezes++
	}
	a.lastPicture = arrived
	a.stats.FramesDecoded++
	a.stats.Width, a.stats.Height = pic.width, pic.height
	a.stats.MeanLuma = pic.luma
	for role, t := range tiles {
		t.ReadAt = now
		tiles[role] = t
		if t.FrameNumber < 0 {
			continue
		}
		h := a.received[role]
		if h == nil {
			h = &readTimes{last: -1}
			a.received[role] = h
		}
		if h.read(uint16(t.FrameNumber), arrived) {
			a.stats.TileUpdates[role] = h.updates
		}
	}
	a.stats.Tiles = tiles
}

// audio notes the mixed audio's packet counts and playout so far and
// keeps the packets the sample builder completed, for toneLevels.
func (a *analyser) audio(c *lossCounter, p *playout, pkts []heardPacket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.AudioPackets, a.stats.AudioPacketsLost = c.received, c.lost()
	a.stats.AudioFramesDue, a.stats.AudioFramesConcealed, a.stats.AudioFramesRebuilt = p.due, p.concealed, p.rebuilt
	for _, p := range pkts {
		a.heard.push(p)
	}
	a.stats.AudioFrames += len(pkts)
}

// readTimes records, for one role's tile, when each frame number was
// first read, and how often the number changed.
type readTimes struct {
	last    int // the number read last, -1 before any
	lastAt  time.Time
	stamps  [historySize]stamp
	updates TileUpdates
}

// read notes that the tile showed n in a picture that arrived at at, and
// reports whether that is an update. Only a change of number is (and
// starts a new stamp): the same frame shown again is not new, but the
// same number after others is the sender's next loop. A change more than
// FreezeGap after the one before ends a freeze.
func (h *readTimes) read(n uint16, at time.Time) bool {
	if int(n) == h.last {
		return false
	}
	if h.last >= 0 && at.Sub(h.lastAt) > FreezeGap {
		h.updates.Freezes++
	}
	h.last, h.lastAt = int(n), at
	h.updates.Count++
	h.stamps[int(n)%historySize] = stamp{n, at}
	return true
}
