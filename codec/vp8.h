// The C side of the VP8 codecs (vp8.go): libvpx's encoder and decoder kept
// in C memory, with their CPU time counted around each libvpx call.
#ifndef THREEWAY_CODEC_VP8_H
#define THREEWAY_CODEC_VP8_H

#include <stdint.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

// tw_cpu counts a codec's CPU time inside libvpx: creating and freeing it
// always, since they run once per codec and are not small (an encoder's
// buffers are tens of megabytes, first touched as it sets them up), and
// its frames once timed is set, for two clock reads a frame.
typedef struct {
	int timed;
	int64_t ns;
} tw_cpu;

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
	size_t trimmed; // bytes of zero pages given back at open
} tw_vp8_enc;

extern int tw_trim_encoders;

typedef struct {
	vpx_codec_ctx_t ctx;
	int inited;
	vpx_codec_iter_t iter;
	tw_cpu cpu;
} tw_vp8_dec;

// The open and close functions count creating and freeing as tw_cpu says;
// close returns the whole count, as the codec is gone. free releases a codec
// whose open failed.
vpx_codec_err_t tw_vp8_enc_open(tw_vp8_enc *e, int w, int h, int fps, int kbps, int kf, int cpu);
int64_t tw_vp8_enc_close(tw_vp8_enc *e);
void tw_vp8_enc_free(tw_vp8_enc *e);
vpx_codec_err_t tw_vp8_enc_encode(tw_vp8_enc *e, vpx_codec_pts_t pts, int force);
int tw_vp8_enc_next(tw_vp8_enc *e);
vpx_codec_err_t tw_vp8_enc_set_bitrate(tw_vp8_enc *e, int kbps, int drop_thresh);

vpx_codec_err_t tw_vp8_dec_open(tw_vp8_dec *d);
int64_t tw_vp8_dec_close(tw_vp8_dec *d);
void tw_vp8_dec_free(tw_vp8_dec *d);
vpx_codec_err_t tw_vp8_dec_decode(tw_vp8_dec *d, const uint8_t *data, unsigned int n);
vpx_image_t *tw_vp8_dec_frame(tw_vp8_dec *d);
int tw_vp8_dec_corrupted(tw_vp8_dec *d);

#endif
