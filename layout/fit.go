package layout

// Placement is where a picture goes in a tile: the picture's own rectangle,
// and the bars that fill the rest of the tile where their shapes differ.
type Placement struct {
	Picture Rect
	// Bars are left and right of the picture, or above and below it; a
	// bar of zero width or height is none.
	Bars [2]Rect
}

// FitSize is the largest even size of a srcW x srcH picture's shape inside
// a boxW x boxH box. Shapes within 2% of the box's fill it exactly, so
// rounding never leaves hairline bars; an unknown size (zero) fills it too.
func FitSize(srcW, srcH, boxW, boxH int) (w, h int) {
	if srcW <= 0 || srcH <= 0 {
		return boxW, boxH
	}
	// Compare srcW/srcH with boxW/boxH in integers.
	a, b := srcW*boxH, boxW*srcH
	switch {
	case a*100 <= b*102 && b*100 <= a*102:
		return boxW, boxH
	case a > b: // wider than the box: full width, bars above and below
		return boxW, max(2, even(boxW*srcH/srcW))
	default: // taller: full height, bars left and right
		return max(2, even(boxH*srcW/srcH)), boxH
	}
}

// Fit places a srcW x srcH picture in tile r: at FitSize, centred at even
// coordinates (rounded towards the tile's top left), as I420's chroma
// needs, with bars over the rest of the tile.
func Fit(r Rect, srcW, srcH int) Placement {
	w, h := FitSize(srcW, srcH, r.W, r.H)
	p := Rect{X: r.X + even((r.W-w)/2), Y: r.Y + even((r.H-h)/2), W: w, H: h}
	var bars [2]Rect
	switch {
	case w < r.W:
		bars[0] = Rect{X: r.X, Y: r.Y, W: p.X - r.X, H: r.H}
		bars[1] = Rect{X: p.X + w, Y: r.Y, W: r.X + r.W - p.X - w, H: r.H}
	case h < r.H:
		bars[0] = Rect{X: r.X, Y: r.Y, W: r.W, H: p.Y - r.Y}
		bars[1] = Rect{X: r.X, Y: p.Y + h, W: r.W, H: r.Y + r.H - p.Y - h}
	}
	return Placement{Picture: p, Bars: bars}
}
