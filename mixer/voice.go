package mixer

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtp"

	"github.com/threeway-mcu/threeway/codec"
)

const (
	// maxConceal is how many lost frames in a row are concealed before
	// the voice counts as silent.
	maxConceal = 3
	// quietLevel: a packet whose audio level (RFC 6464) is this many dB
	// or more below full scale, and that its sender's voice activity
	// detection did not flag, is silence; -50 dBov is well below room
	// noise picked up by a headset.
	quietLevel = 50
)

// voice is one party's inbound audio: RTP in on the ingest goroutine, a
// small jitter buffer of packets (Opus, or 20 ms of G.711 from a phone),
// decoding on the mixer's clock.
type voice struct {
	id string

	// Owned by the ingest goroutine.
	packets  packetPool
	observe  Observer
	now      func() time.Time // the mixer's clock, which the audio ticks on
	levelExt uint8            // the RTP header extension id of the audio level; 0: none

	mu      sync.Mutex
	jitter  playoutBuffer
	codec   AudioCodec
	decoder voiceDecoder // closed (nil) once the voice's track ended

	// Owned by the audio clock.
	muted   bool
	gap     int        // frames concealed in a row
	made    voiceTally // how the voice's frames were made
	pcm     []int16    // the voice's current 20 ms
	scratch []int16    // decoder output, up to 120 ms
}

// voiceTally counts a voice's 20 ms frames by how they were made, since
// its first packet played.
type voiceTally struct {
	decoded   int // from their own packets
	rebuilt   int // from the next packet (its in-band FEC, or concealed by libopus if it has none)
	concealed int // by libopus's loss concealment
	silent    int // nothing: concealed too long, or an undecodable packet
	quiet     int // not decoded: the sender said it is silence (DTX, or its audio level)
}

// voiceDecoder turns a voice's packets into 20 ms of 48 kHz PCM; libopus
// and G.711 (which rebuilds nothing and conceals with silence) are two.
type voiceDecoder interface {
	Decode(packet []byte, pcm []int16) (int, error)
	DecodeFEC(next []byte, pcm []int16) (int, error)
	Conceal(pcm []int16) (int, error)
	Close()
}

func newVoice(id string, f VoiceFormat, observe Observer, now func() time.Time) (*voice, error) {
	dec, err := f.Codec.newDecoder()
	if err != nil {
		return nil, fmt.Errorf("voice %s: %w", id, err)
	}
	return &voice{
		id:       id,
		codec:    f.Codec,
		levelExt: f.LevelExtension,
		observe:  observe,
		now:      now,
		decoder:  dec,
		pcm:      make([]int16, codec.FrameSamples),
		scratch:  make([]int16, codec.FrameSamples*6),
	}, nil
}

// ingest reads r until it fails, buffering each packet, and returns the
// read error: never nil, so IngestAudio wraps it as is. Every RTP packet
// carries one whole Opus frame (RFC 7587), or the 20 ms of G.711 the
// phone's session asked for, so no sample building is needed: the jitter
// buffer orders them.
func (v *voice) ingest(r RTPReader) error {
	for {
		pkt, err := v.packets.readPacket(r, v.observe)
		if err != nil {
			return err
		}
		v.bufferLevel(pkt.SequenceNumber, pkt.Timestamp, v.now(), pkt.Payload, v.levelSaysQuiet(pkt))
		v.packets.put(pkt)
	}
}

// levelSaysQuiet reports whether pkt's audio level extension marks it as
// silence: no voice activity and below quietLevel.
func (v *voice) levelSaysQuiet(pkt *rtp.Packet) bool {
	if v.levelExt == 0 {
		return false
	}
	raw := pkt.GetExtension(v.levelExt)
	if raw == nil {
		return false
	}
	return len(raw) == 1 && levelIsQuiet(raw[0])
}

// levelIsQuiet reads an RFC 6464 level byte: no voice activity flagged,
// and quietLevel or more below full scale.
func levelIsQuiet(b byte) bool {
	voice, level := b&0x80 != 0, b&0x7f
	return !voice && level >= quietLevel
}

// buffer queues one packet, with sequence number seq and RTP timestamp ts,
// which arrived at at, for the clock; a payload that is no frame of the
// voice's codec (empty, oversized, or G.711 of another length than 20 ms)
// is dropped, counted.
func (v *voice) buffer(seq uint16, ts uint32, at time.Time, data []byte) {
	v.bufferLevel(seq, ts, at, data, false)
}

// bufferLevel is buffer for a packet whose audio level may say it is
// silence (quiet); a DTX frame is silence whatever its level.
func (v *voice) bufferLevel(seq uint16, ts uint32, at time.Time, data []byte, quiet bool) {
	if !v.codec.isFrame(data) {
		v.observe.PacketDiscarded()
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.jitter.push(seq, ts, at, data, quiet || v.codec.isDTX(data))
}

// next fills v.pcm with the voice's next 20 ms and reports whether it holds
// sound: decoded, rebuilt or concealed after a loss, or nothing (silent).
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
	tally := &v.made.concealed
	switch {
	case what == playoutQuiet:
		// Nothing to decode, and nothing to conceal until the next
		// packet: a sender in DTX sends none while it is silent.
		v.gap = maxConceal
		v.count(&v.made.quiet)
		v.observe.AudioFrame(AudioQuiet)
		return false
	case what == playoutPacket:
		samples, err = v.decoder.Decode(packet[:n], v.scratch)
		v.gap, tally = 0, &v.made.decoded
	case what == playoutLost:
		if n, ok := v.jitter.peek(packet); ok {
			samples, err = v.decoder.DecodeFEC(packet[:n], v.scratch)
			tally = &v.made.rebuilt
		} else {
			samples, err = v.decoder.Conceal(v.scratch)
		}
		v.gap = 0
	case v.gap < maxConceal:
		samples, err = v.decoder.Conceal(v.scratch)
		v.gap++
	default:
		v.count(&v.made.silent)
		return false
	}
	if err != nil || samples < codec.FrameSamples {
		// Frames of other durations are not used by WebRTC senders;
		// treat them like loss rather than play a short frame.
		v.count(&v.made.silent)
		return false
	}
	v.count(tally)
	v.observe.AudioFrame(AudioDecoded)
	copy(v.pcm, v.scratch[:codec.FrameSamples])
	return true
}

// count adds a frame to one of v.made's counts, once a packet has played.
func (v *voice) count(n *int) {
	if v.jitter.played {
		*n++
	}
}

// skip drops the voice's next 20 ms unheard.
func (v *voice) skip(packet []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.jitter.pop(packet)
	v.gap = maxConceal
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
