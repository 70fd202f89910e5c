package mixer

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
)

// keyframeRequestInterval rate-limits PLIs to one sender.
const keyframeRequestInterval = 500 * time.Millisecond

// The largest picture a source may send: 4K, enough for a screen share.
const maxSourceWidth, maxSourceHeight = 3840, 2160

// source is one party's inbound video, on its ingest goroutine: RTP in,
// frames built, decoded into the latest picture that views draw from, and
// key frames asked of the sender when the picture needs one.
type source struct {
	id      string
	log     *slog.Logger
	picture latestPicture // what views draw; the one thing they share with the ingest

	// Owned by the ingest goroutine.
	packets         packetPool
	builder         *frameBuilder
	requestKeyframe func()
	now             func() time.Time
	lastKeyRequest  time.Time
	waitingForKey   bool
	observe         Observer
}

// newSource makes source id's decoder. now is the clock that rate-limits
// key frame requests and expires the sizes views no longer show.
func newSource(id string, now func() time.Time, requestKeyframe func(), observe Observer, log *slog.Logger) (*source, error) {
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", id, err)
	}
	s := &source{
		id:              id,
		log:             log,
		picture:         latestPicture{id: id, log: log, decoder: dec},
		requestKeyframe: requestKeyframe,
		now:             now,
		waitingForKey:   true,
		observe:         observe,
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

// push hands one packet to the frame builder and decodes what completes.
// After packets lost for good, nothing decodes before the next key frame,
// which is asked for at once unless it is among what completed.
func (s *source) push(pkt *rtp.Packet) {
	s.builder.push(pkt)
	lost := false
	for sample := s.builder.pop(); sample != nil; sample = s.builder.pop() {
		if sample.PrevDroppedPackets > 0 {
			s.observe.PacketsLost(int(sample.PrevDroppedPackets))
			s.waitingForKey, lost = true, true
		}
		if len(sample.Data) > 0 {
			s.decode(sample.Data)
		}
	}
	if lost && s.waitingForKey {
		s.needKeyframe("packets lost")
	}
}

// decode turns one VP8 frame into the latest picture. A frame after a loss
// or a decode error is only accepted from the next key frame on, so the
// tile keeps its last good picture instead of showing corruption.
func (s *source) decode(data []byte) {
	w, h, key := vp8KeyframeSize(data)
	if key && (w > maxSourceWidth || h > maxSourceHeight) {
		// libvpx would allocate for any size a sender claims.
		s.log.Debug("refusing oversized video", "source", s.id, "width", w, "height", h)
		s.observe.DecodeFailed()
		s.waitingForKey = true
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
	err := s.picture.unpack(data, s.now)
	took := time.Since(start) // the tiles' sizes, made here, included
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

// needKeyframe waits for the next key frame, and asks the sender for one
// at most every keyframeRequestInterval.
func (s *source) needKeyframe(why string) {
	s.waitingForKey = true
	now := s.now()
	if now.Sub(s.lastKeyRequest) < keyframeRequestInterval {
		return
	}
	s.lastKeyRequest = now
	s.observe.KeyframeRequested()
	s.log.Debug("requesting key frame", "source", s.id, "why", why)
	if s.requestKeyframe != nil {
		s.requestKeyframe()
	}
}

// close frees the decoder, once any view drawing from it is done. The
// ingest goroutine must have returned.
func (s *source) close() { s.picture.close() }
