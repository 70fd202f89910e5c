package codec

/*
#cgo LDFLAGS: -lyuv
#include "scale.h"
*/
import "C"

import "unsafe"

// scratch holds the intermediate pictures of two-step scales.
var scratch FramePool

// Scale scales src into dst's full size (both I420, sizes taken from the
// frames). It filters bilinearly, switching to a box filter when shrinking
// by more than 2x in either axis, where bilinear would skip source pixels
// and alias at about the same cost. Equal sizes just copy. Frames that are
// nil, empty or whose planes are shorter than their size leave dst as is.
//
// An upscale by exactly 3/2 (a 640x360 camera in a 960x540 tile, the
// large tile of a maximized 1280x720 layout) goes through twice the
// source size: libyuv's 2x and 3/4 kernels together cost far less than its
// general bilinear upscale.
func Scale(src, dst *Frame) {
	if src == nil || src.Width <= 0 || src.Height <= 0 || !src.planesFit() || !dst.fits() {
		return
	}
	if src.Width == dst.Width && src.Height == dst.Height {
		n := src.Width * src.Height
		copy(dst.Y[:n], src.Y[:n])
		copy(dst.U[:n/4], src.U[:n/4])
		copy(dst.V[:n/4], src.V[:n/4])
		return
	}
	scalePlanes(framePlanes(src), framePlanes(dst))
}

// fits reports whether f can take a scaled picture: a size and the planes
// for it.
func (f *Frame) fits() bool {
	return f != nil && f.Width > 0 && f.Height > 0 && f.planesFit()
}

// yuvPlanes are the planes of an I420 picture held elsewhere, a Frame's or
// libvpx's, whose strides need not be its width.
type yuvPlanes struct {
	y, u, v           *C.uint8_t
	strideY, strideUV C.int
	width, height     int
}

func framePlanes(f *Frame) yuvPlanes {
	return yuvPlanes{y: bytePtr(f.Y), u: bytePtr(f.U), v: bytePtr(f.V),
		strideY: C.int(f.Width), strideUV: C.int(f.Width / 2), width: f.Width, height: f.Height}
}

// rectPlanes is the w x h rectangle at even (x, y) of f, which holds it.
func rectPlanes(f *Frame, x, y, w, h int) yuvPlanes {
	cw := f.ChromaWidth()
	return yuvPlanes{
		y: bytePtr(f.Y[y*f.Width+x:]), u: bytePtr(f.U[y/2*cw+x/2:]), v: bytePtr(f.V[y/2*cw+x/2:]),
		strideY: C.int(f.Width), strideUV: C.int(cw), width: w, height: h,
	}
}

// scalePlanes is Scale between any two pictures.
func scalePlanes(src, dst yuvPlanes) {
	if dst.width*2 == src.width*3 && dst.height*2 == src.height*3 {
		double := scratch.Get(src.width*2, src.height*2)
		scale(src, framePlanes(double))
		scale(framePlanes(double), dst)
		double.Release()
		return
	}
	scale(src, dst)
}

// copyPlanes copies src into dst, which is at least as large.
func copyPlanes(src, dst yuvPlanes) {
	C.tw_copy(src.y, src.strideY, src.u, src.v, src.strideUV,
		dst.y, dst.strideY, dst.u, dst.v, dst.strideUV, C.int(src.width), C.int(src.height))
}

// scale is one libyuv I420Scale.
func scale(src, dst yuvPlanes) {
	box := C.int(0)
	if dst.width*2 < src.width || dst.height*2 < src.height {
		box = 1
	}
	C.tw_scale(src.y, src.strideY, src.u, src.v, src.strideUV, C.int(src.width), C.int(src.height),
		dst.y, dst.strideY, dst.u, dst.v, dst.strideUV, C.int(dst.width), C.int(dst.height),
		box)
}

// bytePtr hands a plane to C; callers have checked it is non-empty.
func bytePtr(b []byte) *C.uint8_t {
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}
