package codec

import "testing"

func splitFrame(w, h int) *Frame {
	f := NewFrame(w, h)
	f.FillRect(0, 0, w/2, h, red[0], red[1], red[2])
	f.FillRect(w/2, 0, w/2, h, blue[0], blue[1], blue[2])
	return f
}

func TestScale(t *testing.T) {
	src := splitFrame(640, 360)
	for _, sz := range [][2]int{{320, 180}, {1280, 720}, {160, 90}, {640, 360}, {100, 360}} {
		w, h := sz[0], sz[1]
		dst := NewFrame(w, h)
		Scale(src, dst)
		for _, y := range []int{0, h / 2, h - 1} {
			if p := pixel(dst, w/4, y); !near(p, red, 2) {
				t.Errorf("%dx%d: left half at y=%d is %v, want %v", w, h, y, p, red)
			}
			if p := pixel(dst, w*3/4, y); !near(p, blue, 2) {
				t.Errorf("%dx%d: right half at y=%d is %v, want %v", w, h, y, p, blue)
			}
		}
	}
}

func TestScaleBadInput(t *testing.T) {
	dst := NewFrame(64, 64)
	want := cloneFrame(dst)
	Scale(nil, dst)
	Scale(dst, nil)
	Scale(&Frame{}, dst)
	Scale(&Frame{Width: 640, Height: 360}, dst) // planes missing
	if !sameFrame(dst, want) {
		t.Error("bad source modified dst")
	}
	Scale(splitFrame(64, 64), &Frame{Width: 32, Height: 32, Y: make([]byte, 10)})
}

func TestFrameCopyToClips(t *testing.T) {
	src := NewFrame(100, 100)
	src.Fill(0, 200, 50)
	for y := range 100 {
		for x := range 100 {
			src.Y[y*100+x] = byte(x + y)
		}
	}
	dst := NewFrame(200, 200)
	src.CopyTo(dst, 151, -49) // rounds to (150, -50)
	for y := range 200 {
		for x := range 200 {
			got := dst.Y[y*200+x]
			want := byte(16)
			if x >= 150 && y < 50 {
				want = byte(x - 150 + y + 50)
			}
			if got != want {
				t.Fatalf("Y(%d,%d) = %d, want %d", x, y, got, want)
			}
		}
	}
	if p := pixel(dst, 160, 10); p[1] != 200 || p[2] != 50 {
		t.Errorf("copied chroma %v, want U 200 V 50", p)
	}
	if p := pixel(dst, 140, 10); p[1] != 128 || p[2] != 128 {
		t.Errorf("chroma outside the copy %v, want 128 128", p)
	}
	// Entirely outside: no effect, no panic.
	before := cloneFrame(dst)
	src.CopyTo(dst, 500, 0)
	src.CopyTo(dst, -200, -200)
	if !sameFrame(dst, before) {
		t.Error("off-frame CopyTo modified dst")
	}
}

func TestFrameFillRectClips(t *testing.T) {
	f := NewFrame(40, 30)
	f.FillRect(-10, -10, 30, 30, 200, 1, 2) // clips to (0,0,20,20)
	for y := range 30 {
		for x := range 40 {
			want := byte(16)
			if x < 20 && y < 20 {
				want = 200
			}
			if got := f.Y[y*40+x]; got != want {
				t.Fatalf("Y(%d,%d) = %d, want %d", x, y, got, want)
			}
		}
	}
	if p := pixel(f, 18, 18); p != [3]byte{200, 1, 2} {
		t.Errorf("inside %v", p)
	}
	if p := pixel(f, 20, 20); p != [3]byte{16, 128, 128} {
		t.Errorf("outside %v", p)
	}
	before := cloneFrame(f)
	f.FillRect(100, 100, 10, 10, 0, 0, 0)
	f.FillRect(-50, 0, 10, 10, 0, 0, 0)
	f.FillRect(0, 0, -5, 5, 0, 0, 0)
	if !sameFrame(f, before) {
		t.Error("off-frame FillRect modified the frame")
	}
	f.FillRect(30, 25, 100, 100, 99, 3, 4) // clips to (30,24,10,6)
	if p := pixel(f, 39, 29); p != [3]byte{99, 3, 4} {
		t.Errorf("bottom-right corner %v", p)
	}
}

func TestFramePool(t *testing.T) {
	var p FramePool
	f := p.Get(64, 48)
	if f.Width != 64 || f.Height != 48 || len(f.Y) != 64*48 || len(f.U) != 32*24 {
		t.Fatalf("Get(64, 48) gave %dx%d with planes %d/%d", f.Width, f.Height, len(f.Y), len(f.U))
	}
	f.Retain()
	f.Release()
	// f still holds one reference, so it must not have gone back.
	if g := p.Get(64, 48); g == f {
		t.Fatal("frame returned to the pool while still referenced")
	}
	f.Release()
	if raceEnabled {
		return
	}
	g := p.Get(32, 16)
	if g != f {
		t.Fatal("released frame was not reused")
	}
	if g.Width != 32 || g.Height != 16 || len(g.Y) != 32*16 || len(g.V) != 16*8 {
		t.Errorf("reused frame is %dx%d with planes %d/%d", g.Width, g.Height, len(g.Y), len(g.V))
	}
	g.Release()
	// Unpooled frames ignore reference counting.
	NewFrame(2, 2).Release()
}
