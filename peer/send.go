package peer

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/threeway-mcu/threeway/codec"
)

const (
	// opusBitrate is the sent audio's bitrate in bits per second.
	opusBitrate = 32000
	// opusFECLossPercent is the loss the sent audio's in-band FEC is sized
	// for; libopus codes none at 32 kbit/s for 5 %.
	opusFECLossPercent = 10
	// audioFrame is the duration of one Opus frame.
	audioFrame = 20 * time.Millisecond
	// maxVP8Frame is the initial capacity of the encoder output buffer.
	maxVP8Frame = 256 << 10
	// maxOpusPacket is the Opus output buffer size (RFC 6716 limit).
	maxOpusPacket = 1275
	// rtpMTU is the largest RTP packet sent, as pion's own sample tracks.
	rtpMTU = 1200
)

// source is the switch and key frame request of one sent track.
type source struct {
	off      atomic.Bool // the party turned it off: nothing is sent
	forceKey atomic.Bool // the next video frame is a key frame
	// next is a feed to switch to at the next tick (send.limits).
	next atomic.Pointer[scaledFeed]
}

// switches are a leg's camera and microphone switches and its ways to
// misbehave. They are atomic: the controls flip them while the send loops
// read them.
type switches struct {
	camera, mic source
	// stalled stops the camera and microphone without telling anyone.
	stalled atomic.Bool
	// fault is how the camera misbehaves (a CameraFault); 0: it does not.
	fault atomic.Int32
}

// sampleWriter packetizes encoded frames onto a local track. Unlike
// pion's TrackLocalStaticSample it can leave a gap in RTP time without
// one in sequence numbers, which is what a browser's stream looks like
// after its track was off for a while. Only the sending goroutine uses it.
type sampleWriter struct {
	track *tappedTrack
	pkt   rtp.Packetizer
	ticks uint32 // RTP clock ticks per frame
}

// newSampleWriter makes a VP8 (15 fps ticks are set by the sender) or
// Opus track writer.
func newSampleWriter(mime, id, stream string) (*sampleWriter, error) {
	var (
		capability webrtc.RTPCodecCapability
		payloader  rtp.Payloader
	)
	switch mime {
	case webrtc.MimeTypeVP8:
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
	case webrtc.MimeTypeOpus:
		capability = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
		payloader = &codecs.OpusPayloader{}
	default:
		return nil, fmt.Errorf("peer: no writer for %s", mime)
	}
	static, err := webrtc.NewTrackLocalStaticRTP(capability, id, stream)
	if err != nil {
		return nil, fmt.Errorf("peer: %s track: %w", id, err)
	}
	track := &tappedTrack{TrackLocalStaticRTP: static}
	// SSRC and payload type are the binding's; WriteRTP sets them.
	pkt := rtp.NewPacketizerWithOptions(rtpMTU, payloader, rtp.NewRandomSequencer(), capability.ClockRate)
	return &sampleWriter{track: track, pkt: pkt}, nil
}

// write sends one frame that lasts one frame interval.
func (w *sampleWriter) write(data []byte) error {
	for _, pkt := range w.pkt.Packetize(data, w.ticks) {
		if err := w.track.WriteRTP(pkt); err != nil {
			return err
		}
	}
	return nil
}

// skip advances RTP time by n frame intervals with nothing sent.
func (w *sampleWriter) skip(n int) {
	w.pkt.SkipSamples(uint32(n) * w.ticks)
}

// startSenders starts the camera and microphone loops of the leg, which
// run until it ends. The first leg of a role in the process encodes its
// pattern and tone loops here; later ones reuse them. It does nothing the
// second time.
func (l *leg) startSenders() error {
	if l.tasks.isStopped() {
		return nil // Close has begun
	}
	l.mu.Lock()
	started := l.sending || l.ended
	l.sending = true
	video, audio := l.video, l.audio
	l.mu.Unlock()
	if started {
		return nil
	}
	if l.cfg.GarbageVideo {
		l.out.fault.Store(int32(FaultGarbage))
	}
	feed, err := l.newVideoFeed(l.role)
	if err != nil {
		return err
	}
	tone, err := loops.audioLoopFor(l.ctx, ToneHz(l.role))
	if err != nil {
		return err
	}
	l.tasks.spawn(func() { l.sendVideo(l.ctx, &l.out.camera, video, feed, true) })
	l.tasks.spawn(func() { l.sendAudio(l.ctx, audio, tone) })
	return nil
}

// videoFeed yields the frames a video sender sends, one per call.
type videoFeed interface {
	// next returns the next frame and the frame number it shows; key asks
	// for a key frame.
	next(key bool) (frame []byte, number uint16)
}

// newVideoFeed returns the replay of pattern's loop at the configured
// size; encoding the loop, the first time, stops when the leg ends.
func (l *leg) newVideoFeed(pattern string) (videoFeed, error) {
	loop, err := loops.videoLoopFor(l.ctx, loopKey{pattern: pattern, width: l.cfg.Width, height: l.cfg.Height,
		fps: l.cfg.FPS, bitrateKbps: l.cfg.VideoBitrateKbps})
	if err != nil {
		return nil, err
	}
	return &loopCursor{loop: loop}, nil
}

// loopCursor replays a video loop from its start. A key frame request
// jumps to the loop's next key frame, skipping frame numbers, as a camera
// skips what it captured while the encoder was busy.
type loopCursor struct {
	loop *videoLoop
	pos  int
}

func (c *loopCursor) next(key bool) ([]byte, uint16) {
	if key {
		c.pos = c.loop.nextKey(c.pos)
	}
	n := c.pos
	c.pos = (c.pos + 1) % len(c.loop.frames)
	return c.loop.frames[n], uint16(n)
}

// sendVideo sends one frame of feed per tick until ctx ends. While src is
// off nothing is sent; the first frame after is a key frame.
func (l *leg) sendVideo(ctx context.Context, src *source, w *sampleWriter, feed videoFeed, camera bool) {
	fps := l.cfg.FPS
	w.ticks = uint32(90000 / fps)
	ticker := time.NewTicker(time.Second / time.Duration(fps))
	defer ticker.Stop()
	skipped := 0
	var faulty faultyCamera
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if next := src.next.Swap(nil); next != nil {
			feed, fps = next.from(feed, fps), next.fps
			w.ticks = uint32(90000 / fps)
			ticker.Reset(time.Second / time.Duration(fps))
		}
		if src.off.Load() || l.out.stalled.Load() {
			skipped++
			continue
		}
		if skipped > 0 {
			w.skip(skipped)
			skipped = 0
			src.forceKey.Store(true)
		}
		var err error
		if fault := CameraFault(l.out.fault.Load()); camera && fault != NoFault {
			err = faulty.send(fault, w, feed)
			l.an.countFaultSent()
		} else {
			data, n := feed.next(src.forceKey.Swap(false))
			if w, h, key := vp8KeySize(data); key && camera {
				l.an.recordCameraSize(w, h)
			}
			// The send time is taken as the frame goes out, so latency
			// counts the server alone, not our pacing.
			l.an.recordSent(camera, n, len(data), time.Now())
			err = w.write(data)
		}
		if err != nil {
			l.log.Debug("write video", "err", err)
		}
	}
}

// sendAudio sends the role's tone, replaying its loop of 20 ms Opus
// frames, until ctx ends; nothing while the microphone is off. The loop
// goes on while muted, like time.
func (l *leg) sendAudio(ctx context.Context, w *sampleWriter, tone *audioLoop) {
	w.ticks = uint32(codec.FrameSamples)
	ticker := time.NewTicker(audioFrame)
	defer ticker.Stop()
	skipped, pos := 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		pkt := tone.packets[pos]
		pos = (pos + 1) % len(tone.packets)
		if l.out.mic.off.Load() || l.out.stalled.Load() {
			skipped++
			continue
		}
		if skipped > 0 {
			w.skip(skipped)
			skipped = 0
		}
		if err := w.write(pkt); err != nil {
			l.log.Debug("write audio", "err", err)
		}
		l.an.countAudioSent()
	}
}

// handleSenderRTCP reacts to the server's feedback on a video track of
// ours: a PLI or FIR makes src's next frame a key frame.
func (l *leg) handleSenderRTCP(src *source, pkts []rtcp.Packet) {
	for _, pkt := range pkts {
		switch pkt.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			src.forceKey.Store(true)
			l.an.countFeedback(true)
		case *rtcp.TransportLayerNack:
			l.an.countFeedback(false)
		}
	}
}
