package codec

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include "vp8.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// vp8MaxDim is VP8's largest frame dimension (14-bit size fields).
const vp8MaxDim = 16383

// VP8EncoderParams configures a realtime VP8 encoder.
type VP8EncoderParams struct {
	Width, Height int // even
	FPS           int // frames per second (time base 1/FPS)
	BitrateKbps   int // CBR target
	// CPUUsed is libvpx's cpu-used; 0 means -8. Positive values are
	// rejected with an error: they turn on libvpx's automatic speed, which
	// costs far more encode CPU.
	CPUUsed int
	// KeyframeInterval is the max frames between key frames; 0 means
	// 10*FPS.
	KeyframeInterval int
}

// VP8Encoder is a one-pass CBR realtime VP8 encoder that produces exactly
// one compressed frame per input picture. Close must be called to free its
// C memory.
type VP8Encoder struct {
	libvpxTime
	c   *C.tw_vp8_enc
	in  Frame
	pts int64
}

// NewVP8Encoder creates an encoder configured for low-latency conferencing.
func NewVP8Encoder(p VP8EncoderParams) (*VP8Encoder, error) {
	switch {
	case p.Width <= 0 || p.Height <= 0 || p.Width%2 != 0 || p.Height%2 != 0 ||
		p.Width > vp8MaxDim || p.Height > vp8MaxDim:
		return nil, fmt.Errorf("codec: vp8 encoder: size %dx%d must be even and in 2..%d: %w",
			p.Width, p.Height, vp8MaxDim, ErrBadParams)
	case p.FPS <= 0 || p.FPS > 1000:
		return nil, fmt.Errorf("codec: vp8 encoder: fps %d out of range 1..1000: %w", p.FPS, ErrBadParams)
	case p.BitrateKbps <= 0:
		return nil, fmt.Errorf("codec: vp8 encoder: bitrate %d kbps must be positive: %w", p.BitrateKbps, ErrBadParams)
	case p.CPUUsed > 0:
		return nil, fmt.Errorf("codec: vp8 encoder: cpu-used %d: positive values enable automatic speed, which costs far more CPU; use -1..-16: %w",
			p.CPUUsed, ErrBadParams)
	case p.CPUUsed < -16:
		return nil, fmt.Errorf("codec: vp8 encoder: cpu-used %d below -16: %w", p.CPUUsed, ErrBadParams)
	case p.KeyframeInterval < 0:
		return nil, fmt.Errorf("codec: vp8 encoder: key frame interval %d is negative: %w", p.KeyframeInterval, ErrBadParams)
	}
	cpu := p.CPUUsed
	if cpu == 0 {
		cpu = -8
	}
	kf := p.KeyframeInterval
	if kf == 0 {
		kf = 10 * p.FPS
	}
	c := (*C.tw_vp8_enc)(C.calloc(1, C.sizeof_tw_vp8_enc))
	if c == nil {
		return nil, fmt.Errorf("codec: vp8 encoder: calloc: %w", ErrLibrary)
	}
	if rc := C.tw_vp8_enc_open(c, C.int(p.Width), C.int(p.Height), C.int(p.FPS),
		C.int(p.BitrateKbps), C.int(kf), C.int(cpu)); rc != C.VPX_CODEC_OK {
		err := vpxError("vp8 encoder init", &c.ctx, rc, ErrLibrary)
		C.tw_vp8_enc_free(c)
		return nil, err
	}
	img := c.img
	w, h := p.Width, p.Height
	if img.stride[C.VPX_PLANE_Y] != C.int(w) || img.stride[C.VPX_PLANE_U] != C.int(w/2) ||
		img.stride[C.VPX_PLANE_V] != C.int(w/2) {
		C.tw_vp8_enc_free(c)
		return nil, fmt.Errorf("codec: vp8 encoder: libvpx input image is not tightly packed: %w", ErrLibrary)
	}
	e := &VP8Encoder{c: c, libvpxTime: libvpxTime{count: &c.cpu}}
	e.in.Width, e.in.Height = w, h
	e.in.Y = unsafe.Slice((*byte)(img.planes[C.VPX_PLANE_Y]), w*h)
	e.in.U = unsafe.Slice((*byte)(img.planes[C.VPX_PLANE_U]), w*h/4)
	e.in.V = unsafe.Slice((*byte)(img.planes[C.VPX_PLANE_V]), w*h/4)
	e.in.Fill(16, 128, 128)
	return e, nil
}

// TrimmedBytes is how much of the encoder's memory was given back at
// open (TrimEncoders).
func (e *VP8Encoder) TrimmedBytes() int { return int(e.c.trimmed) }

// Input returns the encoder's own input picture, whose planes live in C
// memory allocated by the encoder: callers compose directly into it, then
// call Encode, so no copy is made. Valid until Close. Callers must not
// Resize it.
func (e *VP8Encoder) Input() *Frame { return &e.in }

// Encode encodes the current Input() picture (pts advances by one each
// call), forcing a key frame when forceKey. It appends the compressed frame
// to dst[:0] and returns it, and whether it is a key frame. With lag 0 there
// is always exactly one output frame per input; if libvpx nevertheless drops
// the frame for rate control, the result is empty and err is nil.
func (e *VP8Encoder) Encode(dst []byte, forceKey bool) (out []byte, key bool, err error) {
	dst = dst[:0]
	if e.c == nil {
		return dst, false, fmt.Errorf("codec: vp8 encode: %w", ErrClosed)
	}
	if !e.inputIntact() {
		return dst, false, fmt.Errorf("codec: vp8 encode: input picture was resized or replaced: %w", ErrFrameSize)
	}
	force := C.int(0)
	if forceKey {
		force = 1
	}
	if rc := C.tw_vp8_enc_encode(e.c, C.vpx_codec_pts_t(e.pts), force); rc != C.VPX_CODEC_OK {
		return dst, false, vpxError("vp8 encode", &e.c.ctx, rc, ErrLibrary)
	}
	e.pts++
	for C.tw_vp8_enc_next(e.c) != 0 {
		dst = append(dst, unsafe.Slice((*byte)(e.c.buf), int(e.c.sz))...)
		key = key || e.c.key != 0
	}
	return dst, key, nil
}

// EncodeFrame copies f (same size as the encoder) into Input() and encodes
// it.
func (e *VP8Encoder) EncodeFrame(f *Frame, dst []byte, forceKey bool) ([]byte, bool, error) {
	if e.c == nil {
		return dst[:0], false, fmt.Errorf("codec: vp8 encode: %w", ErrClosed)
	}
	if f == nil || f.Width != e.in.Width || f.Height != e.in.Height || !f.planesFit() {
		w, h := 0, 0
		if f != nil {
			w, h = f.Width, f.Height
		}
		return dst[:0], false, fmt.Errorf("codec: vp8 encode: frame %dx%d, encoder %dx%d: %w",
			w, h, e.in.Width, e.in.Height, ErrFrameSize)
	}
	copy(e.in.Y, f.Y)
	copy(e.in.U, f.U)
	copy(e.in.V, f.V)
	return e.Encode(dst, forceKey)
}

// dropFrameThreshold is the fill of the encoder's buffer, in percent, under
// which it skips a frame rather than overshoot its bitrate, when allowed.
const dropFrameThreshold = 30

// SetBitrate changes the CBR target, effective from the next frame, without
// forcing a key frame. With dropFrames the encoder may skip a frame (Encode
// returns no data) rather than send more than a path takes: a picture
// that cannot be made as small as the target at every frame then moves
// less often instead of overflowing the path. Without, it never skips.
func (e *VP8Encoder) SetBitrate(kbps int, dropFrames bool) error {
	if e.c == nil {
		return fmt.Errorf("codec: vp8 set bitrate: %w", ErrClosed)
	}
	if kbps <= 0 {
		return fmt.Errorf("codec: vp8 set bitrate: %d kbps must be positive: %w", kbps, ErrBadParams)
	}
	drop := C.int(0)
	if dropFrames {
		drop = dropFrameThreshold
	}
	if rc := C.tw_vp8_enc_set_bitrate(e.c, C.int(kbps), drop); rc != C.VPX_CODEC_OK {
		return vpxError("vp8 set bitrate", &e.c.ctx, rc, ErrBadParams)
	}
	return nil
}

// Close frees the encoder and its input picture. It is idempotent; the
// Frame returned by Input must not be used afterwards.
func (e *VP8Encoder) Close() {
	if e.c == nil {
		return
	}
	e.closed(C.tw_vp8_enc_close(e.c))
	e.c = nil
	// Drop the slices so a stale Input() fails loudly instead of writing
	// into freed C memory.
	e.in = Frame{}
}

// inputIntact reports whether Input() still describes the C image, which a
// caller's Resize would have silently swapped for Go memory.
func (e *VP8Encoder) inputIntact() bool {
	img := e.c.img
	w, h := int(img.d_w), int(img.d_h)
	return e.in.Width == w && e.in.Height == h &&
		len(e.in.Y) == w*h && len(e.in.U) == w*h/4 && len(e.in.V) == w*h/4 &&
		unsafe.Pointer(unsafe.SliceData(e.in.Y)) == unsafe.Pointer(img.planes[C.VPX_PLANE_Y]) &&
		unsafe.Pointer(unsafe.SliceData(e.in.U)) == unsafe.Pointer(img.planes[C.VPX_PLANE_U]) &&
		unsafe.Pointer(unsafe.SliceData(e.in.V)) == unsafe.Pointer(img.planes[C.VPX_PLANE_V])
}

// VP8Decoder decodes a VP8 stream on the calling goroutine, without
// post-processing. Close must be called to free its C memory.
type VP8Decoder struct {
	libvpxTime
	c   *C.tw_vp8_dec
	img *C.vpx_image_t // the last unpacked picture, libvpx's memory
}

// NewVP8Decoder creates a single-threaded decoder.
func NewVP8Decoder() (*VP8Decoder, error) {
	c := (*C.tw_vp8_dec)(C.calloc(1, C.sizeof_tw_vp8_dec))
	if c == nil {
		return nil, fmt.Errorf("codec: vp8 decoder: calloc: %w", ErrLibrary)
	}
	if rc := C.tw_vp8_dec_open(c); rc != C.VPX_CODEC_OK {
		err := vpxError("vp8 decoder init", &c.ctx, rc, ErrLibrary)
		C.tw_vp8_dec_free(c)
		return nil, err
	}
	return &VP8Decoder{c: c, libvpxTime: libvpxTime{count: &c.cpu}}, nil
}

// Decode decodes one compressed VP8 frame into dst, resizing dst to the
// stream's size (rounded up to even). On undecodable or corrupt input it
// returns an error wrapping ErrCorrupt and leaves dst unchanged; after that
// the stream usually stays corrupt until the next key frame. If no picture
// came out it returns ErrNoFrame. It is Unpack followed by CopyTo.
func (d *VP8Decoder) Decode(data []byte, dst *Frame) error {
	if dst == nil {
		return fmt.Errorf("codec: vp8 decode: nil destination frame: %w", ErrBadParams)
	}
	if err := d.Unpack(data); err != nil {
		return err
	}
	return d.CopyTo(dst)
}

// Unpack runs libvpx's decoder on one compressed VP8 frame, leaving the
// picture inside libvpx for CopyTo; its errors are Decode's. Callers that
// time libvpx time this half.
func (d *VP8Decoder) Unpack(data []byte) error {
	d.img = nil
	if d.c == nil {
		return fmt.Errorf("codec: vp8 decode: %w", ErrClosed)
	}
	if len(data) == 0 {
		// libvpx reads an empty buffer as "flush" or "frame lost"; either
		// way there is nothing here to decode.
		return fmt.Errorf("codec: vp8 decode: empty frame: %w", ErrCorrupt)
	}
	if uint64(len(data)) > uint64(^C.uint(0)) {
		return fmt.Errorf("codec: vp8 decode: %d-byte frame too large: %w", len(data), ErrCorrupt)
	}
	rc := C.tw_vp8_dec_decode(d.c, (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(data))), C.uint(len(data)))
	if rc != C.VPX_CODEC_OK {
		return vpxError("vp8 decode", &d.c.ctx, rc, ErrCorrupt)
	}
	// Fetch the picture before asking about corruption so that the
	// decoder's output queue is drained either way.
	img := C.tw_vp8_dec_frame(d.c)
	if C.tw_vp8_dec_corrupted(d.c) != 0 {
		return fmt.Errorf("codec: vp8 decode: frame marked corrupted: %w", ErrCorrupt)
	}
	if img == nil {
		return fmt.Errorf("codec: vp8 decode: %w", ErrNoFrame)
	}
	if img.fmt != C.VPX_IMG_FMT_I420 || img.d_w == 0 || img.d_h == 0 {
		return fmt.Errorf("codec: vp8 decode: unexpected picture format %d %dx%d: %w",
			int(img.fmt), int(img.d_w), int(img.d_h), ErrCorrupt)
	}
	d.img = img
	return nil
}

// CopyTo copies the picture the last successful Unpack left into dst,
// resized to it. The picture is libvpx's until the next Unpack.
func (d *VP8Decoder) CopyTo(dst *Frame) error {
	if dst == nil {
		return fmt.Errorf("codec: vp8 decode: nil destination frame: %w", ErrBadParams)
	}
	w, h, ok := d.PictureSize()
	if !ok {
		return fmt.Errorf("codec: vp8 decode: no unpacked picture: %w", ErrNoFrame)
	}
	dst.Resize(w, h)
	copyPlanes(d.planes(), framePlanes(dst))
	return nil
}

// PictureSize is the size of the picture the last successful Unpack left,
// rounded up to even as CopyTo and ScaleTo round it; ok is false when there
// is none.
func (d *VP8Decoder) PictureSize() (w, h int, ok bool) {
	if d.img == nil || d.c == nil {
		return 0, 0, false
	}
	return upToEven(int(d.img.d_w)), upToEven(int(d.img.d_h)), true
}

// ScaleTo scales the picture the last successful Unpack left into dst's
// size, as Scale does, straight from libvpx's buffer: a caller that needs
// the picture only at other sizes saves copying it out at its own.
func (d *VP8Decoder) ScaleTo(dst *Frame) error {
	if dst == nil {
		return fmt.Errorf("codec: vp8 scale: nil destination frame: %w", ErrBadParams)
	}
	return d.DrawInto(dst, 0, 0, dst.Width, dst.Height)
}

// DrawInto draws the picture the last successful Unpack left into the
// w x h rectangle at (x, y) of dst, straight from libvpx's buffer: copied
// when w x h is its size, else scaled as Scale does. It saves a caller that
// composes pictures copying each one out first. The rectangle's corners are
// rounded down to even coordinates and must lie inside dst.
func (d *VP8Decoder) DrawInto(dst *Frame, x, y, w, h int) error {
	pw, ph, ok := d.PictureSize()
	x, y, w, h = x&^1, y&^1, w&^1, h&^1
	switch {
	case !ok:
		return fmt.Errorf("codec: vp8 draw: no unpacked picture: %w", ErrNoFrame)
	case !dst.fits() || w <= 0 || h <= 0 || x < 0 || y < 0 || x+w > dst.Width || y+h > dst.Height:
		return fmt.Errorf("codec: vp8 draw: %dx%d at (%d, %d) outside a %dx%d frame: %w",
			w, h, x, y, dst.Width, dst.Height, ErrBadParams)
	}
	to := rectPlanes(dst, x, y, w, h)
	if w == pw && h == ph {
		copyPlanes(d.planes(), to)
		return nil
	}
	scalePlanes(d.planes(), to)
	return nil
}

// planes are the last unpacked picture's planes, in libvpx's buffer, at
// its even size. When the stream's size is odd, that size exceeds d_w and
// d_h by one; the extra column and row lie inside libvpx's buffer, which
// is macroblock aligned and bordered, and hold a copy of the edge pixels.
func (d *VP8Decoder) planes() yuvPlanes {
	img := d.img
	w, h, _ := d.PictureSize()
	return yuvPlanes{
		y:       (*C.uint8_t)(img.planes[C.VPX_PLANE_Y]),
		u:       (*C.uint8_t)(img.planes[C.VPX_PLANE_U]),
		v:       (*C.uint8_t)(img.planes[C.VPX_PLANE_V]),
		strideY: img.stride[C.VPX_PLANE_Y], strideUV: img.stride[C.VPX_PLANE_U],
		width: w, height: h,
	}
}

// Close frees the decoder. It is idempotent.
func (d *VP8Decoder) Close() {
	if d.c == nil {
		return
	}
	d.closed(C.tw_vp8_dec_close(d.c))
	d.c, d.img = nil, nil
}

// vpxError describes a libvpx failure, wrapping kind unless libvpx blamed a
// parameter, which is the caller's doing rather than the library's.
func vpxError(op string, ctx *C.vpx_codec_ctx_t, rc C.vpx_codec_err_t, kind error) error {
	msg := C.GoString(C.vpx_codec_err_to_string(rc))
	if detail := C.vpx_codec_error_detail(ctx); detail != nil {
		msg += ": " + C.GoString(detail)
	}
	if rc == C.VPX_CODEC_INVALID_PARAM && kind == ErrLibrary {
		kind = ErrBadParams
	}
	return fmt.Errorf("codec: %s: %s: %w", op, msg, kind)
}
