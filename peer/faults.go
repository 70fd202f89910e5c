package peer

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/codec"
)

// CameraFault is a way the peer's camera misbehaves on purpose, to show
// that one party's bad media reaches nobody else (Peer.SetCameraFault).
type CameraFault int32

const (
	NoFault CameraFault = iota
	// FaultGarbage sends random bytes in place of VP8 frames, every other
	// one behind a valid key frame header (Peer.SendGarbage).
	FaultGarbage
	// FaultEndlessFrame sends a key frame whose last packet never comes:
	// packets of one RTP timestamp, none with the marker bit, without end.
	FaultEndlessFrame
	// FaultOversized sends 4K (3840x2160) key frames.
	FaultOversized
	// FaultUnofferedCodec sends the camera's frames under a payload type
	// the answer did not accept.
	FaultUnofferedCodec
)

// unofferedPayloadType is a dynamic payload type neither side offered.
const unofferedPayloadType = 127

// tappedTrack is a TrackLocalStaticRTP whose binding the peer keeps, so
// that it can send what the static track would not: packets under a
// payload type the answer did not accept.
type tappedTrack struct {
	*webrtc.TrackLocalStaticRTP
	mu   sync.Mutex
	ssrc webrtc.SSRC
	out  webrtc.TrackLocalWriter
}

// Bind implements webrtc.TrackLocal.
func (t *tappedTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	params, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		t.mu.Lock()
		t.ssrc, t.out = ctx.SSRC(), ctx.WriteStream()
		t.mu.Unlock()
	}
	return params, err
}

// writeUnoffered sends a frame under unofferedPayloadType.
func (w *sampleWriter) writeUnoffered(data []byte) error {
	w.track.mu.Lock()
	ssrc, out := w.track.ssrc, w.track.out
	w.track.mu.Unlock()
	if out == nil {
		return nil // not bound yet: nothing would be sent either
	}
	for _, pkt := range w.pkt.Packetize(data, w.ticks) {
		pkt.SSRC, pkt.PayloadType = uint32(ssrc), unofferedPayloadType
		if _, err := out.WriteRTP(&pkt.Header, pkt.Payload); err != nil {
			return err
		}
	}
	return nil
}

// writeEndless sends data as more of a frame that never ends: under the
// timestamp of the frame before when more is true, and never marked last.
func (w *sampleWriter) writeEndless(data []byte, more bool) error {
	ticks := w.ticks
	if more {
		ticks = 0
	}
	for _, pkt := range w.pkt.Packetize(data, ticks) {
		pkt.Marker = false
		if err := w.track.WriteRTP(pkt); err != nil {
			return err
		}
	}
	return nil
}

// faultyCamera is what a misbehaving camera sends, one frame interval at
// a time. Only the sending goroutine uses it.
type faultyCamera struct {
	garbage garbageFeed
	endless bool   // an endless frame has begun
	chunk   []byte // what the endless frame grows by
}

// endlessChunk is how much an endless frame grows each frame interval.
const endlessChunk = 30 << 10

func (c *faultyCamera) send(f CameraFault, w *sampleWriter, feed videoFeed) error {
	more := c.endless
	c.endless = f == FaultEndlessFrame
	switch f {
	case FaultGarbage:
		data, _ := c.garbage.next(false)
		return w.write(data)
	case FaultEndlessFrame:
		// A key frame's bytes, and more: 30 KB each frame interval.
		key, _ := feed.next(true)
		c.chunk = c.chunk[:0]
		for len(c.chunk) < endlessChunk {
			c.chunk = append(c.chunk, key...)
		}
		return w.writeEndless(c.chunk, more)
	case FaultOversized:
		frame, err := oversizedKeyframe()
		if err != nil {
			return err
		}
		return w.write(frame)
	case FaultUnofferedCodec:
		data, _ := feed.next(false)
		return w.writeUnoffered(data)
	}
	return fmt.Errorf("peer: no camera fault %d", f)
}

var oversized struct {
	once  sync.Once
	frame []byte
	err   error
}

// oversizedKeyframe is one 4K VP8 key frame, encoded once per process.
func oversizedKeyframe() ([]byte, error) {
	oversized.once.Do(func() {
		enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: 3840, Height: 2160, FPS: 15, BitrateKbps: 8000, KeyframeInterval: 1})
		if err != nil {
			oversized.err = err
			return
		}
		defer enc.Close()
		enc.Input().FillRect(0, 0, 3840, 2160, 120, 90, 200)
		enc.Input().FillRect(1000, 600, 1600, 900, 200, 160, 60)
		data, _, err := enc.Encode(nil, true)
		oversized.frame, oversized.err = append([]byte(nil), data...), err
	})
	return oversized.frame, oversized.err
}

// garbageFeed is random bytes of random length (Peer.SendGarbage). Every
// other frame begins like a shown 640x360 VP8 key frame (RFC 6386, 9.1:
// frame tag, start code, size) whose first partition claims more bytes
// than follow, so it passes every check short of the decoder's own and the
// decoder must refuse it. (Random bytes that libvpx does decode are a
// picture, however ugly: no receiver can tell them from a camera's.)
type garbageFeed struct {
	buf []byte
	n   uint16
}

var vp8KeyframeHeader = []byte{0xf0, 0xff, 0xff, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01}

func (g *garbageFeed) next(bool) ([]byte, uint16) {
	if g.buf == nil {
		g.buf = make([]byte, 2500)
	}
	data := g.buf[:500+rand.IntN(2000)]
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	if g.n%2 == 0 {
		copy(data, vp8KeyframeHeader)
	}
	g.n++
	return data, g.n - 1
}
