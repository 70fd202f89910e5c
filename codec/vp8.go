package codec

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>
#include <time.h>

// tw_thread_ns is the calling thread's CPU time: read here, around a
// libvpx call on the thread that makes it, it counts that call alone
// whichever thread the Go scheduler runs the caller on.
static int64_t tw_thread_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// tw_cpu counts a codec's CPU time inside libvpx: creating and freeing it
// always, since they run once per codec and are not small (an encoder's
// buffers are tens of megabytes, first touched as it sets them up), and
// its frames once timed is set, for two clock reads a frame.
typedef struct {
	int timed;
	int64_t ns;
} tw_cpu;

// tw_cpu_start and tw_cpu_stop bracket one frame's libvpx call.
static int64_t tw_cpu_start(const tw_cpu *c) {
	return c->timed ? tw_thread_ns() : 0;
}

static void tw_cpu_stop(tw_cpu *c, int64_t start) {
	if (c->timed) c->ns += tw_thread_ns() - start;
}

// The codec context, the encoder's input image and the packet iterator all
// live in C memory so that no Go pointer is ever stored where libvpx can see
// it, and so that the per-frame calls need no Go allocations.
typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t *img;
	int inited;
	vpx_codec_iter_t iter;
	const void *buf;
	size_t sz;
	int key;
	tw_cpu cpu;
} tw_vp8_enc;

#define TW_CTL(e, id, v) \
	do { vpx_codec_err_t r_ = vpx_codec_control(&(e)->ctx, id, v); if (r_ != VPX_CODEC_OK) return r_; } while (0)

static vpx_codec_err_t tw_vp8_enc_init(tw_vp8_enc *e, int w, int h, int fps, int kbps, int kf, int cpu) {
	vpx_codec_err_t err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (err != VPX_CODEC_OK) return err;
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	c->g_timebase.num = 1;
	c->g_timebase.den = fps;
	c->g_threads = 1;
	c->g_lag_in_frames = 0;
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c->g_pass = VPX_RC_ONE_PASS;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	c->rc_min_quantizer = 4;
	c->rc_max_quantizer = 56;
	c->rc_buf_sz = 1000;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_undershoot_pct = 95;
	c->rc_dropframe_thresh = 0;
	c->rc_resize_allowed = 0;
	c->kf_mode = VPX_KF_AUTO;
	c->kf_min_dist = 0;
	c->kf_max_dist = kf;
	err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (err != VPX_CODEC_OK) return err;
	e->inited = 1;
	TW_CTL(e, VP8E_SET_CPUUSED, cpu);
	TW_CTL(e, VP8E_SET_NOISE_SENSITIVITY, 0);
	TW_CTL(e, VP8E_SET_STATIC_THRESHOLD, 1);
	TW_CTL(e, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
	TW_CTL(e, VP8E_SET_ENABLEAUTOALTREF, 0);
	// Alignment 1 makes the planes tightly packed and contiguous, which is
	// exactly Frame's layout, so callers can compose straight into them.
	e->img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, w, h, 1);
	if (e->img == NULL) return VPX_CODEC_MEM_ERROR;
	return VPX_CODEC_OK;
}

static void tw_vp8_enc_free(tw_vp8_enc *e) {
	if (e->inited) vpx_codec_destroy(&e->ctx);
	if (e->img != NULL) vpx_img_free(e->img);
	free(e);
}

// The open and close wrappers count creating and freeing as tw_cpu says;
// close returns the whole count, as e is gone.
static vpx_codec_err_t tw_vp8_enc_open(tw_vp8_enc *e, int w, int h, int fps, int kbps, int kf, int cpu) {
	int64_t start = tw_thread_ns();
	vpx_codec_err_t err = tw_vp8_enc_init(e, w, h, fps, kbps, kf, cpu);
	e->cpu.ns += tw_thread_ns() - start;
	return err;
}

static int64_t tw_vp8_enc_close(tw_vp8_enc *e) {
	int64_t start = tw_thread_ns(), counted = e->cpu.ns;
	tw_vp8_enc_free(e);
	return counted + tw_thread_ns() - start;
}

static vpx_codec_err_t tw_vp8_enc_encode(tw_vp8_enc *e, vpx_codec_pts_t pts, int force) {
	e->iter = NULL;
	int64_t start = tw_cpu_start(&e->cpu);
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, e->img, pts, 1, force ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	tw_cpu_stop(&e->cpu, start);
	return err;
}

// tw_vp8_enc_next leaves the next compressed frame in e->buf/sz/key and
// returns 1, or returns 0 when the encoder has no more packets for this call.
static int tw_vp8_enc_next(tw_vp8_enc *e) {
	const vpx_codec_cx_pkt_t *p;
	while ((p = vpx_codec_get_cx_data(&e->ctx, &e->iter)) != NULL) {
		if (p->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		e->buf = p->data.frame.buf;
		e->sz = p->data.frame.sz;
		e->key = (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		return 1;
	}
	return 0;
}

static vpx_codec_err_t tw_vp8_enc_set_bitrate(tw_vp8_enc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

typedef struct {
	vpx_codec_ctx_t ctx;
	int inited;
	vpx_codec_iter_t iter;
	tw_cpu cpu;
} tw_vp8_dec;

static vpx_codec_err_t tw_vp8_dec_init(tw_vp8_dec *d) {
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	vpx_codec_err_t err = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (err != VPX_CODEC_OK) return err;
	d->inited = 1;
	return VPX_CODEC_OK;
}

static void tw_vp8_dec_free(tw_vp8_dec *d) {
	if (d->inited) vpx_codec_destroy(&d->ctx);
	free(d);
}

// The decoder's open and close wrappers, as the encoder's.
static vpx_codec_err_t tw_vp8_dec_open(tw_vp8_dec *d) {
	int64_t start = tw_thread_ns();
	vpx_codec_err_t err = tw_vp8_dec_init(d);
	d->cpu.ns += tw_thread_ns() - start;
	return err;
}

static int64_t tw_vp8_dec_close(tw_vp8_dec *d) {
	int64_t start = tw_thread_ns(), counted = d->cpu.ns;
	tw_vp8_dec_free(d);
	return counted + tw_thread_ns() - start;
}

static vpx_codec_err_t tw_vp8_dec_decode(tw_vp8_dec *d, const uint8_t *data, unsigned int n) {
	d->iter = NULL;
	int64_t start = tw_cpu_start(&d->cpu);
	vpx_codec_err_t err = vpx_codec_decode(&d->ctx, data, n, NULL, 0);
	tw_cpu_stop(&d->cpu, start);
	return err;
}

static vpx_image_t *tw_vp8_dec_frame(tw_vp8_dec *d) {
	return vpx_codec_get_frame(&d->ctx, &d->iter);
}

static int tw_vp8_dec_corrupted(tw_vp8_dec *d) {
	int c = 0;
	// The control fails only when nothing has been decoded yet, in which
	// case there is no picture to call corrupt.
	if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &c) != VPX_CODEC_OK) return 0;
	return c;
}

*/
import "C"

import (
	"fmt"
	"time"
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
	// rejected with an error: they turn on libvpx's automatic speed and
	// cost ~1.6x the encode CPU.
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

// SetBitrate changes the CBR target, effective from the next frame, without
// forcing a key frame.
func (e *VP8Encoder) SetBitrate(kbps int) error {
	if e.c == nil {
		return fmt.Errorf("codec: vp8 set bitrate: %w", ErrClosed)
	}
	if kbps <= 0 {
		return fmt.Errorf("codec: vp8 set bitrate: %d kbps must be positive: %w", kbps, ErrBadParams)
	}
	if rc := C.tw_vp8_enc_set_bitrate(e.c, C.int(kbps)); rc != C.VPX_CODEC_OK {
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
	return even(int(d.img.d_w)), even(int(d.img.d_h)), true
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

// libvpxTime is a codec's CPU time inside libvpx, counted in C on the
// threads that call it (tw_cpu), for benchmarks.
type libvpxTime struct {
	count *C.tw_cpu     // in the codec's C memory; nil once closed
	total time.Duration // the whole count, once closed
}

// TimeCPU makes the codec count the CPU time of its libvpx frame calls
// too, for CPUTime. It costs two clock reads a frame; benchmarks turn it on.
func (t *libvpxTime) TimeCPU() {
	if t.count != nil {
		t.count.timed = 1
	}
}

// CPUTime is the CPU time spent inside libvpx creating the codec, in its
// frame calls since TimeCPU, and, once closed, freeing it. Read it when no
// frame is being coded.
func (t *libvpxTime) CPUTime() time.Duration {
	if t.count == nil {
		return t.total
	}
	return time.Duration(t.count.ns)
}

// closed keeps the whole count a close wrapper returned, its C memory gone.
func (t *libvpxTime) closed(total C.int64_t) {
	t.count, t.total = nil, time.Duration(total)
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
