package peer

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/threeway-mcu/threeway/codec"
)

// vp8RoundTrip encodes frames (all one size) in order at kbps and returns
// the decoded pictures.
func vp8RoundTrip(t *testing.T, frames []*codec.Frame, kbps int) []*codec.Frame {
	t.Helper()
	w, h := frames[0].Width, frames[0].Height
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: w, Height: h, FPS: 15, BitrateKbps: kbps, CPUUsed: -8})
	if err != nil {
		t.Fatalf("encoder: %v", err)
	}
	defer enc.Close()
	dec, err := codec.NewVP8Decoder()
	if err != nil {
		t.Fatalf("decoder: %v", err)
	}
	defer dec.Close()
	out := make([]*codec.Frame, 0, len(frames))
	var buf []byte
	for i, f := range frames {
		data, _, err := enc.EncodeFrame(f, buf, i == 0)
		if err != nil {
			t.Fatalf("encode frame %d: %v", i, err)
		}
		d := &codec.Frame{}
		if err := dec.Decode(data, d); err != nil {
			t.Fatalf("decode frame %d: %v", i, err)
		}
		out = append(out, d)
		buf = data
	}
	return out
}

// patternAt returns role's pattern for number n scaled (as the server's
// compositor does, with libyuv) to w x h.
func patternAt(role string, n uint16, w, h int) *codec.Frame {
	src := codec.NewFrame(DefaultWidth, DefaultHeight)
	DrawPattern(src, role, n)
	if w == src.Width && h == src.Height {
		return src
	}
	dst := codec.NewFrame(w, h)
	codec.Scale(src, dst)
	return dst
}

// near reports whether every edge of got is within tol pixels of want.
func near(got, want image.Rectangle, tol int) bool {
	d := func(a, b int) bool { return a-b <= tol && b-a <= tol }
	return d(got.Min.X, want.Min.X) && d(got.Min.Y, want.Min.Y) && d(got.Max.X, want.Max.X) && d(got.Max.Y, want.Max.Y)
}

func TestRoleColorsDistinct(t *testing.T) {
	seen := map[[3]byte]string{}
	for _, role := range append(Roles(), ScreenKey, "nobody") {
		y, u, v := RoleColor(role)
		if other, dup := seen[[3]byte{y, u, v}]; dup {
			t.Errorf("%s and %s share colour", role, other)
		}
		seen[[3]byte{y, u, v}] = role
		// Grey and the cells' neutral chroma must not classify as a role.
		if role == "nobody" && chromaClass[int(u)<<8|int(v)] != 0 {
			t.Errorf("grey classifies as role %d", chromaClass[int(u)<<8|int(v)])
		}
	}
}

// TestColourSeparation checks the chroma geometry FindTiles relies on:
// every two colours far more than two radii apart, and the colours a
// picture shows that are no one's pattern (placeholder grey, black, the
// cells' neutral chroma, Chromium's fake camera) outside every radius with
// a margin for coding noise.
func TestColourSeparation(t *testing.T) {
	dist := func(u0, v0, u1, v1 byte) float64 {
		du, dv := float64(u0)-float64(u1), float64(v0)-float64(v1)
		return math.Sqrt(du*du + dv*dv)
	}
	for i, a := range tileKeys {
		_, ua, va := RoleColor(a)
		for _, b := range tileKeys[i+1:] {
			_, ub, vb := RoleColor(b)
			if d := dist(ua, va, ub, vb); d < 2*chromaRadius+40 {
				t.Errorf("%s and %s are %.0f apart in chroma, want at least %d", a, b, d, 2*chromaRadius+40)
			}
		}
		if c := chromaClass[int(ua)<<8|int(va)]; int(c) != i+1 {
			t.Errorf("%s's own chroma classifies as %d", a, c)
		}
	}
	others := []struct {
		name    string
		y, u, v byte
	}{
		{"placeholder grey", 40, 128, 128},
		{"black", 16, 128, 128},
		{"white", 235, 128, 128},
		{"fake camera (I420 planes)", 80, 0, 0},
		{"fake camera background through RGB", 84, 89, 78},
		{"fake camera green as measured by the server side", 80, 84, 74},
	}
	const margin = 15 // coding noise a foreign colour may add
	for _, o := range others {
		for _, key := range tileKeys {
			_, u, v := RoleColor(key)
			if d := dist(o.u, o.v, u, v); d < chromaRadius+margin {
				t.Errorf("%s (U %d, V %d) is %.0f from %s, want at least %d", o.name, o.u, o.v, d, key, chromaRadius+margin)
			}
		}
		if c := chromaClass[int(o.u)<<8|int(o.v)]; c != 0 {
			t.Errorf("%s classifies as %s", o.name, tileKeys[c-1])
		}
		f := codec.NewFrame(64, 36)
		f.Fill(o.y, o.u, o.v)
		if tiles := FindTiles(f); len(tiles) != 0 {
			t.Errorf("%s: found %v", o.name, tiles)
		}
	}
}

func TestPatternRoundTrip(t *testing.T) {
	numbers := []uint16{0, 1, 12345, 65535}
	sizes := []struct{ w, h, kbps int }{
		{640, 360, 600}, // as sent
		{320, 180, 250}, // half size: a small tile of a 1280x720 view
	}
	for _, role := range tileKeys {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", role, sz.w, sz.h), func(t *testing.T) {
				var frames []*codec.Frame
				for _, n := range numbers {
					frames = append(frames, patternAt(role, n, sz.w, sz.h))
				}
				want := image.Rect(0, 0, sz.w, sz.h)
				for i, d := range vp8RoundTrip(t, frames, sz.kbps) {
					tiles := FindTiles(d)
					tile, ok := tiles[role]
					if !ok {
						t.Fatalf("frame %d: role not found; tiles %v", numbers[i], tiles)
					}
					if len(tiles) != 1 {
						t.Errorf("frame %d: extra tiles %v", numbers[i], tiles)
					}
					if !near(tile.Box, want, 2) {
						t.Errorf("frame %d: box %v, want %v", numbers[i], tile.Box, want)
					}
					if min := sz.w * sz.h * 3 / 4; tile.Pixels < min {
						t.Errorf("frame %d: %d pixels, want at least %d", numbers[i], tile.Pixels, min)
					}
					if tile.FrameNumber != int(numbers[i]) {
						t.Errorf("FindTiles read %d, want %d", tile.FrameNumber, numbers[i])
					}
					if n, ok := ReadFrameNumber(d, want); !ok || n != int(numbers[i]) {
						t.Errorf("ReadFrameNumber = %d, %v, want %d", n, ok, numbers[i])
					}
				}
			})
		}
	}
}

// composite paints patterns of the three roles, each w x h, at the given
// places of a black cw x ch canvas.
func composite(cw, ch int, n uint16, places map[string]image.Rectangle) *codec.Frame {
	c := codec.NewFrame(cw, ch)
	for role, r := range places {
		patternAt(role, n, r.Dx(), r.Dy()).CopyTo(c, r.Min.X, r.Min.Y)
	}
	return c
}

func TestFindTilesComposite(t *testing.T) {
	layouts := map[string]struct {
		w, h, kbps int
		places     map[string]image.Rectangle
	}{
		"equal": {1280, 720, 1000, map[string]image.Rectangle{
			"customer": image.Rect(0, 0, 640, 360),
			"agent":    image.Rect(640, 0, 1280, 360),
			"third":    image.Rect(320, 360, 960, 720),
		}},
		// The layout package's maximize mode on 1280x720: the focus large,
		// the others in a column of quarter-width tiles.
		"maximize": {1280, 720, 1000, map[string]image.Rectangle{
			"agent":    image.Rect(0, 90, 960, 630),
			"customer": image.Rect(960, 180, 1280, 360),
			"third":    image.Rect(960, 360, 1280, 540),
		}},
		// A share: the screen large, the three cameras in a column.
		"share": {1280, 720, 1000, map[string]image.Rectangle{
			ScreenKey:  image.Rect(0, 90, 960, 630),
			"customer": image.Rect(960, 90, 1280, 270),
			"agent":    image.Rect(960, 270, 1280, 450),
			"third":    image.Rect(960, 450, 1280, 630),
		}},
		"maximize-small": {640, 360, 500, map[string]image.Rectangle{
			"agent":    image.Rect(0, 44, 480, 314),
			"customer": image.Rect(480, 90, 640, 180),
			"third":    image.Rect(480, 180, 640, 270),
		}},
	}
	for name, l := range layouts {
		t.Run(name, func(t *testing.T) {
			var frames []*codec.Frame
			first := uint16(40000)
			for i := range 20 {
				frames = append(frames, composite(l.w, l.h, first+uint16(i), l.places))
			}
			decoded := vp8RoundTrip(t, frames, l.kbps)
			for i, d := range decoded {
				tiles := FindTiles(d)
				if len(tiles) != len(l.places) {
					t.Fatalf("frame %d: found %d tiles: %v", i, len(tiles), tiles)
				}
				for role, want := range l.places {
					tile := tiles[role]
					if !near(tile.Box, want, 2) {
						t.Errorf("frame %d %s: box %v, want %v", i, role, tile.Box, want)
					}
					if tile.FrameNumber != int(first)+i {
						t.Errorf("frame %d %s: read %d, want %d", i, role, tile.FrameNumber, int(first)+i)
					}
				}
			}
		})
	}
}

// flipCell repaints cell i of a pattern drawn on f with the opposite luma.
func flipCell(f *codec.Frame, i int) {
	x0, y0, x1, y1 := cellRect(i, f.Width, f.Height)
	luma := byte(lumaWhite)
	if f.Y[((y0+y1)/2)*f.Width+(x0+x1)/2] > 128 {
		luma = lumaBlack
	}
	f.FillRect(x0, y0, x1-x0, y1-y0, luma, 128, 128)
}

func TestChecksumRejectsFlippedBits(t *testing.T) {
	box := image.Rect(0, 0, DefaultWidth, DefaultHeight)
	for _, n := range []uint16{0, 1, 12345, 65535} {
		f := codec.NewFrame(DefaultWidth, DefaultHeight)
		DrawPattern(f, "agent", n)
		if got, ok := ReadFrameNumber(f, box); !ok || got != int(n) {
			t.Fatalf("clean pattern read %d, %v, want %d", got, ok, n)
		}
		for i := firstBitCell; i < gridCells; i++ {
			DrawPattern(f, "agent", n)
			flipCell(f, i)
			if got, ok := ReadFrameNumber(f, box); ok || got != -1 {
				t.Errorf("n=%d, cell %d flipped: read %d, %v", n, i, got, ok)
			}
		}
	}
}

// TestChecksumDistance checks the code over every frame number: any one or
// two flipped bits of the 22 coded bits are detected.
func TestChecksumDistance(t *testing.T) {
	const coded = numberBits + checksumBits
	valid := func(word uint32) bool {
		return uint32(crc6(uint16(word>>checksumBits))) == word&(1<<checksumBits-1)
	}
	for n := range 1 << numberBits {
		word := uint32(n)<<checksumBits | uint32(crc6(uint16(n)))
		for i := range coded {
			if valid(word ^ 1<<i) {
				t.Fatalf("n=%d: bit %d flip undetected", n, i)
			}
			if n%97 != 0 { // all pairs for a sample of numbers keeps this fast
				continue
			}
			for j := range i {
				if valid(word ^ 1<<i ^ 1<<j) {
					t.Fatalf("n=%d: bits %d,%d flip undetected", n, i, j)
				}
			}
		}
	}
}

func TestReadRejectsLowContrastAndTinyBoxes(t *testing.T) {
	f := codec.NewFrame(DefaultWidth, DefaultHeight)
	f.Fill(81, 90, 240) // colour with no code at all
	if n, ok := ReadFrameNumber(f, image.Rect(0, 0, f.Width, f.Height)); ok || n != -1 {
		t.Errorf("plain colour read %d, %v", n, ok)
	}
	DrawPattern(f, "customer", 7)
	if n, ok := ReadFrameNumber(f, image.Rect(0, 0, 20, 10)); ok || n != -1 {
		t.Errorf("tiny box read %d, %v", n, ok)
	}
	if n, ok := ReadFrameNumber(f, image.Rect(-100, -100, -10, -10)); ok || n != -1 {
		t.Errorf("box outside frame read %d, %v", n, ok)
	}
	if tiles := FindTiles(&codec.Frame{}); len(tiles) != 0 {
		t.Errorf("empty frame: tiles %v", tiles)
	}
}

// TestReadRobustness measures how well frame numbers survive scaling and
// VP8 at low bitrates: for each tile size and bitrate it encodes a run of
// changing numbers and counts correct reads. Misreads (a wrong number
// passing the checksum) must never happen; a few configurations that real
// calls use must read every frame. Run with -v for the table.
func TestReadRobustness(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	sizes := [][2]int{{640, 360}, {320, 180}, {160, 90}, {96, 54}, {64, 36}, {48, 28}, {32, 18}}
	kbpsList := []int{10, 30, 60, 120, 250, 500}
	// must lists (width, kbps) pairs that have to read 100%.
	must := map[[2]int]bool{{640, 120}: true, {320, 60}: true, {160, 30}: true, {64, 30}: true}
	const frames = 30
	for _, sz := range sizes {
		row := fmt.Sprintf("%4dx%-4d", sz[0], sz[1])
		for _, kbps := range kbpsList {
			var in []*codec.Frame
			for i := range frames {
				in = append(in, patternAt("third", uint16(1000+i*37), sz[0], sz[1]))
			}
			good := 0
			for i, d := range vp8RoundTrip(t, in, kbps) {
				tile, ok := FindTiles(d)["third"]
				switch {
				case !ok || tile.FrameNumber < 0:
				case tile.FrameNumber == 1000+i*37:
					good++
				default:
					t.Errorf("%dx%d @ %d kbps frame %d: misread %d", sz[0], sz[1], kbps, i, tile.FrameNumber)
				}
			}
			row += fmt.Sprintf(" %4d kbps %3d%%", kbps, good*100/frames)
			if must[[2]int{sz[0], kbps}] && good != frames {
				t.Errorf("%dx%d @ %d kbps: read %d/%d", sz[0], sz[1], kbps, good, frames)
			}
		}
		t.Log(row)
	}
}

// TestReadBesideNoise reads small tiles next to a large tile of changing
// noise, the worst a camera can do to the encoder's bit budget: a
// maximize-layout 1280x720 view at 600 kbps.
func TestReadBesideNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var in []*codec.Frame
	const frames = 30
	for i := range frames {
		c := codec.NewFrame(1280, 720)
		for j := range c.Y[:960*720] {
			c.Y[j] = byte(rng.Uint32())
		}
		for j := range c.U {
			c.U[j] = byte(128 + rng.IntN(40) - 20)
			c.V[j] = byte(128 + rng.IntN(40) - 20)
		}
		patternAt("agent", uint16(i*37), 320, 180).CopyTo(c, 960, 180)
		patternAt("third", uint16(i*37), 320, 180).CopyTo(c, 960, 360)
		in = append(in, c)
	}
	for i, d := range vp8RoundTrip(t, in, 600) {
		tiles := FindTiles(d)
		for role, want := range map[string]image.Rectangle{
			"agent": image.Rect(960, 180, 1280, 360), "third": image.Rect(960, 360, 1280, 540),
		} {
			tile := tiles[role]
			if !near(tile.Box, want, 2) || tile.FrameNumber != i*37 {
				t.Errorf("frame %d %s: box %v number %d, want %v %d", i, role, tile.Box, tile.FrameNumber, want, i*37)
			}
		}
		if _, ok := tiles["customer"]; ok {
			t.Errorf("frame %d: noise found as customer: %v", i, tiles["customer"])
		}
	}
}

func BenchmarkFindTiles1280x720(b *testing.B) {
	c := composite(1280, 720, 4242, map[string]image.Rectangle{
		"customer": image.Rect(0, 0, 640, 360),
		"agent":    image.Rect(640, 0, 1280, 360),
		"third":    image.Rect(320, 360, 960, 720),
	})
	var s tileScanner
	b.ReportAllocs()
	for b.Loop() {
		if len(s.find(c)) != 3 {
			b.Fatal("tiles missing")
		}
	}
}

// TestFakeCameraBesideTiles composes Chromium's fake camera (all-zero
// chroma, a bright disc on a dark background in luma) as the customer's
// tile of a three-party picture, as a browser customer looks: only the
// synthetic parties' tiles may be found, where they are.
func TestFakeCameraBesideTiles(t *testing.T) {
	places := map[string]image.Rectangle{
		"agent": image.Rect(640, 0, 1280, 360),
		"third": image.Rect(320, 360, 960, 720),
	}
	var frames []*codec.Frame
	for i := range 20 {
		c := composite(1280, 720, uint16(i), places)
		cam := codec.NewFrame(640, 360)
		cam.Fill(0, 0, 0)
		for y := range 360 {
			for x := range 640 {
				if dx, dy := x-320, y-180; dx*dx+dy*dy < 90*90 && (dx+4*i) > 0 {
					cam.Y[y*640+x] = 255
				}
			}
		}
		cam.CopyTo(c, 0, 0)
		frames = append(frames, c)
	}
	for i, d := range vp8RoundTrip(t, frames, 1000) {
		tiles := FindTiles(d)
		if len(tiles) != len(places) {
			t.Fatalf("frame %d: found %v", i, tiles)
		}
		for role, want := range places {
			if tile := tiles[role]; !near(tile.Box, want, 2) || tile.FrameNumber != i {
				t.Errorf("frame %d %s: box %v number %d, want %v %d", i, role, tile.Box, tile.FrameNumber, want, i)
			}
		}
	}
}
