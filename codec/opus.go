package codec

/*
#cgo pkg-config: opus
#include "opusctl.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// SampleRate is the only PCM rate the package deals in: WebRTC's Opus clock.
const SampleRate = 48000

// FrameSamples is the length of one 20 ms frame of 48 kHz mono PCM, the
// unit the audio mixer works in.
const FrameSamples = 960 // 20 ms at 48 kHz mono

// MaxDecodeSamples is the most PCM a single Opus packet can carry (120 ms),
// and so the largest buffer Decode ever needs.
const MaxDecodeSamples = 5760

// maxOpusPacket is the largest Opus frame; encoding into at least this much
// room means libopus never has to squeeze a packet to fit the buffer.
const maxOpusPacket = 1275

// OpusEncoder encodes 20 ms frames of 48 kHz mono speech. Close must be
// called to free its C memory.
type OpusEncoder struct {
	st *C.OpusEncoder
}

// NewOpusEncoder creates a VoIP-tuned encoder with the given target bitrate
// in bits per second, complexity 5 and in-band FEC off.
func NewOpusEncoder(bitrate int) (*OpusEncoder, error) {
	if bitrate <= 0 || bitrate > math.MaxInt32 {
		return nil, fmt.Errorf("codec: opus encoder: bitrate %d must be positive: %w", bitrate, ErrBadParams)
	}
	var st *C.OpusEncoder
	if rc := C.tw_opus_enc_new(&st, C.int(bitrate)); rc != C.OPUS_OK {
		return nil, opusError("opus encoder init", rc, ErrBadParams)
	}
	return &OpusEncoder{st: st}, nil
}

// Encode compresses exactly FrameSamples of PCM. It writes into
// dst[:cap(dst)], growing dst once if it has less than 1275 bytes of
// capacity, and returns the packet; reusing the returned slice as the next
// dst keeps encoding allocation-free.
func (e *OpusEncoder) Encode(pcm []int16, dst []byte) ([]byte, error) {
	if e.st == nil {
		return dst[:0], fmt.Errorf("codec: opus encode: %w", ErrClosed)
	}
	if len(pcm) != FrameSamples {
		return dst[:0], fmt.Errorf("codec: opus encode: %d samples, want %d: %w", len(pcm), FrameSamples, ErrFrameSize)
	}
	if cap(dst) < maxOpusPacket {
		dst = make([]byte, maxOpusPacket)
	}
	dst = dst[:cap(dst)]
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(unsafe.SliceData(pcm))), FrameSamples,
		(*C.uchar)(unsafe.Pointer(unsafe.SliceData(dst))), C.opus_int32(min(len(dst), math.MaxInt32)))
	if n < 0 {
		return dst[:0], opusError("opus encode", n, ErrLibrary)
	}
	return dst[:n], nil
}

// SetInbandFEC makes each packet carry a low-rate copy of the frame before
// it, sized for lossPercent (1–100) expected loss, as WebRTC senders do
// once their receivers report loss; 0 turns it off. A receiver that lost a
// frame rebuilds it from the next packet with DecodeFEC.
func (e *OpusEncoder) SetInbandFEC(lossPercent int) error {
	if e.st == nil {
		return fmt.Errorf("codec: opus fec: %w", ErrClosed)
	}
	if lossPercent < 0 || lossPercent > 100 {
		return fmt.Errorf("codec: opus fec: loss %d%% is not 0–100: %w", lossPercent, ErrBadParams)
	}
	if rc := C.tw_opus_enc_set_fec(e.st, C.int(lossPercent)); rc != C.OPUS_OK {
		return opusError("opus fec", rc, ErrLibrary)
	}
	return nil
}

// SetDTX turns discontinuous transmission on: in silence, after 200 ms of
// it, Encode returns a DTX frame of one or two bytes, which a sender does
// not send (RFC 7587, 3.1.3), and a full frame every 400 ms for the
// receiver's comfort noise.
func (e *OpusEncoder) SetDTX(on bool) error {
	if e.st == nil {
		return fmt.Errorf("codec: opus dtx: %w", ErrClosed)
	}
	flag := 0
	if on {
		flag = 1
	}
	if rc := C.tw_opus_enc_set_dtx(e.st, C.int(flag)); rc != C.OPUS_OK {
		return opusError("opus dtx", rc, ErrLibrary)
	}
	return nil
}

// Close frees the encoder. It is idempotent.
func (e *OpusEncoder) Close() {
	if e.st == nil {
		return
	}
	C.opus_encoder_destroy(e.st)
	e.st = nil
}

// OpusDecoder decodes Opus packets to 48 kHz mono PCM; libopus downmixes
// stereo packets. Close must be called to free its C memory.
type OpusDecoder struct {
	st *C.OpusDecoder
}

// NewOpusDecoder creates a 48 kHz mono decoder.
func NewOpusDecoder() (*OpusDecoder, error) {
	var st *C.OpusDecoder
	if rc := C.tw_opus_dec_new(&st); rc != C.OPUS_OK {
		return nil, opusError("opus decoder init", rc, ErrLibrary)
	}
	return &OpusDecoder{st: st}, nil
}

// Decode decodes one packet into pcm and returns the number of samples
// written. pcm should hold MaxDecodeSamples (120 ms), the longest a packet
// can be; a shorter buffer fails with ErrShortBuffer on longer packets. Bad
// packets return an error wrapping ErrCorrupt.
func (d *OpusDecoder) Decode(packet []byte, pcm []int16) (int, error) {
	if d.st == nil {
		return 0, fmt.Errorf("codec: opus decode: %w", ErrClosed)
	}
	if len(packet) == 0 || len(packet) > math.MaxInt32 {
		// An empty packet would make libopus conceal instead; callers
		// that want that should say so with Conceal.
		return 0, fmt.Errorf("codec: opus decode: %d-byte packet: %w", len(packet), ErrCorrupt)
	}
	if len(pcm) == 0 {
		return 0, fmt.Errorf("codec: opus decode: empty pcm buffer: %w", ErrShortBuffer)
	}
	n := C.opus_decode(d.st, (*C.uchar)(unsafe.Pointer(unsafe.SliceData(packet))), C.opus_int32(len(packet)),
		(*C.opus_int16)(unsafe.Pointer(unsafe.SliceData(pcm))), C.int(min(len(pcm), MaxDecodeSamples)), 0)
	if n < 0 {
		return 0, opusError("opus decode", n, ErrCorrupt)
	}
	return int(n), nil
}

// Conceal synthesises one lost 20 ms frame into pcm[:FrameSamples] from the
// decoder's history and returns the number of samples written.
func (d *OpusDecoder) Conceal(pcm []int16) (int, error) {
	if d.st == nil {
		return 0, fmt.Errorf("codec: opus conceal: %w", ErrClosed)
	}
	if len(pcm) < FrameSamples {
		return 0, fmt.Errorf("codec: opus conceal: %d-sample buffer, need %d: %w", len(pcm), FrameSamples, ErrShortBuffer)
	}
	n := C.opus_decode(d.st, nil, 0, (*C.opus_int16)(unsafe.Pointer(unsafe.SliceData(pcm))), FrameSamples, 0)
	if n < 0 {
		return 0, opusError("opus conceal", n, ErrLibrary)
	}
	return int(n), nil
}

// DecodeFEC rebuilds the lost 20 ms frame before next from next's in-band
// FEC into pcm[:FrameSamples]; without FEC in next, libopus conceals the
// frame instead. next itself must then be decoded with Decode as usual.
func (d *OpusDecoder) DecodeFEC(next []byte, pcm []int16) (int, error) {
	if d.st == nil {
		return 0, fmt.Errorf("codec: opus fec decode: %w", ErrClosed)
	}
	if len(next) == 0 || len(next) > math.MaxInt32 {
		return 0, fmt.Errorf("codec: opus fec decode: %d-byte packet: %w", len(next), ErrCorrupt)
	}
	if len(pcm) < FrameSamples {
		return 0, fmt.Errorf("codec: opus fec decode: %d-sample buffer, need %d: %w", len(pcm), FrameSamples, ErrShortBuffer)
	}
	n := C.opus_decode(d.st, (*C.uchar)(unsafe.Pointer(unsafe.SliceData(next))), C.opus_int32(len(next)),
		(*C.opus_int16)(unsafe.Pointer(unsafe.SliceData(pcm))), FrameSamples, 1)
	if n < 0 {
		return 0, opusError("opus fec decode", n, ErrCorrupt)
	}
	return int(n), nil
}

// Close frees the decoder. It is idempotent.
func (d *OpusDecoder) Close() {
	if d.st == nil {
		return
	}
	C.opus_decoder_destroy(d.st)
	d.st = nil
}

// opusError describes a libopus error code. Buffer and allocation failures
// override kind because they are never the packet's fault.
func opusError(op string, rc C.int, kind error) error {
	switch rc {
	case C.OPUS_BUFFER_TOO_SMALL:
		kind = ErrShortBuffer
	case C.OPUS_ALLOC_FAIL, C.OPUS_INTERNAL_ERROR:
		kind = ErrLibrary
	}
	return fmt.Errorf("codec: %s: %s: %w", op, C.GoString(C.opus_strerror(rc)), kind)
}
