#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "trim.h"
#include "vp8.h"

// tw_thread_ns is the calling thread's CPU time: read here, around a
// libvpx call on the thread that makes it, it counts that call alone
// whichever thread the Go scheduler runs the caller on.
static int64_t tw_thread_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// tw_cpu_start and tw_cpu_stop bracket one frame's libvpx call.
static int64_t tw_cpu_start(const tw_cpu *c) {
	return c->timed ? tw_thread_ns() : 0;
}

static void tw_cpu_stop(tw_cpu *c, int64_t start) {
	if (c->timed) c->ns += tw_thread_ns() - start;
}

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

void tw_vp8_enc_free(tw_vp8_enc *e) {
	if (e->inited) vpx_codec_destroy(&e->ctx);
	if (e->img != NULL) vpx_img_free(e->img);
	free(e);
}

// tw_trim_encoders: give back the token buffer's zero pages at each
// encoder's open (memory.go's TrimEncoders).
int tw_trim_encoders = 1;

// tw_open_mu keeps encoder opens apart while they trim, so that a new
// chunk of a token buffer's size is the opening encoder's own.
static pthread_mutex_t tw_open_mu = PTHREAD_MUTEX_INITIALIZER;

// tw_token_bytes is what libvpx's VP8 encoder allocates for its token
// buffer (vp8_alloc_compressor_data): 24 blocks of 16 tokens per
// macroblock, 16 bytes a token, through vpx_memalign's 32-byte alignment
// and stored pointer.
static size_t tw_token_bytes(int w, int h) {
	size_t mbs = (size_t)((w + 15) / 16) * (size_t)((h + 15) / 16);
	return mbs * 24 * 16 * 16 + 31 + sizeof(size_t);
}

vpx_codec_err_t tw_vp8_enc_open(tw_vp8_enc *e, int w, int h, int fps, int kbps, int kf, int cpu) {
	int64_t start = tw_thread_ns();
	if (!tw_trim_encoders) {
		vpx_codec_err_t err = tw_vp8_enc_init(e, w, h, fps, kbps, kf, cpu);
		e->cpu.ns += tw_thread_ns() - start;
		return err;
	}
	// The encoder zero-fills a token buffer sized for the worst frame
	// (22 MB at 1280x720) and writes a few megabytes of it a frame.
	pthread_mutex_lock(&tw_open_mu);
	tw_maps before = {0};
	int mapped = tw_maps_read(&before) == 0;
	vpx_codec_err_t err = tw_vp8_enc_init(e, w, h, fps, kbps, kf, cpu);
	if (err == VPX_CODEC_OK && mapped) e->trimmed = tw_trim_new_chunk(&before, tw_token_bytes(w, h));
	tw_maps_free(&before);
	pthread_mutex_unlock(&tw_open_mu);
	e->cpu.ns += tw_thread_ns() - start;
	return err;
}

int64_t tw_vp8_enc_close(tw_vp8_enc *e) {
	int64_t start = tw_thread_ns(), counted = e->cpu.ns;
	tw_vp8_enc_free(e);
	return counted + tw_thread_ns() - start;
}

vpx_codec_err_t tw_vp8_enc_encode(tw_vp8_enc *e, vpx_codec_pts_t pts, int force) {
	e->iter = NULL;
	int64_t start = tw_cpu_start(&e->cpu);
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, e->img, pts, 1, force ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	tw_cpu_stop(&e->cpu, start);
	return err;
}

// tw_vp8_enc_next leaves the next compressed frame in e->buf/sz/key and
// returns 1, or returns 0 when the encoder has no more packets for this call.
int tw_vp8_enc_next(tw_vp8_enc *e) {
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

vpx_codec_err_t tw_vp8_enc_set_bitrate(tw_vp8_enc *e, int kbps, int drop_thresh) {
	e->cfg.rc_target_bitrate = kbps;
	e->cfg.rc_dropframe_thresh = drop_thresh;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

static vpx_codec_err_t tw_vp8_dec_init(tw_vp8_dec *d) {
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	vpx_codec_err_t err = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (err != VPX_CODEC_OK) return err;
	d->inited = 1;
	return VPX_CODEC_OK;
}

void tw_vp8_dec_free(tw_vp8_dec *d) {
	if (d->inited) vpx_codec_destroy(&d->ctx);
	free(d);
}

// The decoder's open and close, as the encoder's.
vpx_codec_err_t tw_vp8_dec_open(tw_vp8_dec *d) {
	int64_t start = tw_thread_ns();
	vpx_codec_err_t err = tw_vp8_dec_init(d);
	d->cpu.ns += tw_thread_ns() - start;
	return err;
}

int64_t tw_vp8_dec_close(tw_vp8_dec *d) {
	int64_t start = tw_thread_ns(), counted = d->cpu.ns;
	tw_vp8_dec_free(d);
	return counted + tw_thread_ns() - start;
}

vpx_codec_err_t tw_vp8_dec_decode(tw_vp8_dec *d, const uint8_t *data, unsigned int n) {
	d->iter = NULL;
	int64_t start = tw_cpu_start(&d->cpu);
	vpx_codec_err_t err = vpx_codec_decode(&d->ctx, data, n, NULL, 0);
	tw_cpu_stop(&d->cpu, start);
	return err;
}

vpx_image_t *tw_vp8_dec_frame(tw_vp8_dec *d) {
	return vpx_codec_get_frame(&d->ctx, &d->iter);
}

int tw_vp8_dec_corrupted(tw_vp8_dec *d) {
	int c = 0;
	// The control fails only when nothing has been decoded yet, in which
	// case there is no picture to call corrupt.
	if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &c) != VPX_CODEC_OK) return 0;
	return c;
}
