package codec

import "testing"

// YUV triples of the test colours (BT.601 limited range).
var (
	red   = [3]byte{81, 90, 240}
	blue  = [3]byte{41, 240, 110}
	green = [3]byte{145, 54, 34}
)

// patternFrame draws a test card: a horizontal luma gradient, a checkerboard
// for texture, and coloured rectangles that move with t so that inter frames
// have motion to code.
func patternFrame(w, h, t int) *Frame {
	f := NewFrame(w, h)
	drawPattern(f, t)
	return f
}

func drawPattern(f *Frame, t int) {
	w, h := f.Width, f.Height
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			f.Y[y*w+x] = byte(40 + x*150/w)
		}
	}
	fill(f.U, 128)
	fill(f.V, 128)
	// Checkerboard in the lower left quarter.
	for y := h * 3 / 4; y < h; y++ {
		for x := 0; x < w/4; x++ {
			if (x/8+y/8)%2 == 0 {
				f.Y[y*w+x] = 200
			} else {
				f.Y[y*w+x] = 50
			}
		}
	}
	f.FillRect(w/8+2*t, h/8, w/4, h/4, red[0], red[1], red[2])
	f.FillRect(w/2, h/2-2*t, w/5, h/5, blue[0], blue[1], blue[2])
	f.FillRect(w*3/4-t, h/8+t, w/8, h/8, green[0], green[1], green[2])
}

// meanAbsY is the mean absolute difference of two equally sized Y planes.
func meanAbsY(t *testing.T, a, b *Frame) float64 {
	t.Helper()
	if a.Width != b.Width || a.Height != b.Height {
		t.Fatalf("size %dx%d vs %dx%d", a.Width, a.Height, b.Width, b.Height)
	}
	var sum int
	for i := range a.Width * a.Height {
		d := int(a.Y[i]) - int(b.Y[i])
		sum += max(d, -d)
	}
	return float64(sum) / float64(a.Width*a.Height)
}

// pixel returns the Y, U and V values at luma position (x, y).
func pixel(f *Frame, x, y int) [3]byte {
	c := (y/2)*f.ChromaWidth() + x/2
	return [3]byte{f.Y[y*f.Width+x], f.U[c], f.V[c]}
}

// near reports whether every component of got is within tol of want.
func near(got, want [3]byte, tol int) bool {
	for i := range got {
		d := int(got[i]) - int(want[i])
		if max(d, -d) > tol {
			return false
		}
	}
	return true
}

func cloneFrame(f *Frame) *Frame {
	c := &Frame{Width: f.Width, Height: f.Height}
	c.Y = append([]byte(nil), f.Y...)
	c.U = append([]byte(nil), f.U...)
	c.V = append([]byte(nil), f.V...)
	return c
}

func sameFrame(a, b *Frame) bool {
	return a.Width == b.Width && a.Height == b.Height &&
		string(a.Y) == string(b.Y) && string(a.U) == string(b.U) && string(a.V) == string(b.V)
}

func newTestEncoder(t testing.TB, w, h, fps, kbps int) *VP8Encoder {
	t.Helper()
	e, err := NewVP8Encoder(VP8EncoderParams{Width: w, Height: h, FPS: fps, BitrateKbps: kbps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func newTestDecoder(t testing.TB) *VP8Decoder {
	t.Helper()
	d, err := NewVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// encodeStream encodes n pattern frames and returns the packets.
func encodeStream(t testing.TB, w, h, n int) [][]byte {
	t.Helper()
	e := newTestEncoder(t, w, h, 15, 1200)
	var out [][]byte
	for i := range n {
		drawPattern(e.Input(), i)
		pkt, _, err := e.Encode(nil, false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pkt)
	}
	return out
}
