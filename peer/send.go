package peer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
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
)

// startSenders creates the encoders and starts the video and audio send
// loops, which run until Drop or Close.
func (p *Peer) startSenders() error {
	var enc *codec.VP8Encoder
	if !p.cfg.GarbageVideo {
		var err error
		enc, err = codec.NewVP8Encoder(codec.VP8EncoderParams{
			Width: p.cfg.Width, Height: p.cfg.Height, FPS: p.cfg.FPS,
			BitrateKbps: p.cfg.VideoBitrateKbps, CPUUsed: -8,
		})
		if err != nil {
			return fmt.Errorf("peer: video encoder: %w", err)
		}
	}
	opus, err := codec.NewOpusEncoder(opusBitrate)
	if err != nil {
		if enc != nil {
			enc.Close()
		}
		return fmt.Errorf("peer: audio encoder: %w", err)
	}
	p.wg.Add(2)
	go p.sendVideo(p.mediaCtx, enc)
	go p.sendAudio(p.mediaCtx, opus)
	return nil
}

// sendVideo sends one frame per tick: the role's pattern with the frame
// number, or random bytes with GarbageVideo. It owns enc (nil for
// garbage) and closes it.
func (p *Peer) sendVideo(ctx context.Context, enc *codec.VP8Encoder) {
	defer p.wg.Done()
	if enc != nil {
		defer enc.Close()
	}
	interval := time.Second / time.Duration(p.cfg.FPS)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	buf := make([]byte, 0, maxVP8Frame)
	var n uint16
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		at := time.Now()
		var data []byte
		if enc == nil {
			data = buf[:500+rand.IntN(2000)]
			for i := range data {
				data[i] = byte(rand.Uint32())
			}
		} else {
			DrawPattern(enc.Input(), p.cfg.Role, n)
			out, _, err := enc.Encode(buf, p.forceKey.Swap(false))
			if err != nil {
				p.log.Warn("encode video", "err", err)
				continue
			}
			buf, data = out[:0], out
		}
		if len(data) == 0 {
			continue
		}
		p.recordSent(n, at)
		if err := p.videoTrack.WriteSample(media.Sample{Data: data, Duration: interval}); err != nil {
			p.log.Debug("write video sample", "err", err)
		}
		n++
	}
}

// sendAudio sends the role's tone as 20 ms Opus frames. It owns enc.
func (p *Peer) sendAudio(ctx context.Context, enc *codec.OpusEncoder) {
	defer p.wg.Done()
	defer enc.Close()
	tone := newToneGen(ToneHz(p.cfg.Role))
	pcm := make([]int16, codec.FrameSamples)
	buf := make([]byte, 0, maxOpusPacket)
	ticker := time.NewTicker(audioFrame)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		tone.fill(pcm)
		pkt, err := enc.Encode(pcm, buf)
		if err != nil {
			p.log.Warn("encode audio", "err", err)
			continue
		}
		if err := p.audioTrack.WriteSample(media.Sample{Data: pkt, Duration: audioFrame}); err != nil {
			p.log.Debug("write audio sample", "err", err)
		}
		p.mu.Lock()
		p.stats.AudioFramesSent++
		p.mu.Unlock()
	}
}

// handleSenderRTCP reacts to the server's feedback on our video: a PLI or
// FIR makes the next frame a key frame.
func (p *Peer) handleSenderRTCP(pkts []rtcp.Packet) {
	for _, pkt := range pkts {
		switch pkt.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			p.forceKey.Store(true)
			p.mu.Lock()
			p.stats.PLIsReceived++
			p.mu.Unlock()
		}
	}
}

// requestKeyFrame sends a PLI for a received video track, at most once per
// pliInterval.
func (p *Peer) requestKeyFrame(pc *webrtc.PeerConnection, ssrc webrtc.SSRC) {
	now := time.Now()
	p.mu.Lock()
	if now.Sub(p.lastPLI) < pliInterval {
		p.mu.Unlock()
		return
	}
	p.lastPLI = now
	p.stats.PLIsSent++
	p.mu.Unlock()
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}}); err != nil {
		p.log.Debug("send PLI", "err", err)
	}
}

// pliInterval rate-limits our key frame requests.
const pliInterval = 500 * time.Millisecond
