#include <libyuv/convert.h>
#include <libyuv/scale.h>
#include "scale.h"

int tw_scale(const uint8_t *sy, int sys, const uint8_t *su, const uint8_t *sv, int suvs, int sw, int sh,
		uint8_t *dy, int dys, uint8_t *du, uint8_t *dv, int duvs, int dw, int dh, int box) {
	return I420Scale(sy, sys, su, suvs, sv, suvs, sw, sh,
		dy, dys, du, duvs, dv, duvs, dw, dh,
		box ? kFilterBox : kFilterBilinear);
}

int tw_copy(const uint8_t *sy, int sys, const uint8_t *su, const uint8_t *sv, int suvs,
		uint8_t *dy, int dys, uint8_t *du, uint8_t *dv, int duvs, int w, int h) {
	return I420Copy(sy, sys, su, suvs, sv, suvs, dy, dys, du, duvs, dv, duvs, w, h);
}
