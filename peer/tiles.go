package peer

import (
	"image"
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

// Tile is where a role's picture was found in a received picture.
type Tile struct {
	Box         image.Rectangle // bounding box of the role colour, in picture pixels
	Pixels      int             // pixels of that colour (estimate at full resolution)
	FrameNumber int             // frame number read in this tile, -1 if unreadable
	ReadAt      time.Time       // when the picture was analysed (zero from FindTiles)
}

const (
	// chromaRadius is how far (in U,V units) a chroma sample may be from a
	// colour's chroma to count as that colour: wide enough for what VP8
	// does to a flat colour at low bitrates, narrow enough to keep out
	// every colour that is no role's (Chromium's fake camera, greys).
	// TestColourSeparation checks both.
	chromaRadius = 30
	// minTileSamples is the fewest chroma samples of a colour that make a
	// tile; fewer are treated as noise.
	minTileSamples = 16
)

// tileKeys are the colours FindTiles looks for: the roles' and the
// screen share's, in the order of chromaClass.
var tileKeys = append(Roles(), ScreenKey)

// chromaClass maps U<<8|V to 1 + the index in tileKeys of the colour it is
// near, or 0 for none: one table lookup per chroma sample keeps the
// analysis of every received picture cheap.
var chromaClass = buildChromaClass()

func buildChromaClass() *[1 << 16]uint8 {
	var t [1 << 16]uint8
	for i, key := range tileKeys {
		_, cu, cv := RoleColor(key)
		for u := range 256 {
			for v := range 256 {
				du, dv := u-int(cu), v-int(cv)
				if du*du+dv*dv <= chromaRadius*chromaRadius {
					t[u<<8|v] = uint8(i + 1)
				}
			}
		}
	}
	return &t
}

// FindTiles finds each role's colour, and a screen share's (key
// ScreenKey), in f and returns, by role, its bounding box, pixel count and
// the frame number read from its block code. Colours absent are not in the
// map.
func FindTiles(f *codec.Frame) map[string]Tile {
	var s tileScanner
	return s.find(f)
}

// tileScanner holds the histograms of FindTiles so that a receiver
// analysing every frame reuses them.
type tileScanner struct {
	rows, cols [4][]int32 // by tileKeys index
}

// find classifies chroma samples and derives per-role boxes from row and
// column histograms: a row (column) belongs to the box when it holds at
// least a quarter of the fullest row's (column's) samples of that colour,
// so stray pixels from coding noise do not stretch the box. Tiles are
// large flat areas, so it classifies every other sample of every other row
// (a quarter of them) and then looks at the row or column just outside
// each edge that this skipped: boxes are as exact as from every sample.
func (s *tileScanner) find(f *codec.Frame) map[string]Tile {
	tiles := make(map[string]Tile, len(tileKeys))
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	if cw <= 0 || ch <= 0 || len(f.U) < cw*ch || len(f.V) < cw*ch {
		return tiles
	}
	// Bin i of a histogram is chroma row (column) 2i.
	for i := range s.rows {
		s.rows[i] = resetCounts(s.rows[i], (ch+1)/2)
		s.cols[i] = resetCounts(s.cols[i], (cw+1)/2)
	}
	class := chromaClass
	for y := 0; y < ch; y += 2 {
		us, vs := f.U[y*cw:(y+1)*cw], f.V[y*cw:(y+1)*cw]
		for x := 0; x < len(us); x += 2 {
			if c := class[int(us[x])<<8|int(vs[x])]; c != 0 {
				s.rows[c-1][y/2]++
				s.cols[c-1][x/2]++
			}
		}
	}
	for i, role := range tileKeys {
		total := 0
		for _, n := range s.rows[i] {
			total += int(n)
		}
		// Each sample counted stands for four, each of four pixels.
		if 4*total < minTileSamples {
			continue
		}
		ry0, ry1, rowMin := span(s.rows[i])
		rx0, rx1, colMin := span(s.cols[i])
		if ry0 == ry1 || rx0 == rx1 {
			continue
		}
		// From bins to chroma lines, then the skipped line beyond each edge.
		y0, y1, x0, x1 := 2*ry0, 2*ry1-1, 2*rx0, 2*rx1-1
		key := uint8(i + 1)
		if y0 > 0 && lineCount(f, key, y0-1, true) >= rowMin {
			y0--
		}
		if y1 < ch && lineCount(f, key, y1, true) >= rowMin {
			y1++
		}
		if x0 > 0 && lineCount(f, key, x0-1, false) >= colMin {
			x0--
		}
		if x1 < cw && lineCount(f, key, x1, false) >= colMin {
			x1++
		}
		box := image.Rect(2*x0, 2*y0, 2*x1, 2*y1)
		n, ok := ReadFrameNumber(f, box)
		if !ok {
			n = -1
		}
		tiles[role] = Tile{Box: box, Pixels: 16 * total, FrameNumber: n}
	}
	return tiles
}

// lineCount counts the samples of colour key (1 + its tileKeys index) in
// chroma row i (or column i), sampled as find's histograms are: every
// other column of the row (every other row of the column).
func lineCount(f *codec.Frame, key uint8, i int, row bool) int32 {
	cw, ch := f.ChromaWidth(), f.ChromaHeight()
	var n int32
	if row {
		us, vs := f.U[i*cw:(i+1)*cw], f.V[i*cw:(i+1)*cw]
		for x := 0; x < len(us); x += 2 {
			if chromaClass[int(us[x])<<8|int(vs[x])] == key {
				n++
			}
		}
		return n
	}
	for y := 0; y < ch; y += 2 {
		if chromaClass[int(f.U[y*cw+i])<<8|int(f.V[y*cw+i])] == key {
			n++
		}
	}
	return n
}

// span returns the half-open index range from the first to the last
// histogram bin holding at least a quarter of the largest bin (and at
// least 2), and that threshold.
func span(h []int32) (lo, hi int, threshold int32) {
	var peak int32
	for _, n := range h {
		peak = max(peak, n)
	}
	threshold = max(2, peak/4)
	lo, hi = -1, -1
	for i, n := range h {
		if n >= threshold {
			if lo < 0 {
				lo = i
			}
			hi = i + 1
		}
	}
	if lo < 0 {
		return 0, 0, threshold
	}
	return lo, hi, threshold
}

func resetCounts(c []int32, n int) []int32 {
	if cap(c) < n {
		return make([]int32, n)
	}
	c = c[:n]
	clear(c)
	return c
}
