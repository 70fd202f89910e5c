// The C side of the Opus codecs (opus.go). libopus's opus_*_ctl are
// variadic, which cgo cannot call, hence these wrappers.
#ifndef THREEWAY_CODEC_OPUSCTL_H
#define THREEWAY_CODEC_OPUSCTL_H

#include <opus.h>

int tw_opus_enc_new(OpusEncoder **out, int bitrate);
int tw_opus_enc_set_fec(OpusEncoder *st, int loss_percent);
int tw_opus_enc_set_dtx(OpusEncoder *st, int on);
int tw_opus_dec_new(OpusDecoder **out);

#endif
