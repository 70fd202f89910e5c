package codec

import (
	"sync"
	"sync/atomic"
)

// Frame is an I420 picture with tightly packed planes: the Y stride is Width,
// the U and V strides are ChromaWidth(). Width and Height are always even.
//
// A Frame handed out by a FramePool is reference counted so that one decoded
// picture can be read by several views while its source moves on: Retain
// before sharing it, Release when done; the last Release returns it to its
// pool.
type Frame struct {
	Width, Height int
	Y, U, V       []byte

	refs atomic.Int32
	pool *FramePool
}

// NewFrame allocates a black frame of the given size, rounded up to even.
func NewFrame(width, height int) *Frame {
	f := &Frame{}
	f.Resize(width, height)
	f.Fill(16, 128, 128)
	return f
}

// ChromaWidth is the width (and stride) of the U and V planes.
func (f *Frame) ChromaWidth() int { return f.Width / 2 }

// ChromaHeight is the height of the U and V planes.
func (f *Frame) ChromaHeight() int { return f.Height / 2 }

// Resize sets the frame's size, reusing its buffers when they are large
// enough. Pixel contents are unspecified afterwards.
func (f *Frame) Resize(width, height int) {
	width, height = upToEven(width), upToEven(height)
	f.Width, f.Height = width, height
	f.Y = grow(f.Y, width*height)
	f.U = grow(f.U, width*height/4)
	f.V = grow(f.V, width*height/4)
}

// Fill paints the whole frame one colour.
func (f *Frame) Fill(y, u, v byte) {
	fill(f.Y, y)
	fill(f.U, u)
	fill(f.V, v)
}

// FillRect paints the rectangle (x, y, w, h), clipped to the frame; the
// rectangle's corners are rounded down to even coordinates so that chroma
// stays aligned.
func (f *Frame) FillRect(x, y, w, h int, cy, cu, cv byte) {
	x, y, w, h = clipRect(x&^1, y&^1, w&^1, h&^1, f.Width, f.Height)
	for row := y; row < y+h; row++ {
		fill(f.Y[row*f.Width+x:row*f.Width+x+w], cy)
	}
	cw := f.ChromaWidth()
	for row := y / 2; row < (y+h)/2; row++ {
		fill(f.U[row*cw+x/2:row*cw+(x+w)/2], cu)
		fill(f.V[row*cw+x/2:row*cw+(x+w)/2], cv)
	}
}

// CopyTo copies src into dst at (x, y), clipped to dst. x and y are rounded
// down to even.
func (src *Frame) CopyTo(dst *Frame, x, y int) {
	x, y = x&^1, y&^1
	cx, cy, w, h := clipRect(x, y, src.Width, src.Height, dst.Width, dst.Height)
	if w <= 0 || h <= 0 {
		return
	}
	sx, sy := cx-x, cy-y
	for row := 0; row < h; row++ {
		copy(dst.Y[(cy+row)*dst.Width+cx:][:w], src.Y[(sy+row)*src.Width+sx:][:w])
	}
	dcw, scw := dst.ChromaWidth(), src.ChromaWidth()
	for row := 0; row < h/2; row++ {
		d := (cy/2+row)*dcw + cx/2
		s := (sy/2+row)*scw + sx/2
		copy(dst.U[d:][:w/2], src.U[s:][:w/2])
		copy(dst.V[d:][:w/2], src.V[s:][:w/2])
	}
}

// Retain adds a reference. Only frames from a FramePool are counted.
func (f *Frame) Retain() { f.refs.Add(1) }

// Release drops a reference; the last one returns the frame to its pool.
func (f *Frame) Release() {
	if f.pool == nil {
		return
	}
	switch n := f.refs.Add(-1); {
	case n == 0:
		f.pool.pool.Put(f)
	case n < 0:
		panic("codec: Frame released more often than retained")
	}
}

// FramePool recycles frames so that steady-state media work allocates
// nothing. The zero value is ready to use.
type FramePool struct {
	pool sync.Pool
}

// Get returns a frame of the given size holding one reference. Its pixels
// are unspecified.
func (p *FramePool) Get(width, height int) *Frame {
	f, _ := p.pool.Get().(*Frame)
	if f == nil {
		f = &Frame{pool: p}
	}
	f.Resize(width, height)
	f.refs.Store(1)
	return f
}

// upToEven rounds n up to an even number, as I420 sizes must be.
func upToEven(n int) int { return (n + 1) &^ 1 }

func grow(b []byte, n int) []byte {
	if cap(b) >= n {
		return b[:n]
	}
	return make([]byte, n)
}

func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for filled := 1; filled < len(b); filled *= 2 {
		copy(b[filled:], b[:filled])
	}
}

// clipRect clips (x, y, w, h) to a width x height area.
func clipRect(x, y, w, h, width, height int) (int, int, int, int) {
	if x < 0 {
		w += x
		x = 0
	}
	if y < 0 {
		h += y
		y = 0
	}
	w = min(w, width-x)
	h = min(h, height-y)
	return x, y, max(w, 0), max(h, 0)
}

// planesFit reports whether the planes are long enough for the frame's
// stated size, so that C code handed them cannot read or write out of
// bounds even if a caller set the exported fields inconsistently.
func (f *Frame) planesFit() bool {
	w, h := f.Width, f.Height
	return w >= 0 && h >= 0 && w%2 == 0 && h%2 == 0 &&
		len(f.Y) >= w*h && len(f.U) >= w*h/4 && len(f.V) >= w*h/4
}
