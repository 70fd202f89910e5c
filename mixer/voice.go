package mixer

import (
	"fmt"
	"sync"

	"github.com/threeway-mcu/threeway/codec"
)

const (
	// maxConceal is how many lost frames in a row are concealed before
	// the voice counts as silent.
	maxConceal = 3
)

// voice is one party's inbound audio: RTP in on the ingest goroutine, a
// small jitter buffer of Opus packets, decoding on the mixer's clock.
type voice struct {
	id string

	// Owned by the ingest goroutine.
	packets packetPool
	observe Observer

	mu      sync.Mutex
	jitter  playoutBuffer
	decoder *codec.OpusDecoder // closed (nil) once the voice's track ended

	// Owned by the audio clock.
	muted     bool
	concealed int
	pcm       []int16 // the voice's current 20 ms
	scratch   []int16 // decoder output, up to 120 ms
}

func newVoice(id string, observe Observer) (*voice, error) {
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		return nil, fmt.Errorf("voice %s: %w", id, err)
	}
	return &voice{
		id:      id,
		observe: observe,
		decoder: dec,
		pcm:     make([]int16, codec.FrameSamples),
		scratch: make([]int16, codec.FrameSamples*6),
	}, nil
}

// ingest reads r until it fails, buffering each Opus packet, and returns
// the read error: never nil, so IngestAudio wraps it as is. Every RTP
// packet carries one whole Opus frame (RFC 7587), so no sample building is
// needed: the jitter buffer orders them.
func (v *voice) ingest(r RTPReader) error {
	for {
		pkt, err := v.packets.readPacket(r, v.observe)
		if err != nil {
			return err
		}
		v.buffer(pkt.SequenceNumber, pkt.Payload)
		v.packets.put(pkt)
	}
}

// buffer queues one packet for the clock; empty and oversized payloads are
// no Opus frame and are dropped.
func (v *voice) buffer(seq uint16, data []byte) {
	if len(data) == 0 || len(data) > maxOpusPacket {
		v.observe.PacketDiscarded()
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.jitter.push(seq, data)
}

// next fills v.pcm with the voice's next 20 ms and reports whether it holds
// sound: decoded, concealed after a loss, or nothing (silent).
// A lost frame is rebuilt from the next packet's in-band FEC when that
// packet is here and carries it, and concealed otherwise.
func (v *voice) next(packet []byte) bool {
	// The decoder is used under v.mu so that the ingest side can close it
	// when the track ends, whatever the clock is doing.
	v.mu.Lock()
	defer v.mu.Unlock()
	n, what := v.jitter.pop(packet)
	if v.decoder == nil {
		return false
	}
	var samples int
	var err error
	switch {
	case what == playoutPacket:
		samples, err = v.decoder.Decode(packet[:n], v.scratch)
		v.concealed = 0
	case what == playoutLost:
		if n, ok := v.jitter.peek(packet); ok {
			samples, err = v.decoder.DecodeFEC(packet[:n], v.scratch)
		} else {
			samples, err = v.decoder.Conceal(v.scratch)
		}
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
	v.mu.Lock()
	defer v.mu.Unlock()
	v.jitter.pop(packet)
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
