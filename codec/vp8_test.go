package codec

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

func TestVP8RoundTrip(t *testing.T) {
	const w, h, n = 640, 360, 30
	e := newTestEncoder(t, w, h, 15, 1200)
	d := newTestDecoder(t)
	src := NewFrame(w, h)
	got := NewFrame(2, 2)
	var pkt []byte
	total := 0
	for i := range n {
		drawPattern(src, i)
		var key bool
		var err error
		pkt, key, err = e.EncodeFrame(src, pkt, false)
		if err != nil {
			t.Fatalf("frame %d: encode: %v", i, err)
		}
		if len(pkt) == 0 {
			t.Fatalf("frame %d: encoder dropped a frame", i)
		}
		if i == 0 && !key {
			t.Fatal("first frame is not a key frame")
		}
		if i > 0 && key {
			t.Errorf("frame %d: unexpected key frame", i)
		}
		total += len(pkt)
		if err := d.Decode(pkt, got); err != nil {
			t.Fatalf("frame %d: decode: %v", i, err)
		}
		if got.Width != w || got.Height != h {
			t.Fatalf("frame %d: decoded %dx%d, want %dx%d", i, got.Width, got.Height, w, h)
		}
		if mae := meanAbsY(t, src, got); mae >= 6 {
			t.Errorf("frame %d: mean abs Y error %.2f, want < 6", i, mae)
		}
	}
	t.Logf("%d frames, %d bytes, %.0f kbps at 15 fps", n, total, float64(total*8*15)/n/1000)
	// Centre of the red rectangle in the last frame.
	x, y := w/8+2*(n-1)+w/8, h/8+h/8
	if p := pixel(got, x, y); !near(p, red, 6) {
		t.Errorf("red region decoded as %v, want about %v", p, red)
	}
	x, y = w/2+w/10, h/2-2*(n-1)+h/10
	if p := pixel(got, x, y); !near(p, blue, 6) {
		t.Errorf("blue region decoded as %v, want about %v", p, blue)
	}
}

func TestVP8ForceKey(t *testing.T) {
	e := newTestEncoder(t, 320, 180, 15, 500)
	var pkt []byte
	for i := range 8 {
		drawPattern(e.Input(), i)
		force := i == 5
		var key bool
		var err error
		pkt, key, err = e.Encode(pkt, force)
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 0 || force; key != want {
			t.Errorf("frame %d: key %v, want %v", i, key, want)
		}
	}
}

func TestVP8KeyframeInterval(t *testing.T) {
	e, err := NewVP8Encoder(VP8EncoderParams{Width: 160, Height: 120, FPS: 15, BitrateKbps: 200, KeyframeInterval: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	keys := 0
	for i := range 20 {
		drawPattern(e.Input(), i)
		_, key, err := e.Encode(nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if key {
			keys++
		}
	}
	if keys < 4 {
		t.Errorf("%d key frames in 20 with interval 5, want at least 4", keys)
	}
}

func TestVP8EncoderParams(t *testing.T) {
	good := VP8EncoderParams{Width: 320, Height: 180, FPS: 15, BitrateKbps: 300}
	for name, mod := range map[string]func(*VP8EncoderParams){
		"positive cpu-used": func(p *VP8EncoderParams) { p.CPUUsed = 4 },
		"cpu-used too low":  func(p *VP8EncoderParams) { p.CPUUsed = -17 },
		"odd width":         func(p *VP8EncoderParams) { p.Width = 321 },
		"zero height":       func(p *VP8EncoderParams) { p.Height = 0 },
		"huge":              func(p *VP8EncoderParams) { p.Width = 20000 },
		"zero fps":          func(p *VP8EncoderParams) { p.FPS = 0 },
		"zero bitrate":      func(p *VP8EncoderParams) { p.BitrateKbps = 0 },
		"negative interval": func(p *VP8EncoderParams) { p.KeyframeInterval = -1 },
	} {
		p := good
		mod(&p)
		e, err := NewVP8Encoder(p)
		if !errors.Is(err, ErrBadParams) {
			t.Errorf("%s: err = %v, want ErrBadParams", name, err)
		}
		if e != nil {
			e.Close()
		}
	}
	p := good
	p.CPUUsed = -4
	e, err := NewVP8Encoder(p)
	if err != nil {
		t.Fatalf("cpu-used -4: %v", err)
	}
	e.Close()
}

func TestVP8EncoderMisuse(t *testing.T) {
	e := newTestEncoder(t, 320, 180, 15, 300)
	if _, _, err := e.EncodeFrame(NewFrame(640, 360), nil, false); !errors.Is(err, ErrFrameSize) {
		t.Errorf("wrong-size frame: err = %v, want ErrFrameSize", err)
	}
	if _, _, err := e.EncodeFrame(nil, nil, false); !errors.Is(err, ErrFrameSize) {
		t.Errorf("nil frame: err = %v, want ErrFrameSize", err)
	}
	if err := e.SetBitrate(0, false); !errors.Is(err, ErrBadParams) {
		t.Errorf("SetBitrate(0): err = %v, want ErrBadParams", err)
	}
	if err := e.SetBitrate(800, false); err != nil {
		t.Errorf("SetBitrate(800): %v", err)
	}
	in := e.Input()
	in.Resize(640, 360) // forbidden: swaps the C planes for Go memory
	if _, _, err := e.Encode(nil, false); !errors.Is(err, ErrFrameSize) {
		t.Errorf("resized input: err = %v, want ErrFrameSize", err)
	}
	e.Close()
	e.Close()
	if _, _, err := e.Encode(nil, false); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
	if err := e.SetBitrate(500, false); !errors.Is(err, ErrClosed) {
		t.Errorf("SetBitrate after Close: err = %v, want ErrClosed", err)
	}
}

func TestVP8SetBitrate(t *testing.T) {
	e := newTestEncoder(t, 640, 360, 15, 1500)
	size := func(from, n int) int {
		total := 0
		for i := range n {
			drawPattern(e.Input(), from+i)
			// Mild changing noise gives every frame residual to code
			// that a coarser quantizer can drop.
			in := e.Input()
			for j := range in.Y {
				in.Y[j] += byte((uint32(j*(from+i+1))*2654435761)>>29) - 4
			}
			pkt, _, err := e.Encode(nil, false)
			if err != nil {
				t.Fatal(err)
			}
			total += len(pkt)
		}
		return total
	}
	size(0, 15)
	high := size(15, 30)
	if err := e.SetBitrate(150, false); err != nil {
		t.Fatal(err)
	}
	size(45, 15)
	low := size(60, 30)
	t.Logf("bytes per 30 frames: %d at 1500 kbps, %d at 150 kbps", high, low)
	if low*2 > high {
		t.Errorf("lowering the bitrate 10x shrank output only from %d to %d bytes", high, low)
	}
}

// A picture too rich for its target skips frames only where the encoder
// may drop them; otherwise every input makes a frame, however large.
func TestVP8DropsFramesOnlyWhenAllowed(t *testing.T) {
	for _, drop := range []bool{false, true} {
		e := newTestEncoder(t, 640, 360, 30, 1500)
		if err := e.SetBitrate(40, drop); err != nil {
			t.Fatal(err)
		}
		skipped := 0
		for i := range 60 {
			in := e.Input()
			for j := range in.Y {
				in.Y[j] = byte((uint32(j*(i+7)) * 2654435761) >> 24) // noise: nothing to predict
			}
			pkt, _, err := e.Encode(nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(pkt) == 0 {
				skipped++
			}
		}
		t.Logf("drop %v: %d of 60 frames skipped", drop, skipped)
		if drop && skipped == 0 || !drop && skipped != 0 {
			t.Errorf("drop %v: %d of 60 frames skipped", drop, skipped)
		}
	}
}

func TestVP8DecodeGarbage(t *testing.T) {
	stream := encodeStream(t, 320, 180, 3)
	d := newTestDecoder(t)
	dst := patternFrame(64, 64, 0)
	want := cloneFrame(dst)

	garbage := [][]byte{
		{},
		{0x00},
		{0x01, 0x02, 0x03},
		// Key frame tag with a wrong start code.
		{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2b, 0x40, 0x01, 0xb4, 0x00, 0, 0, 0, 0, 0, 0},
		// Inter frame before any key frame.
		stream[1],
		// Key frame cut short.
		stream[0][:20],
	}
	for i, g := range garbage {
		err := d.Decode(g, dst)
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNoFrame) {
			t.Errorf("garbage %d: err = %v, want ErrCorrupt or ErrNoFrame", i, err)
		}
		if !sameFrame(dst, want) {
			t.Fatalf("garbage %d: dst was modified", i)
		}
	}
	if err := d.Decode(stream[0], dst); err != nil {
		t.Fatalf("key frame after garbage: %v", err)
	}
	if dst.Width != 320 || dst.Height != 180 {
		t.Fatalf("decoded %dx%d, want 320x180", dst.Width, dst.Height)
	}
	if mae := meanAbsY(t, patternFrame(320, 180, 0), dst); mae >= 6 {
		t.Errorf("mean abs Y error %.2f after recovery", mae)
	}

	// Mid-stream damage: a truncated inter frame must be reported, not shown.
	want = cloneFrame(dst)
	if err := d.Decode(stream[1][:len(stream[1])/3], dst); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated inter frame: err = %v, want ErrCorrupt", err)
	}
	if !sameFrame(dst, want) {
		t.Error("truncated inter frame modified dst")
	}
	// libvpx keeps flagging inter frames that reference the damaged picture,
	// which is what tells the caller to keep waiting for a key frame.
	if err := d.Decode(stream[2], dst); !errors.Is(err, ErrCorrupt) {
		t.Errorf("inter frame after damage: err = %v, want ErrCorrupt", err)
	}
	if !sameFrame(dst, want) {
		t.Error("inter frame after damage modified dst")
	}
	if err := d.Decode(stream[0], dst); err != nil {
		t.Errorf("key frame after mid-stream damage: %v", err)
	}

	if err := d.Decode(stream[0], nil); !errors.Is(err, ErrBadParams) {
		t.Errorf("nil dst: err = %v, want ErrBadParams", err)
	}
	d.Close()
	d.Close()
	if err := d.Decode(stream[0], dst); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}

// TestVP8DecodeResize checks that a stream changing size mid-way resizes dst.
func TestVP8DecodeResize(t *testing.T) {
	d := newTestDecoder(t)
	dst := NewFrame(2, 2)
	for _, sz := range [][2]int{{320, 180}, {640, 360}, {160, 90}} {
		pkt := encodeStream(t, sz[0], sz[1], 1)[0]
		if err := d.Decode(pkt, dst); err != nil {
			t.Fatalf("%dx%d: %v", sz[0], sz[1], err)
		}
		if dst.Width != sz[0] || dst.Height != sz[1] {
			t.Fatalf("decoded %dx%d, want %dx%d", dst.Width, dst.Height, sz[0], sz[1])
		}
	}
}

// TestVP8DecodeOddSize decodes a 321x181 stream (screen shares of arbitrary
// windows have odd sizes; our encoder cannot make one, so it was made with
// libvpx directly: 4-byte little-endian length, then the frame, three times;
// left half red, right half blue). Frames are even, so the picture grows by
// one column and row that must repeat the edge rather than hold junk.
func TestVP8DecodeOddSize(t *testing.T) {
	b, err := os.ReadFile("testdata/vp8_321x181.bin")
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDecoder(t)
	dst := NewFrame(2, 2)
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint32(b))
		if n > len(b)-4 {
			t.Fatal("truncated test stream")
		}
		if err := d.Decode(b[4:4+n], dst); err != nil {
			t.Fatal(err)
		}
		b = b[4+n:]
	}
	if dst.Width != 322 || dst.Height != 182 {
		t.Fatalf("decoded %dx%d, want 322x182", dst.Width, dst.Height)
	}
	// Drawn straight from libvpx's buffer, the even size takes the same
	// extra column and row.
	drawn := NewFrame(400, 200)
	if err := d.DrawInto(drawn, 40, 10, 322, 182); err != nil {
		t.Fatal(err)
	}
	copied := NewFrame(400, 200)
	dst.CopyTo(copied, 40, 10)
	if !sameFrame(drawn, copied) {
		t.Error("the odd-sized picture drawn from libvpx's buffer differs from its copy")
	}
	if p := pixel(dst, 10, 10); !near(p, red, 4) {
		t.Errorf("left %v, want about %v", p, red)
	}
	for _, xy := range [][2]int{{300, 100}, {321, 100}, {300, 181}, {321, 181}} {
		if p := pixel(dst, xy[0], xy[1]); !near(p, blue, 4) {
			t.Errorf("(%d,%d) = %v, want about %v", xy[0], xy[1], p, blue)
		}
	}
}

// CopyTo hands out only a picture the last Unpack produced.
func TestVP8CopyToNeedsAnUnpackedPicture(t *testing.T) {
	d := newTestDecoder(t)
	f := NewFrame(2, 2)
	if err := d.CopyTo(f); !errors.Is(err, ErrNoFrame) {
		t.Errorf("CopyTo before any Unpack: err = %v, want ErrNoFrame", err)
	}
	stream := encodeStream(t, 64, 64, 2)
	if err := d.Unpack(stream[0]); err != nil {
		t.Fatal(err)
	}
	if err := d.CopyTo(f); err != nil || f.Width != 64 || f.Height != 64 {
		t.Fatalf("CopyTo after Unpack: %v, %dx%d", err, f.Width, f.Height)
	}
	if err := d.Unpack([]byte{0x31, 0x02, 0x00}); err == nil {
		t.Fatal("Unpack of a truncated frame succeeded")
	}
	if err := d.CopyTo(f); !errors.Is(err, ErrNoFrame) {
		t.Errorf("CopyTo after a failed Unpack: err = %v, want ErrNoFrame (no stale picture)", err)
	}
}

// ScaleTo, straight from libvpx's buffer, gives exactly what copying the
// picture out and scaling the copy gives, at every kind of size: the 3/2
// upscale's two steps, a box downscale, a bilinear one and the picture's
// own size. It needs an unpacked picture and a destination with planes.
func TestVP8ScaleToMatchesCopyThenScale(t *testing.T) {
	d := newTestDecoder(t)
	f := NewFrame(2, 2)
	if err := d.ScaleTo(f); !errors.Is(err, ErrNoFrame) {
		t.Errorf("ScaleTo before any Unpack: err = %v, want ErrNoFrame", err)
	}
	stream := encodeStream(t, 640, 360, 3)
	for _, data := range stream {
		if err := d.Unpack(data); err != nil {
			t.Fatal(err)
		}
	}
	if w, h, ok := d.PictureSize(); !ok || w != 640 || h != 360 {
		t.Fatalf("PictureSize %dx%d %v, want 640x360", w, h, ok)
	}
	copied := NewFrame(2, 2)
	if err := d.CopyTo(copied); err != nil {
		t.Fatal(err)
	}
	for _, size := range [][2]int{{960, 540}, {160, 90}, {320, 180}, {500, 280}, {640, 360}} {
		want := NewFrame(size[0], size[1])
		Scale(copied, want)
		got := NewFrame(size[0], size[1])
		if err := d.ScaleTo(got); err != nil {
			t.Fatalf("%dx%d: %v", size[0], size[1], err)
		}
		if !sameFrame(got, want) {
			t.Errorf("%dx%d: scaled from libvpx's buffer differs from scaled from a copy", size[0], size[1])
		}
	}
	if err := d.ScaleTo(&Frame{Width: 320, Height: 180}); !errors.Is(err, ErrBadParams) {
		t.Errorf("ScaleTo into a frame without planes: err = %v, want ErrBadParams", err)
	}
}

// DrawInto, straight from libvpx's buffer, draws what copying the picture
// out and then copying or scaling it into the rectangle draws, and nothing
// outside the rectangle. It needs an unpacked picture and a rectangle
// inside the destination.
func TestVP8DrawIntoMatchesCopyThenDraw(t *testing.T) {
	d := newTestDecoder(t)
	canvas := NewFrame(1280, 720)
	if err := d.DrawInto(canvas, 0, 0, 640, 360); !errors.Is(err, ErrNoFrame) {
		t.Errorf("DrawInto before any Unpack: err = %v, want ErrNoFrame", err)
	}
	for _, data := range encodeStream(t, 640, 360, 3) {
		if err := d.Unpack(data); err != nil {
			t.Fatal(err)
		}
	}
	copied := NewFrame(2, 2)
	if err := d.CopyTo(copied); err != nil {
		t.Fatal(err)
	}
	for _, r := range [][4]int{{640, 0, 640, 360}, {320, 360, 640, 360}, {0, 90, 960, 540}, {960, 180, 320, 180}} {
		x, y, w, h := r[0], r[1], r[2], r[3]
		want := NewFrame(1280, 720)
		want.Fill(40, 100, 160)
		tile := NewFrame(w, h)
		Scale(copied, tile)
		tile.CopyTo(want, x, y)
		got := NewFrame(1280, 720)
		got.Fill(40, 100, 160)
		if err := d.DrawInto(got, x, y, w, h); err != nil {
			t.Fatalf("%dx%d at (%d,%d): %v", w, h, x, y, err)
		}
		if !sameFrame(got, want) {
			t.Errorf("%dx%d at (%d,%d): drawn from libvpx's buffer differs from drawn from a copy", w, h, x, y)
		}
	}
	for _, r := range [][4]int{{700, 0, 640, 360}, {0, 400, 640, 360}, {-2, 0, 640, 360}, {0, 0, 0, 360}} {
		if err := d.DrawInto(canvas, r[0], r[1], r[2], r[3]); !errors.Is(err, ErrBadParams) {
			t.Errorf("DrawInto %v of a 1280x720 frame: err = %v, want ErrBadParams", r, err)
		}
	}
}
