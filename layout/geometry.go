package layout

import "fmt"

// even rounds a non-negative n down to even. Rounding down, never up, is
// what keeps rounded tiles inside the box they were fitted to, so rounding
// can never create overlap.
func even(n int) int { return n &^ 1 }

// fit returns the largest even-sized 16:9 box within bw x bh. The height is
// derived from the rounded width, so the ratio is off by less than 2 pixels
// of height.
func fit(bw, bh int) (w, h int) {
	w = even(min(bw, bh*16/9))
	return w, even(w * 9 / 16)
}

// tooSmall reports a canvas that cannot hold n tiles of w x h.
func tooSmall(width, height, n, w, h int) error {
	if w > 0 && h > 0 {
		return nil
	}
	return fmt.Errorf("%w: %dx%d cannot hold %d tiles", ErrBadCanvas, width, height, n)
}

// appendEqual lays the parties out in rows of two, same-size tiles, with a
// short last row centred under the full ones (three parties: two on top,
// one below). Two columns rather than a row of three because 16:9 tiles in
// a 16:9 canvas fill it best as a square grid.
func appendEqual(dst []Tile, width, height int, parties []string) ([]Tile, error) {
	n := len(parties)
	if n == 0 {
		return dst, nil
	}
	cols := min(n, 2)
	rows := (n + cols - 1) / cols
	w, h := fit(width/cols, height/rows)
	if err := tooSmall(width, height, n, w, h); err != nil {
		return dst, err
	}
	x0 := even((width - cols*w) / 2)
	y0 := even((height - rows*h) / 2)
	for i, p := range parties {
		r, c := i/cols, i%cols
		x := x0 + c*w
		if missing := cols - min(cols, n-r*cols); missing > 0 {
			x += even(missing * w / 2)
		}
		dst = append(dst, Tile{Party: p, Rect: Rect{X: x, Y: y0 + r*h, W: w, H: h}})
	}
	return dst, nil
}

// appendMaximize shows focus large with the others in a column on its
// right. The small tiles are sized first (a quarter of the canvas width, or
// less if the column would not fit the height) so that they stay
// recognisable whatever the canvas; the large tile takes what is left.
func appendMaximize(dst []Tile, width, height int, parties []string, focus string) ([]Tile, error) {
	k := len(parties) - 1
	if k == 0 {
		// Nobody to put in the column: a quarter-width gap would only
		// shrink the one picture there is.
		return appendEqual(dst, width, height, parties)
	}
	sw, sh := fit(width/4, height/k)
	lw, lh := fit(width-sw, height)
	if err := tooSmall(width, height, len(parties), min(sw, lw), min(sh, lh)); err != nil {
		return dst, err
	}
	x0 := even((width - lw - sw) / 2)
	ly := even((height - lh) / 2)
	cy := even((height - k*sh) / 2)
	i := 0
	for _, p := range parties {
		if p == focus {
			dst = append(dst, Tile{Party: p, Rect: Rect{X: x0, Y: ly, W: lw, H: lh}})
			continue
		}
		dst = append(dst, Tile{Party: p, Rect: Rect{X: x0 + lw, Y: cy + i*sh, W: sw, H: sh}})
		i++
	}
	return dst, nil
}
