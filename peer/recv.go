package peer

import (
	"errors"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"github.com/threeway-mcu/threeway/codec"
)

const (
	// Sample builder limits: how many packets a sample may wait for a
	// late one, and how long.
	videoMaxLate  = 128
	videoMaxDelay = 500 * time.Millisecond
	audioMaxLate  = 16
	audioMaxDelay = 200 * time.Millisecond
)

// onTrack starts a receive loop for each track the server sends on the leg.
// Only the video on the camera's transceiver is the composed picture; any
// other video track is read and discarded.
func (l *leg) onTrack(pc *webrtc.PeerConnection, track *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	l.log.Debug("track", "kind", track.Kind().String(), "codec", track.Codec().MimeType)
	l.mu.Lock()
	main := r == l.mainVideo
	if main {
		l.mainSSRC = track.SSRC()
	}
	l.mu.Unlock()
	l.tasks.spawn(func() {
		switch {
		case track.Kind() == webrtc.RTPCodecTypeAudio:
			l.receiveAudio(track)
		case main:
			l.receiveVideo(pc, track)
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
// asks for it), as a browser would. Pictures are decoded through the
// process's decode share: a viewer whose stream another one here already
// decoded, byte for byte, reuses that analysis.
func (l *leg) receiveVideo(pc *webrtc.PeerConnection, track *webrtc.TrackRemote) {
	v := &viewer{decodes: decodes, group: l.call}
	defer v.close()
	sb := samplebuilder.New(videoMaxLate, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(videoMaxDelay))
	var arrivals arrivalRing
	var loss lossCounter
	waitKey := true
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		arrivals.packet(pkt.Timestamp, time.Now())
		loss.packet(pkt.SequenceNumber)
		l.an.videoPackets(&loss)
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if s.PrevDroppedPackets > 0 {
				waitKey = true
			}
			key := len(s.Data) > 0 && s.Data[0]&1 == 0 // VP8 frame tag: 0 = key frame
			if waitKey && !key {
				l.an.countSkipped()
				l.requestKeyframe(pc, track.SSRC())
				continue
			}
			waitKey = false
			pic, err := v.decode(s.Data, key)
			switch {
			case errors.Is(err, codec.ErrNoFrame):
				continue
			case errors.Is(err, errNoReference):
				waitKey = true // as after a loss
				l.an.countSkipped()
				l.requestKeyframe(pc, track.SSRC())
				continue
			case err != nil:
				l.log.Debug("decode video", "err", err)
				l.an.countDecodeError()
				waitKey = true
				l.requestKeyframe(pc, track.SSRC())
				continue
			}
			l.an.picture(pic, arrivals.lookup(s.PacketTimestamp))
		}
	}
}

// receiveAudio keeps the server's audio packets until the track ends,
// undecoded: the tone levels are measured over the last second only when
// asked for (Stats), so a peer decodes audio only as much as its checks
// need. What a receiver would have concealed is judged as they arrive
// (playout).
func (l *leg) receiveAudio(track *webrtc.TrackRemote) {
	sb := samplebuilder.New(audioMaxLate, &codecs.OpusPacket{}, 48000, samplebuilder.WithMaxTimeDelay(audioMaxDelay))
	var loss lossCounter
	var play playout
	var pkts []heardPacket
	var lastTS uint32
	started := false
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		loss.packet(pkt.SequenceNumber)
		play.packet(pkt.SequenceNumber, pkt.Timestamp, time.Now(), opusLBRR(pkt.Payload))
		sb.Push(pkt)
		pkts = pkts[:0]
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			// The sample builder makes a new Data for every sample.
			heard := heardPacket{data: s.Data, dropped: int(s.PrevDroppedPackets)}
			if started {
				// RTP time that passed with no packet lost is DTX silence.
				frames := int(int32(s.PacketTimestamp-lastTS)) / codec.FrameSamples
				heard.silentBefore = max(0, frames-1-heard.dropped)
			}
			lastTS, started = s.PacketTimestamp, true
			pkts = append(pkts, heard)
		}
		l.an.audio(&loss, &play, pkts)
	}
}

// requestKeyframe sends a PLI for a received video track, at most once per
// pliInterval.
func (l *leg) requestKeyframe(pc *webrtc.PeerConnection, ssrc webrtc.SSRC) {
	if !l.an.pliDue(time.Now()) {
		return
	}
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}}); err != nil {
		l.log.Debug("send PLI", "err", err)
	}
}

// mainTrack returns the PeerConnection and the composed picture's SSRC
// while the leg is live (zero SSRC before the picture's first packet).
func (l *leg) mainTrack() (*webrtc.PeerConnection, webrtc.SSRC) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return nil, 0
	}
	return l.pc, l.mainSSRC
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

// lossCounter counts an RTP stream's packets and losses as RFC 3550's
// receiver reports do: the packets expected from the sequence numbers
// (first to highest) minus those received, so a retransmission that
// fills a gap in time is not a loss, and reordering is none either.
type lossCounter struct {
	started        bool
	first, highest uint32 // extended sequence numbers
	received       int
}

// packet notes a packet with sequence number seq.
func (c *lossCounter) packet(seq uint16) {
	if !c.started {
		c.started, c.first, c.highest = true, uint32(seq), uint32(seq)
		c.received = 1
		return
	}
	c.received++
	if d := int16(seq - uint16(c.highest)); d > 0 { // wraps at 2^16
		c.highest += uint32(d)
	}
}

// lost is the number of packets missing so far (never negative:
// duplicates do not make up for losses elsewhere).
func (c *lossCounter) lost() int {
	if !c.started {
		return 0
	}
	return max(0, int(c.highest-c.first+1)-c.received)
}
