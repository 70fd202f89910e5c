#include "opusctl.h"

int tw_opus_enc_new(OpusEncoder **out, int bitrate) {
	int err = OPUS_OK;
	OpusEncoder *st = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	if (err != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(st, OPUS_SET_BITRATE(bitrate))) != OPUS_OK ||
		(err = opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(5))) != OPUS_OK ||
		(err = opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(0))) != OPUS_OK) {
		opus_encoder_destroy(st);
		return err;
	}
	*out = st;
	return OPUS_OK;
}

// tw_opus_enc_set_fec turns in-band FEC on for an expected loss percentage,
// or off for 0.
int tw_opus_enc_set_fec(OpusEncoder *st, int loss_percent) {
	int err = opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(loss_percent > 0));
	if (err != OPUS_OK) return err;
	return opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC(loss_percent));
}

// tw_opus_enc_set_dtx turns discontinuous transmission on or off.
int tw_opus_enc_set_dtx(OpusEncoder *st, int on) {
	return opus_encoder_ctl(st, OPUS_SET_DTX(on != 0));
}

int tw_opus_dec_new(OpusDecoder **out) {
	int err = OPUS_OK;
	OpusDecoder *st = opus_decoder_create(48000, 1, &err);
	if (err != OPUS_OK) return err;
	*out = st;
	return OPUS_OK;
}
