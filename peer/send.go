package peer

import (
	"context"
	"fmt"
	"math/rand/v2"
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
}

// sampleWriter packetizes encoded frames onto a local track. Unlike
// pion's TrackLocalStaticSample it can leave a gap in RTP time without
// one in sequence numbers, which is what a browser's stream looks like
// after its track was off for a while. Only the sending goroutine uses it.
type sampleWriter struct {
	track *webrtc.TrackLocalStaticRTP
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
	track, err := webrtc.NewTrackLocalStaticRTP(capability, id, stream)
	if err != nil {
		return nil, fmt.Errorf("peer: %s track: %w", id, err)
	}
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

// startSenders creates the encoders and starts the camera and microphone
// loops of l, which run until the leg ends. It does nothing the second
// time.
func (p *Peer) startSenders(l *leg) error {
	p.mu.Lock()
	started := l.sending || l.ended || p.closed
	l.sending = true
	p.mu.Unlock()
	if started {
		return nil
	}
	enc, err := p.newVideoEncoder(p.cfg.GarbageVideo)
	if err != nil {
		return err
	}
	opus, err := codec.NewOpusEncoder(opusBitrate)
	if err != nil {
		if enc != nil {
			enc.Close()
		}
		return fmt.Errorf("peer: audio encoder: %w", err)
	}
	if !p.spawn(func() { p.sendVideo(l.ctx, l, &l.camera, l.video, enc, l.role, true) }) && enc != nil {
		enc.Close()
	}
	if !p.spawn(func() { p.sendAudio(l.ctx, l, opus) }) {
		opus.Close()
	}
	return nil
}

// newVideoEncoder returns an encoder for the configured size, or nil for
// garbage.
func (p *Peer) newVideoEncoder(garbage bool) (*codec.VP8Encoder, error) {
	if garbage {
		return nil, nil
	}
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{
		Width: p.cfg.Width, Height: p.cfg.Height, FPS: p.cfg.FPS,
		BitrateKbps: p.cfg.VideoBitrateKbps, CPUUsed: -8,
	})
	if err != nil {
		return nil, fmt.Errorf("peer: video encoder: %w", err)
	}
	return enc, nil
}

// sendVideo sends one frame per tick until ctx ends: pattern (the role's
// on the camera, ScreenKey on a screen share) with the frame number, or
// random bytes with a nil enc. While src is off or the leg stalls nothing
// is sent; the first frame after is a key frame. It owns enc and closes
// it.
func (p *Peer) sendVideo(ctx context.Context, l *leg, src *source, w *sampleWriter, enc *codec.VP8Encoder,
	pattern string, camera bool) {
	if enc != nil {
		defer enc.Close()
	}
	interval := time.Second / time.Duration(p.cfg.FPS)
	w.ticks = uint32(90000 / p.cfg.FPS)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	buf := make([]byte, 0, maxVP8Frame)
	var n uint16
	skipped := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if src.off.Load() || l.stalled.Load() {
			skipped++
			continue
		}
		if skipped > 0 {
			w.skip(skipped)
			skipped = 0
			src.forceKey.Store(true)
		}
		at := time.Now()
		var data []byte
		if enc == nil {
			data = buf[:500+rand.IntN(2000)]
			for i := range data {
				data[i] = byte(rand.Uint32())
			}
		} else {
			DrawPattern(enc.Input(), pattern, n)
			out, _, err := enc.Encode(buf, src.forceKey.Swap(false))
			if err != nil {
				p.log.Warn("encode video", "err", err)
				skipped++
				continue
			}
			buf, data = out[:0], out
		}
		if len(data) == 0 {
			skipped++ // the encoder dropped the frame
			continue
		}
		p.recordSent(l, camera, n, at)
		if err := w.write(data); err != nil {
			p.log.Debug("write video", "err", err)
		}
		n++
	}
}

// recordSent stores the capture time of a camera frame and counts it.
func (p *Peer) recordSent(l *leg, camera bool, frame uint16, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !camera {
		l.stats.ScreenFramesSent++
		return
	}
	l.sent[int(frame)%historySize] = stamp{frame, at}
	l.stats.FramesSent++
}

// sendAudio sends the role's tone as 20 ms Opus frames until ctx ends,
// nothing while the microphone is off. It owns enc.
func (p *Peer) sendAudio(ctx context.Context, l *leg, enc *codec.OpusEncoder) {
	defer enc.Close()
	w := l.audio
	w.ticks = uint32(codec.FrameSamples)
	tone := newToneGen(ToneHz(l.role))
	pcm := make([]int16, codec.FrameSamples)
	buf := make([]byte, 0, maxOpusPacket)
	ticker := time.NewTicker(audioFrame)
	defer ticker.Stop()
	skipped := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		tone.fill(pcm) // the tone goes on while muted, like time
		if l.mic.off.Load() || l.stalled.Load() {
			skipped++
			continue
		}
		if skipped > 0 {
			w.skip(skipped)
			skipped = 0
		}
		pkt, err := enc.Encode(pcm, buf)
		if err != nil {
			p.log.Warn("encode audio", "err", err)
			skipped++
			continue
		}
		if err := w.write(pkt); err != nil {
			p.log.Debug("write audio", "err", err)
		}
		p.mu.Lock()
		l.stats.AudioFramesSent++
		p.mu.Unlock()
	}
}

// handleSenderRTCP reacts to the server's feedback on a video track of
// ours: a PLI or FIR makes src's next frame a key frame.
func (p *Peer) handleSenderRTCP(l *leg, src *source, pkts []rtcp.Packet) {
	for _, pkt := range pkts {
		switch pkt.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			src.forceKey.Store(true)
			p.mu.Lock()
			l.stats.PLIsReceived++
			p.mu.Unlock()
		case *rtcp.TransportLayerNack:
			p.mu.Lock()
			l.stats.NACKsReceived++
			p.mu.Unlock()
		}
	}
}

// RequestKeyFrame sends the server a PLI for the picture this peer
// receives, as a browser does after loss (at most once per 500 ms, like
// the peer's own requests). It returns ErrNotInCall before the picture's
// first packet.
func (p *Peer) RequestKeyFrame() error {
	p.mu.Lock()
	l := p.leg
	var pc *webrtc.PeerConnection
	var ssrc webrtc.SSRC
	if l != nil && !l.ended {
		pc, ssrc = l.pc, l.mainSSRC
	}
	p.mu.Unlock()
	if pc == nil || ssrc == 0 {
		return ErrNotInCall
	}
	p.requestKeyFrame(l, pc, ssrc)
	return nil
}

// requestKeyFrame sends a PLI for a received video track, at most once per
// pliInterval.
func (p *Peer) requestKeyFrame(l *leg, pc *webrtc.PeerConnection, ssrc webrtc.SSRC) {
	now := time.Now()
	p.mu.Lock()
	if now.Sub(l.lastPLI) < pliInterval {
		p.mu.Unlock()
		return
	}
	l.lastPLI = now
	l.stats.PLIsSent++
	p.mu.Unlock()
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}}); err != nil {
		p.log.Debug("send PLI", "err", err)
	}
}

// pliInterval rate-limits our key frame requests.
const pliInterval = 500 * time.Millisecond
