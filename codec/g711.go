package codec

import (
	"fmt"

	"github.com/zaf/g711"
)

// G711Law is the companding law of a G.711 stream.
type G711Law int

const (
	ULaw G711Law = iota // PCMU, RTP payload type 0
	ALaw                // PCMA, RTP payload type 8
)

func (l G711Law) String() string {
	if l == ALaw {
		return "PCMA"
	}
	return "PCMU"
}

// NarrowbandRate is G.711's sample rate: the telephone network's.
const NarrowbandRate = 8000

// G711FrameBytes is one 20 ms G.711 packet: a byte per 8 kHz sample.
const G711FrameBytes = 160

// G711Decoder turns 20 ms G.711 packets into 20 ms of 48 kHz PCM, the
// mixer's unit. Close must be called to free its resampler.
type G711Decoder struct {
	law    G711Law
	up     *resampler
	narrow []int16 // one frame at 8 kHz
}

// NewG711Decoder creates a decoder for law.
func NewG711Decoder(law G711Law) (*G711Decoder, error) {
	up, err := newResampler(NarrowbandRate, SampleRate)
	if err != nil {
		return nil, err
	}
	return &G711Decoder{law: law, up: up, narrow: make([]int16, G711FrameBytes)}, nil
}

// Decode expands one 160-byte packet into pcm[:FrameSamples] and returns
// the number of samples written. Other packet sizes (other ptimes) fail
// with ErrFrameSize: the session offers 20 ms.
func (d *G711Decoder) Decode(packet []byte, pcm []int16) (int, error) {
	if len(packet) != G711FrameBytes {
		return 0, fmt.Errorf("codec: %s decode: %d-byte packet, want %d (20 ms): %w", d.law, len(packet), G711FrameBytes, ErrFrameSize)
	}
	expand := g711.DecodeUlawFrame
	if d.law == ALaw {
		expand = g711.DecodeAlawFrame
	}
	for i, b := range packet {
		d.narrow[i] = expand(b)
	}
	return d.upsample(pcm, "decode")
}

// Conceal fills a lost frame with silence, through the resampler so that
// its filter stays continuous. G.711 has nothing to rebuild a frame from.
func (d *G711Decoder) Conceal(pcm []int16) (int, error) {
	clear(d.narrow)
	return d.upsample(pcm, "conceal")
}

// DecodeFEC conceals: G.711 carries no forward error correction.
func (d *G711Decoder) DecodeFEC(_ []byte, pcm []int16) (int, error) { return d.Conceal(pcm) }

func (d *G711Decoder) upsample(pcm []int16, op string) (int, error) {
	if len(pcm) < FrameSamples {
		return 0, fmt.Errorf("codec: %s %s: %d-sample buffer, need %d: %w", d.law, op, len(pcm), FrameSamples, ErrShortBuffer)
	}
	return d.up.process(d.narrow, pcm[:FrameSamples])
}

// Close frees the resampler. It is idempotent.
func (d *G711Decoder) Close() { d.up.close() }

// G711Encoder turns 20 ms of 48 kHz PCM into 20 ms G.711 packets. Close
// must be called to free its resampler.
type G711Encoder struct {
	law    G711Law
	down   *resampler
	narrow []int16
}

// NewG711Encoder creates an encoder for law.
func NewG711Encoder(law G711Law) (*G711Encoder, error) {
	down, err := newResampler(SampleRate, NarrowbandRate)
	if err != nil {
		return nil, err
	}
	return &G711Encoder{law: law, down: down, narrow: make([]int16, G711FrameBytes)}, nil
}

// Encode compresses exactly FrameSamples of PCM into dst (grown to 160
// bytes if it is shorter) and returns the packet.
func (e *G711Encoder) Encode(pcm []int16, dst []byte) ([]byte, error) {
	if len(pcm) != FrameSamples {
		return dst[:0], fmt.Errorf("codec: %s encode: %d samples, want %d: %w", e.law, len(pcm), FrameSamples, ErrFrameSize)
	}
	n, err := e.down.process(pcm, e.narrow)
	if err != nil {
		return dst[:0], err
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	compand := g711.EncodeUlawFrame
	if e.law == ALaw {
		compand = g711.EncodeAlawFrame
	}
	for i, s := range e.narrow[:n] {
		dst[i] = compand(s)
	}
	return dst, nil
}

// Close frees the resampler. It is idempotent.
func (e *G711Encoder) Close() { e.down.close() }
