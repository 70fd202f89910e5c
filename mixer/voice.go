package mixer

import (
	"fmt"
	"sync"

	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
)

const (
	// audioMaxLate is how many packets the sample builder waits for a
	// missing audio packet.
	audioMaxLate = 5
	// jitterTarget is how many 20 ms frames a voice buffers before it
	// plays, and again after an underrun.
	jitterTarget = 2
	// jitterMax bounds the buffer; a fuller one drops its oldest frame so
	// that latency cannot creep up.
	jitterMax = 6
	// maxConceal is how many lost frames in a row are concealed before
	// the voice counts as silent.
	maxConceal = 3
	// maxOpusPacket is the largest Opus packet (RFC 6716, 3.4).
	maxOpusPacket = 1275
)

// voice is one party's inbound audio: RTP in on the ingest goroutine, a
// small jitter buffer of Opus packets, decoding on the mixer's clock.
type voice struct {
	id string

	// Owned by the ingest goroutine.
	packets packetPool
	builder *frameBuilder

	mu       sync.Mutex
	ring     [jitterMax]opusPacket
	head, n  int
	playing  bool
	overruns int
	decoder  *codec.OpusDecoder // closed (nil) once the voice's track ended

	// Owned by the audio clock.
	muted     bool
	concealed int
	pcm       []int16 // the voice's current 20 ms
	scratch   []int16 // decoder output, up to 120 ms
}

type opusPacket struct {
	data [maxOpusPacket]byte
	n    int
}

func newVoice(id string) (*voice, error) {
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		return nil, fmt.Errorf("voice %s: %w", id, err)
	}
	v := &voice{
		id:      id,
		decoder: dec,
		pcm:     make([]int16, codec.FrameSamples),
		scratch: make([]int16, codec.FrameSamples*6),
	}
	v.builder = newFrameBuilder(audioMaxLate, &codecs.OpusPacket{}, codec.SampleRate, &v.packets, lastOfAudioFrame)
	return v, nil
}

// ingest reads r until it fails, buffering each Opus packet.
func (v *voice) ingest(r RTPReader) error {
	var garbage int
	for {
		pkt, err := v.packets.readPacket(r, &garbage)
		if err != nil {
			return err
		}
		v.builder.push(pkt)
		for s := v.builder.pop(); s != nil; s = v.builder.pop() {
			v.buffer(s.Data)
		}
	}
}

// buffer appends one packet, dropping the oldest when full.
func (v *voice) buffer(data []byte) {
	if len(data) == 0 || len(data) > maxOpusPacket {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.n == jitterMax {
		v.head = (v.head + 1) % jitterMax
		v.n--
		v.overruns++
	}
	slot := &v.ring[(v.head+v.n)%jitterMax]
	slot.n = copy(slot.data[:], data)
	v.n++
}

// pop takes the oldest buffered packet into dst, once enough are buffered
// to ride out jitter. ok is false when there is nothing to play.
func (v *voice) pop(dst []byte) (n int, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.playing {
		if v.n < jitterTarget {
			return 0, false
		}
		v.playing = true
	}
	if v.n == 0 {
		v.playing = false
		return 0, false
	}
	slot := &v.ring[v.head]
	n = copy(dst, slot.data[:slot.n])
	v.head = (v.head + 1) % jitterMax
	v.n--
	return n, true
}

// next fills v.pcm with the voice's next 20 ms and reports whether it holds
// sound: decoded, concealed after a loss, or nothing (silent).
func (v *voice) next(packet []byte) bool {
	n, ok := v.pop(packet)
	// The decoder is used under v.mu so that the ingest side can close it
	// when the track ends, whatever the clock is doing.
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.decoder == nil {
		return false
	}
	var samples int
	var err error
	switch {
	case ok:
		samples, err = v.decoder.Decode(packet[:n], v.scratch)
		v.concealed = 0
	case v.concealed < maxConceal:
		samples, err = v.decoder.Conceal(v.scratch)
		v.concealed++
	default:
		return false
	}
	if err != nil || samples < codec.FrameSamples {
		// Frames of other durations are not used by WebRTC senders;
		// treat them like loss rather than play a short frame.
		return false
	}
	copy(v.pcm, v.scratch[:codec.FrameSamples])
	return true
}

// skip drops the voice's next 20 ms unheard.
func (v *voice) skip(packet []byte) {
	v.pop(packet)
	v.concealed = maxConceal
}

// close frees the decoder; the voice is silent from then on.
func (v *voice) close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.decoder != nil {
		v.decoder.Close()
		v.decoder = nil
	}
}
