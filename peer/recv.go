package peer

import (
	"errors"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"github.com/threeway-mcu/threeway/codec"
)

const (
	// Sample builder limits: how many packets a sample may wait for a
	// late one, and how long.
	videoMaxLate   = 128
	videoMaxDelay  = 500 * time.Millisecond
	audioMaxLate   = 16
	audioMaxDelay  = 200 * time.Millisecond
	maxOpusSamples = 5760 // 120 ms, the longest Opus packet
	// maxConcealed bounds the frames concealed for one gap.
	maxConcealed = 5
)

// onTrack starts a receive loop for each track the server sends on l.
// Only the video on the camera's transceiver is the composed picture; any
// other video track is read and discarded.
func (p *Peer) onTrack(l *leg, pc *webrtc.PeerConnection, track *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	p.log.Debug("track", "kind", track.Kind().String(), "codec", track.Codec().MimeType)
	p.mu.Lock()
	main := r == l.mainVideo
	if main {
		l.mainSSRC = track.SSRC()
	}
	p.mu.Unlock()
	p.spawn(func() {
		switch {
		case track.Kind() == webrtc.RTPCodecTypeAudio:
			p.receiveAudio(l, track)
		case main:
			p.receiveVideo(l, pc, track)
		default:
			for {
				if _, _, err := track.ReadRTP(); err != nil {
					return
				}
			}
		}
	})
}

// receiveVideo decodes and analyses the server's video until the track
// ends. Frames are skipped from a loss until the next key frame (a PLI
// asks for it), as a browser would.
func (p *Peer) receiveVideo(l *leg, pc *webrtc.PeerConnection, track *webrtc.TrackRemote) {
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		p.log.Error("video decoder", "err", err)
		return
	}
	defer dec.Close()
	sb := samplebuilder.New(videoMaxLate, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(videoMaxDelay))
	frame := &codec.Frame{}
	var scan tileScanner
	var arrivals arrivalRing
	waitKey := true
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		arrivals.packet(pkt.Timestamp, time.Now())
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if s.PrevDroppedPackets > 0 {
				waitKey = true
			}
			key := len(s.Data) > 0 && s.Data[0]&1 == 0 // VP8 frame tag: 0 = key frame
			if waitKey && !key {
				p.countSkipped(l)
				p.requestKeyFrame(l, pc, track.SSRC())
				continue
			}
			waitKey = false
			if err := dec.Decode(s.Data, frame); err != nil {
				if errors.Is(err, codec.ErrNoFrame) {
					continue
				}
				p.log.Debug("decode video", "err", err)
				p.countDecodeError(l)
				waitKey = true
				p.requestKeyFrame(l, pc, track.SSRC())
				continue
			}
			p.analyse(l, frame, &scan, arrivals.lookup(s.PacketTimestamp))
		}
	}
}

// analyse records a decoded picture: its size and where each role's tile
// is and which frame it shows. arrived is when the picture's last packet
// came in (zero if unknown).
func (p *Peer) analyse(l *leg, f *codec.Frame, scan *tileScanner, arrived time.Time) {
	tiles := scan.find(f)
	luma := pictureLuma(f)
	now := time.Now()
	if arrived.IsZero() {
		arrived = now
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.stats.FramesDecoded == 0 {
		l.stats.FirstFrameAt = now
	}
	l.stats.FramesDecoded++
	l.stats.Width, l.stats.Height = f.Width, f.Height
	l.stats.MeanLuma = luma
	for role, t := range tiles {
		t.ReadAt = now
		tiles[role] = t
		if t.FrameNumber < 0 {
			continue
		}
		h := l.received[role]
		if h == nil {
			h = new([historySize]stamp)
			l.received[role] = h
		}
		n := uint16(t.FrameNumber)
		if s := &h[int(n)%historySize]; s.at.IsZero() || s.frame != n {
			*s = stamp{n, arrived}
		}
	}
	l.stats.Tiles = tiles
}

func (p *Peer) countSkipped(l *leg) {
	p.mu.Lock()
	l.stats.FramesSkipped++
	p.mu.Unlock()
}

func (p *Peer) countDecodeError(l *leg) {
	p.mu.Lock()
	l.stats.DecodeErrors++
	p.mu.Unlock()
}

// receiveAudio decodes the server's audio into the last second of PCM
// until the track ends, concealing lost frames.
func (p *Peer) receiveAudio(l *leg, track *webrtc.TrackRemote) {
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		p.log.Error("audio decoder", "err", err)
		return
	}
	defer dec.Close()
	sb := samplebuilder.New(audioMaxLate, &codecs.OpusPacket{}, 48000, samplebuilder.WithMaxTimeDelay(audioMaxDelay))
	pcm := make([]int16, maxOpusSamples)
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			p.decodeAudio(l, dec, s, pcm)
		}
	}
}

// decodeAudio decodes one Opus sample into the PCM history.
func (p *Peer) decodeAudio(l *leg, dec *codec.OpusDecoder, s *media.Sample, pcm []int16) {
	for range min(int(s.PrevDroppedPackets), maxConcealed) {
		n, err := dec.Conceal(pcm[:codec.FrameSamples])
		if err != nil {
			break
		}
		p.mu.Lock()
		l.pcm.write(pcm[:n])
		p.mu.Unlock()
	}
	n, err := dec.Decode(s.Data, pcm)
	if err != nil {
		p.log.Debug("decode audio", "err", err)
		if n, err = dec.Conceal(pcm[:codec.FrameSamples]); err != nil {
			return
		}
	}
	p.mu.Lock()
	l.pcm.write(pcm[:n])
	l.stats.AudioFrames++
	p.mu.Unlock()
}

// pcmRing keeps the last second of received audio.
type pcmRing struct {
	buf  []int16
	next int // where the next sample goes
	full bool
}

func (r *pcmRing) write(pcm []int16) {
	if r.buf == nil {
		r.buf = make([]int16, codec.SampleRate)
	}
	for len(pcm) > 0 {
		n := copy(r.buf[r.next:], pcm)
		pcm = pcm[n:]
		r.next += n
		if r.next == len(r.buf) {
			r.next, r.full = 0, true
		}
	}
}

// snapshot returns the history, oldest sample first.
func (r *pcmRing) snapshot() []int16 {
	if !r.full {
		return append([]int16(nil), r.buf[:r.next]...)
	}
	out := make([]int16, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// arrivalRing remembers when the last packet of each recent RTP timestamp
// (picture) arrived, so that receive times exclude the sample builder's
// hold-back (it releases a picture only when the next one's first packet
// arrives, one frame interval later) and decoding.
type arrivalRing struct {
	ts   [32]uint32
	at   [32]time.Time
	last int
}

// packet notes a packet of picture ts arriving at at.
func (r *arrivalRing) packet(ts uint32, at time.Time) {
	for i := range r.ts {
		if r.ts[i] == ts && !r.at[i].IsZero() {
			r.at[i] = at
			return
		}
	}
	r.last = (r.last + 1) % len(r.ts)
	r.ts[r.last], r.at[r.last] = ts, at
}

// lookup returns when picture ts's last packet arrived, or zero.
func (r *arrivalRing) lookup(ts uint32) time.Time {
	for i := range r.ts {
		if r.ts[i] == ts && !r.at[i].IsZero() {
			return r.at[i]
		}
	}
	return time.Time{}
}

// pictureLuma averages f's brightness over every fourth pixel of every fourth
// row, which is plenty for telling a dark placeholder from a picture.
func pictureLuma(f *codec.Frame) float64 {
	sum, n := 0, 0
	for y := 0; y < f.Height; y += 4 {
		row := f.Y[y*f.Width : (y+1)*f.Width]
		for x := 0; x < len(row); x += 4 {
			sum += int(row[x])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}
