package mixer

import (
	"time"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

// viewTile is one tile of the canvas: its party, where the party's picture
// goes in it, and what it holds.
type viewTile struct {
	party string
	fit   tileFit
	shows tileShows
	// stale is the picture the tile showed before its party went
	// reconnecting: once back, the tile keeps the placeholder until a newer
	// one comes, rather than show a frozen frame as if live.
	stale tileShows
	// endedAt is the first frame the tile's source had no picture to give
	// while the tile showed its last one; zero while it has.
	endedAt time.Time
}

// endedPictureHold is how long a tile keeps the last picture of a source
// whose track ended before it shows the placeholder: a party leaving ends
// its tracks before the room lays the views out without it, and the
// placeholder would flash in between.
const endedPictureHold = 500 * time.Millisecond

// keepsEndedPicture reports whether the tile keeps, for now, the last
// picture of its own source, which has none to give: the canvas still
// holds it, so nothing is drawn.
func (t *viewTile) keepsEndedPicture(now time.Time) bool {
	if t.shows.picture == nil || t.shows.picture.id != t.party {
		return false // a placeholder, or a stand-in's picture
	}
	if t.endedAt.IsZero() {
		t.endedAt = now
	}
	return now.Sub(t.endedAt) < endedPictureHold
}

// tileShows is the picture a tile of the canvas holds: picture seq of
// picture, or a placeholder (immutable, from the mixer's cache), or nothing
// known (zero).
type tileShows struct {
	picture     *latestPicture
	seq         uint64
	placeholder *codec.Frame
}

// tileFit is one tile of a view and where its source's picture goes in
// it, fitted again only when the picture's size changes. The view owns it.
type tileFit struct {
	rect       layout.Rect
	srcW, srcH int // the picture size place is for
	place      layout.Placement
}

// placement returns where a srcW x srcH picture goes in the tile.
func (fit *tileFit) placement(srcW, srcH int) *layout.Placement {
	if fit.place.Picture.W == 0 || srcW != fit.srcW || srcH != fit.srcH {
		fit.srcW, fit.srcH = srcW, srcH
		fit.place = layout.Fit(fit.rect, srcW, srcH)
	}
	return &fit.place
}

// fillBars blacks out the bars around a picture placed in its tile.
func fillBars(canvas *codec.Frame, place *layout.Placement) {
	for _, b := range place.Bars {
		if b.W > 0 && b.H > 0 {
			canvas.FillRect(b.X, b.Y, b.W, b.H, blackY, blackU, blackV)
		}
	}
}
