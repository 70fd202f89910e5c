package codec

/*
#cgo pkg-config: speexdsp
#include <speex/speex_resampler.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// resampleQuality is speexdsp's quality (0–10) for the 8 ↔ 48 kHz
// conversions: 5 is its VoIP default, whose filter keeps what lies under
// 3.4 kHz and keeps the images of narrowband speech out of the wideband
// mix. Measured in docs/performance.md ("The phone's resampler").
const resampleQuality = 5

// resampler converts mono 16-bit PCM between two rates through
// speexdsp's windowed-sinc filter. It keeps the filter's state between
// calls, so a stream cut into 20 ms frames resamples without seams.
type resampler struct {
	st *C.SpeexResamplerState
	// in and out are the lengths process passes (and gets back) by
	// pointer; kept here so that no call allocates them.
	in, out C.spx_uint32_t
}

func newResampler(from, to int) (*resampler, error) {
	var rc C.int
	st := C.speex_resampler_init(1, C.spx_uint32_t(from), C.spx_uint32_t(to), resampleQuality, &rc)
	if st == nil || rc != C.RESAMPLER_ERR_SUCCESS {
		return nil, fmt.Errorf("codec: resampler %d→%d Hz: %s: %w", from, to,
			C.GoString(C.speex_resampler_strerror(rc)), ErrBadParams)
	}
	// The filter's delay (about 5 ms at quality 5) stays in the stream
	// as leading silence rather than be skipped: skipping it would make
	// the first frames short, and every frame must keep its size.
	return &resampler{st: st}, nil
}

// process resamples all of in into out and returns how many samples it
// wrote; out must hold in's length times the rate ratio.
func (r *resampler) process(in, out []int16) (int, error) {
	if r.st == nil {
		return 0, fmt.Errorf("codec: resample: %w", ErrClosed)
	}
	r.in, r.out = C.spx_uint32_t(len(in)), C.spx_uint32_t(len(out))
	rc := C.speex_resampler_process_int(r.st, 0,
		(*C.spx_int16_t)(unsafe.Pointer(unsafe.SliceData(in))), &r.in,
		(*C.spx_int16_t)(unsafe.Pointer(unsafe.SliceData(out))), &r.out)
	if rc != C.RESAMPLER_ERR_SUCCESS {
		return 0, fmt.Errorf("codec: resample: %s: %w", C.GoString(C.speex_resampler_strerror(rc)), ErrLibrary)
	}
	if int(r.in) != len(in) {
		return 0, fmt.Errorf("codec: resample: took %d of %d samples: %w", r.in, len(in), ErrShortBuffer)
	}
	return int(r.out), nil
}

func (r *resampler) close() {
	if r.st != nil {
		C.speex_resampler_destroy(r.st)
		r.st = nil
	}
}

// Resample converts a whole clip of mono 16-bit PCM from one rate to
// another, for media prepared once (a test's speech clip), not streams.
func Resample(pcm []int16, from, to int) ([]int16, error) {
	r, err := newResampler(from, to)
	if err != nil {
		return nil, err
	}
	defer r.close()
	out := make([]int16, len(pcm)*to/from+to/100) // room for rounding
	n, err := r.process(pcm, out)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}
