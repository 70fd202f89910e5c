package peer

import (
	"image"

	"github.com/threeway-mcu/threeway/codec"
)

// The block code is a grid of cells laid over the role colour. Positions
// are fractions of the picture, so the same arithmetic finds the cells in
// the sent frame and in a tile of any size: the grid starts one cell in
// from the top-left corner, and cells are 1/16 of the width by 1/9 of the
// height (40x40 pixels in a 640x360 frame). The grid spans x in [1/16,
// 9/16] and y in [1/9, 4/9], so the role colour surrounds it on every side
// and a tile's colour bounding box is the whole tile.
//
// Cell 0 is white and cell 1 black (calibration), cells 2..17 hold the
// frame number most significant bit first, cells 18..23 a CRC-6 of it.
const (
	gridCols     = 8
	gridRows     = 3
	gridCells    = gridCols * gridRows
	gridDivX     = 16 // cell width is picture width / gridDivX
	gridDivY     = 9  // cell height is picture height / gridDivY
	numberBits   = 16
	checksumBits = 6
	firstBitCell = 2
	firstSumCell = firstBitCell + numberBits

	lumaWhite = 235
	lumaBlack = 16
	// minContrast is the least white-minus-black luma difference between
	// the calibration cells for a reading to be trusted.
	minContrast = 60
	// minReadWidth and minReadHeight are the smallest boxes in which
	// ReadFrameNumber tries at all.
	minReadWidth  = 2 * gridDivX
	minReadHeight = 2 * gridDivY
)

// Roles lists the call roles in protocol order.
func Roles() []string { return []string{"customer", "agent", "third"} }

// ScreenKey is the name of a screen share's pattern: RoleColor(ScreenKey)
// is its colour and FindTiles reports it under this key.
const ScreenKey = "screen"

// RoleColor is the solid YUV colour a role's video is filled with:
// customer red, agent green, third blue, and the screen share (ScreenKey)
// yellow; anything else grey. Every two of them are over 110 apart in
// chroma.
func RoleColor(role string) (y, u, v byte) {
	switch role {
	case "customer":
		return 81, 90, 240
	case "agent":
		return 145, 54, 34
	case "third":
		return 41, 240, 110
	case ScreenKey:
		return 210, 16, 146
	}
	return 128, 128, 128
}

// DrawPattern paints f with the role's (or ScreenKey's) colour and the
// block code of frame.
func DrawPattern(f *codec.Frame, role string, frame uint16) {
	y, u, v := RoleColor(role)
	f.Fill(y, u, v)
	bits := cellBits(frame)
	for i := range gridCells {
		x0, y0, x1, y1 := cellRect(i, f.Width, f.Height)
		luma := byte(lumaBlack)
		if bits&(1<<(gridCells-1-i)) != 0 {
			luma = lumaWhite
		}
		f.FillRect(x0, y0, x1-x0, y1-y0, luma, 128, 128)
	}
}

// cellBits returns the 24 cell values (1 white, 0 black), cell 0 in the
// most significant of the low 24 bits.
func cellBits(frame uint16) uint32 {
	return 1<<(gridCells-1) | // white calibration cell; cell 1 stays black
		uint32(frame)<<checksumBits | uint32(crc6(frame))
}

// cellRect is cell i's rectangle in a w x h picture.
func cellRect(i, w, h int) (x0, y0, x1, y1 int) {
	col, row := i%gridCols, i/gridCols
	return w * (1 + col) / gridDivX, h * (1 + row) / gridDivY,
		w * (2 + col) / gridDivX, h * (2 + row) / gridDivY
}

// crc6 is CRC-6-ITU (x^6 + x + 1, zero initial value) over the 16 bits of
// n, most significant first. The polynomial is primitive, so every one- and
// two-bit error in the 22 coded bits changes the check.
func crc6(n uint16) uint8 {
	var crc uint8
	for i := numberBits - 1; i >= 0; i-- {
		fb := (crc>>5)&1 ^ uint8(n>>i)&1
		crc = (crc << 1) & 0x3f
		if fb != 0 {
			crc ^= 0x03
		}
	}
	return crc
}

// ReadFrameNumber reads the block code of a pattern shown scaled into box
// (a tile's bounding box in f, as FindTiles reports it). It averages the
// luma around each cell centre and thresholds halfway between the two
// calibration cells. It returns -1 and false when the box is too small,
// the calibration contrast is under 60, a cell is ambiguous (not within the
// outer quarters of the calibration range) or the checksum does not match.
// Reading is reliable from 64x36 boxes up; below that it fails safely.
func ReadFrameNumber(f *codec.Frame, box image.Rectangle) (int, bool) {
	box = box.Intersect(image.Rect(0, 0, f.Width, f.Height))
	if box.Dx() < minReadWidth || box.Dy() < minReadHeight || len(f.Y) < f.Width*f.Height {
		return -1, false
	}
	r := max(1, min(box.Dx()/gridDivX, box.Dy()/gridDivY)/5)
	var levels [gridCells]int
	for i := range gridCells {
		col, row := i%gridCols, i/gridCols
		// Centre of the cell: (1.5 + col) / 16 of the width, rounded.
		cx := box.Min.X + (box.Dx()*(3+2*col)+gridDivX)/(2*gridDivX)
		cy := box.Min.Y + (box.Dy()*(3+2*row)+gridDivY)/(2*gridDivY)
		levels[i] = meanLuma(f, image.Rect(cx-r, cy-r, cx+r+1, cy+r+1))
	}
	white, black := levels[0], levels[1]
	if white-black < minContrast {
		return -1, false
	}
	threshold := (white + black) / 2
	// A cell must sit clearly on one side: within the outer quarters of
	// the calibration range, so blur between cells is not read as a bit.
	margin := (white - black) / 4
	var code uint32
	for i := firstBitCell; i < gridCells; i++ {
		code <<= 1
		switch l := levels[i]; {
		case l >= threshold+margin:
			code |= 1
		case l > threshold-margin:
			return -1, false
		}
	}
	n := uint16(code >> checksumBits)
	if uint8(code&(1<<checksumBits-1)) != crc6(n) {
		return -1, false
	}
	return int(n), true
}

// meanLuma averages the luma of r clipped to f (r must overlap f).
func meanLuma(f *codec.Frame, r image.Rectangle) int {
	r = r.Intersect(image.Rect(0, 0, f.Width, f.Height))
	if r.Empty() {
		return 0
	}
	sum := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for _, v := range f.Y[y*f.Width+r.Min.X : y*f.Width+r.Max.X] {
			sum += int(v)
		}
	}
	return sum / (r.Dx() * r.Dy())
}
