package mixer

import (
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// whileSharing is the spec of a view while someone shares a screen: the
// screen in the big tile, the cameras small.
var whileSharing = layout.Spec{Parties: []string{"customer", "agent", "screen"}, Mode: layout.Maximize, Focus: "screen"}

// From the moment a share starts until the screen's first picture, which
// takes a browser a second or two, the big tile shows the sharer: its
// camera's picture scaled into the tile, or its placeholder while the
// camera has none; never an empty tile. The screen's picture takes over
// from its first.
func TestScreenTileShowsTheSharerUntilItsFirstPicture(t *testing.T) {
	m := newTestMixer(t, 1280, 720)
	v := addTestView(t, m, whileSharing)
	m.SetTile("screen", TileInfo{Label: "customer: Ann", StandIn: "customer"})
	canvas := v.enc.Input()
	big := tileOf(t, v, "screen").fit.rect
	now := time.Now()

	v.compose(now)
	if !showsPlaceholder(canvas, big, "customer: Ann") {
		t.Error("with no picture of the sharer the big tile does not show the sharer's placeholder")
	}

	camera, _ := newTestSourceOf(t, "customer")
	camera.decode(keyFrame(t, 640, 360, 90))
	addTestSource(t, m, camera)
	v.compose(now)
	wantTileLuma(t, canvas, big, 90, "before the screen's first packet")

	screen, _ := newTestSourceOf(t, "screen") // its first packet came
	addTestSource(t, m, screen)
	v.compose(now)
	wantTileLuma(t, canvas, big, 90, "before the screen's first picture")

	screen.decode(keyFrame(t, 1280, 720, 160))
	v.compose(now)
	wantTileLuma(t, canvas, big, 160, "from the screen's first picture on")
}

// addTestSource adds s to m, as its ingest would.
func addTestSource(t *testing.T, m *Mixer, s *source) {
	t.Helper()
	if err := m.addSource(s); err != nil {
		t.Fatal(err)
	}
}
