package mixer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
)

// keyframeRequestInterval rate-limits PLIs to one sender.
const keyframeRequestInterval = 500 * time.Millisecond

// The largest picture a source may send: a QHD screen's share. A larger
// one (4K) is refused undecoded, as libvpx would allocate for any size a
// sender claims and decoding it would take the CPU the views need; the
// page asks the browser to scale a larger screen down to it.
const maxSourceWidth, maxSourceHeight = 2560, 1600

// source is one party's inbound video: RTP in on its ingest goroutine,
// frames built, each decoded at its playout time (playout.go) into the
// latest picture that views draw from, and key frames asked of the sender
// when the picture needs one. Frames due at once decode on the ingest
// goroutine; frames held for their time, on the source's playout
// goroutine (play), started when one is first held.
type source struct {
	id      string
	log     *slog.Logger
	picture latestPicture // what views draw; the one thing they share with the ingest

	// Owned by the ingest goroutine.
	packets   packetPool
	builder   *frameBuilder
	schedule  playoutSchedule
	afterLoss bool // packets were lost since the last key frame came

	now     func() time.Time
	clock   Clock     // times the playout goroutine's waits
	grid    frameGrid // the views' ticks, which pictures keep clear of; zero: none
	observe Observer

	// mu guards the frames held and decoding, which the ingest and the
	// playout goroutine share.
	mu              sync.Mutex
	held            heldFrames
	waitingForKey   bool
	lastKeyRequest  time.Time
	requestKeyframe func()
	// clearOfTicksUntil: since a picture was skipped, pictures keep
	// clear of the views' ticks (grid.go) until then.
	clearOfTicksUntil time.Time
	playing           bool          // the playout goroutine runs
	wake              chan struct{} // a frame is held: the playout goroutine's wait changes
	stopPlaying       chan struct{}
	played            chan struct{} // closed as the playout goroutine returns
}

// newSource makes source id's decoder. clock rate-limits key frame
// requests, expires the sizes views no longer show and times playout.
func newSource(id string, clock Clock, requestKeyframe func(), observe Observer, log *slog.Logger) (*source, error) {
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", id, err)
	}
	s := &source{
		id:              id,
		log:             log,
		picture:         latestPicture{id: id, log: log, decoder: dec},
		requestKeyframe: requestKeyframe,
		now:             clock.Now,
		clock:           clock,
		waitingForKey:   true,
		observe:         observe,
		wake:            make(chan struct{}, 1),
		stopPlaying:     make(chan struct{}),
		played:          make(chan struct{}),
	}
	s.builder = newFrameBuilder(&codecs.VP8Packet{}, &s.packets, lastOfVideoFrame, startsVP8Keyframe,
		func() time.Time { return s.now() })
	return s, nil
}

// ingest reads r until it fails, and returns the read error: never nil,
// so IngestVideo wraps it as is.
func (s *source) ingest(r RTPReader) error {
	for {
		pkt, err := s.packets.readPacket(r, s.observe)
		if err != nil {
			return err
		}
		s.push(pkt)
	}
}

// push hands one packet to the frame builder and plays what completes.
// After packets lost for good, nothing decodes before the next key frame,
// which is asked for at once unless it is among what completed.
func (s *source) push(pkt *rtp.Packet) {
	s.builder.push(pkt)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.release(now)
	asked := false
	for sample := s.builder.pop(); sample != nil; sample = s.builder.pop() {
		if sample.PrevDroppedPackets > 0 {
			s.observe.PacketsLost(int(sample.PrevDroppedPackets))
			s.play(now, s.schedule.lastDue, nil) // in order: after the frames before the loss
			s.afterLoss, asked = true, false
		}
		if len(sample.Data) == 0 {
			continue
		}
		if _, _, key := vp8KeyframeSize(sample.Data); s.afterLoss && !key {
			// Undecodable, and late for the hole it waited behind, not for
			// the network: it must not lengthen the playout delay.
			s.play(now, s.schedule.lastDue, sample.Data)
			if !asked {
				s.askKeyframe("packets lost")
				asked = true
			}
			continue
		}
		s.afterLoss = false
		due := s.schedule.due(now, sample.PacketTimestamp)
		s.play(now, s.readyAt(now, due), sample.Data)
	}
	if s.afterLoss && !asked {
		s.askKeyframe("packets lost")
	}
}

// readyAt is when a frame due at due, come at now, should be ready for
// the views: due, or, while the source keeps clear of the ticks, just past
// a tick too close to it.
func (s *source) readyAt(now, due time.Time) time.Time {
	ready := later(now, due)
	if now.Before(s.clearOfTicksUntil) {
		return s.grid.clear(ready)
	}
	return ready
}

// play decodes a frame (nil: news of a loss) due at due, now if it is due
// and nothing is held before it, else when the playout goroutine finds it
// due. A full queue gives its first frame up to its decode early.
func (s *source) play(now, due time.Time, data []byte) {
	if s.held.empty() && due.Sub(now) <= playoutSlack {
		s.decodeOrLose(data)
		return
	}
	if s.held.full() {
		s.decodeHeld(s.held.first())
		s.held.pop()
	}
	s.held.push(due, data, data == nil)
	if _, driven := s.clock.(drivenClock); driven {
		return // the driver releases what is held
	}
	if !s.playing {
		s.playing = true
		go s.playOut()
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// release decodes the frames held that are due by now.
func (s *source) release(now time.Time) {
	for !s.held.empty() && s.held.first().due.Sub(now) <= playoutSlack {
		s.decodeHeld(s.held.first())
		s.held.pop()
	}
}

// decodeOrLose decodes data, or with none, makes the source wait for a
// key frame.
func (s *source) decodeOrLose(data []byte) {
	if data == nil {
		s.waitingForKey = true
		return
	}
	s.decode(data)
}

func (s *source) decodeHeld(f *heldFrame) {
	if f.lost {
		s.decodeOrLose(nil)
		return
	}
	s.decodeOrLose(f.data)
}

// playOut is the playout goroutine: it decodes the frames held as they
// fall due, until close.
func (s *source) playOut() {
	defer close(s.played)
	timer := s.clock.NewTimer(maxPlayoutDelay)
	defer timer.Stop()
	for {
		select {
		case <-s.stopPlaying:
			return
		case <-s.wake:
		case <-timer.C():
		}
		s.mu.Lock()
		now := s.now()
		s.release(now)
		wait := maxPlayoutDelay
		if !s.held.empty() {
			wait = s.held.first().due.Sub(now)
		}
		s.mu.Unlock()
		timer.Reset(wait)
	}
}

// decode turns one VP8 frame into the latest picture. A frame after a loss
// or a decode error is only accepted from the next key frame on, so the
// tile keeps its last good picture instead of showing corruption.
func (s *source) decode(data []byte) {
	w, h, key := vp8KeyframeSize(data)
	if key && (w > maxSourceWidth || h > maxSourceHeight) {
		s.log.Debug("refusing oversized video", "source", s.id, "width", w, "height", h)
		s.observe.DecodeFailed()
		s.needKeyframe("oversized picture")
		return
	}
	if s.waitingForKey {
		if !key {
			s.needKeyframe("waiting for key frame")
			return
		}
		s.waitingForKey = false
	}
	start := time.Now()
	skipped, err := s.picture.unpack(data, s.now)
	took := time.Since(start) // the tiles' sizes, made here, included
	if skipped {
		s.observe.PictureSkipped()
		s.clearOfTicksUntil = s.now().Add(clearOfTicksFor)
	}
	if err != nil {
		s.observe.DecodeFailed()
		if !errors.Is(err, codec.ErrNoFrame) {
			s.log.Debug("undecodable video", "source", s.id, "err", err)
			s.needKeyframe("undecodable frame")
		}
		return
	}
	s.observe.FrameDecoded(took)
}

// needKeyframe waits for the next key frame, and asks the sender for one.
func (s *source) needKeyframe(why string) {
	s.waitingForKey = true
	s.askKeyframe(why)
}

// askKeyframe asks the sender for a key frame, at most every
// keyframeRequestInterval.
func (s *source) askKeyframe(why string) {
	now := s.now()
	if now.Sub(s.lastKeyRequest) < keyframeRequestInterval {
		return
	}
	s.lastKeyRequest = now
	s.observe.KeyframeRequested()
	if s.log.Enabled(context.Background(), slog.LevelDebug) { // its arguments would allocate
		s.log.Debug("requesting key frame", "source", s.id, "why", why)
	}
	if s.requestKeyframe != nil {
		s.requestKeyframe()
	}
}

// close stops the playout goroutine, dropping the frames it held, and
// frees the decoder once any view drawing from it is done. The ingest
// goroutine must have returned.
func (s *source) close() {
	s.mu.Lock()
	playing := s.playing
	s.mu.Unlock()
	if playing {
		close(s.stopPlaying)
		<-s.played
	}
	s.picture.close()
}
