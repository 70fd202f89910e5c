// The C side of scaling and copying I420 planes (scale.go) over libyuv.
#ifndef THREEWAY_CODEC_SCALE_H
#define THREEWAY_CODEC_SCALE_H

#include <stdint.h>

// tw_scale exists so the filter choice is a plain int on the Go side rather
// than a C enum conversion at every call site.
int tw_scale(const uint8_t *sy, int sys, const uint8_t *su, const uint8_t *sv, int suvs, int sw, int sh,
		uint8_t *dy, int dys, uint8_t *du, uint8_t *dv, int duvs, int dw, int dh, int box);

int tw_copy(const uint8_t *sy, int sys, const uint8_t *su, const uint8_t *sv, int suvs,
		uint8_t *dy, int dys, uint8_t *du, uint8_t *dv, int duvs, int w, int h);

#endif
