package peer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
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
	// sender is the track's sender, whose negotiated audio level
	// extension id (levelExt) is read at the first write: media flows
	// only once the answer is applied.
	sender   *webrtc.RTPSender
	levelExt int  // -1 before the first write
	noLevels bool // Config.NoAudioDTX: send no audio levels
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
	return &sampleWriter{track: track, pkt: pkt, levelExt: -1}, nil
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

// writeLevel sends one audio frame with its RFC 6464 level byte, when the
// extension was negotiated.
func (w *sampleWriter) writeLevel(data []byte, level byte) error {
	if w.levelExt < 0 {
		w.levelExt = 0
		for _, ext := range w.sender.GetParameters().HeaderExtensions {
			if ext.URI == sdp.AudioLevelURI {
				w.levelExt = ext.ID
			}
		}
	}
	for _, pkt := range w.pkt.Packetize(data, w.ticks) {
		if w.levelExt != 0 && !w.noLevels {
			if err := pkt.Header.SetExtension(uint8(w.levelExt), []byte{level}); err != nil {
				return err
			}
		}
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
	sound, err := loops.audioLoopFor(l.ctx, l.soundKey())
	if err != nil {
		return err
	}
	l.tasks.spawn(func() { l.sendVideo(l.ctx, &l.out.camera, video, feed, true) })
	l.tasks.spawn(func() { l.sendAudio(l.ctx, audio, sound) })
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

// soundKey names the loop the leg's microphone plays: its role's tone,
// or the speech schedule.
func (l *leg) soundKey() float64 {
	switch {
	case l.cfg.Audio != AudioSpeech:
		return ToneHz(l.role)
	case l.cfg.NoAudioDTX || !l.answerAsksDTX():
		return speechLoopNoDTX
	}
	return speechLoopKey
}

// answerAsksDTX tells whether the server's answer asks for Opus DTX
// (usedtx=1 in the Opus fmtp, RFC 7587), as a browser reads it.
func (l *leg) answerAsksDTX() bool {
	l.mu.Lock()
	pc := l.pc
	l.mu.Unlock()
	if pc == nil || pc.RemoteDescription() == nil {
		return false
	}
	sdp := pc.RemoteDescription().SDP
	for line := range strings.Lines(sdp) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "a=fmtp:"+strconv.Itoa(payloadTypeOpus)+" ")
		if ok {
			return strings.Contains(rest, "usedtx=1")
		}
	}
	return false
}

// sendAudio sends the role's sound, replaying its loop of 20 ms Opus
// frames (the speech schedule's from the wall clock's position), each
// with its audio level, until ctx ends; nothing while the microphone is
// off, nor for the frames DTX does not send. The loop goes on while
// muted, like time.
func (l *leg) sendAudio(ctx context.Context, w *sampleWriter, sound *audioLoop) {
	w.ticks = uint32(codec.FrameSamples)
	ticker := time.NewTicker(audioFrame)
	defer ticker.Stop()
	skipped, pos := 0, -1
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		next := l.soundPosition(sound, pos)
		if pos >= 0 {
			skipped += (next - pos - 1 + len(sound.packets)) % len(sound.packets) // ticks the ticker dropped
		}
		pos = next
		pkt, level := sound.packets[pos], sound.levels[pos]
		if pkt == nil || l.out.mic.off.Load() || l.out.stalled.Load() {
			skipped++
			continue
		}
		if skipped > 0 {
			w.skip(skipped)
			skipped = 0
		}
		if err := w.writeLevel(pkt, level); err != nil {
			l.log.Debug("write audio", "err", err)
		}
		l.an.countAudioSent()
	}
}

// soundPosition is the loop frame to send after pos (-1: the first): the
// next, or for speech the wall clock's, so that the parties keep to the
// schedule's turns.
func (l *leg) soundPosition(sound *audioLoop, pos int) int {
	if l.cfg.Audio != AudioSpeech {
		return (pos + 1) % len(sound.packets)
	}
	n := len(sound.packets)
	frame := int(time.Now().UnixMilli() / audioFrame.Milliseconds())
	wall := (frame - speechOffset(l.role)) % n
	if ahead := (wall - pos + n) % n; pos >= 0 && (ahead == 0 || ahead > n/2) {
		return (pos + 1) % n // the ticker ran a little early: never send a frame twice, nor go back
	}
	return wall
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
