package mixer

import (
	"bytes"
	"testing"
)

// A reconnecting party's tile shows its placeholder, saying so, never its
// last picture; once it is back the tile shows its picture again.
func TestReconnectingTileShowsItsPlaceholder(t *testing.T) {
	v, s, clock := newDrawingView(t)
	canvas := v.enc.Input()
	s.decode(encodeFrames(t, 640, 360, 1)[0])
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "at first")

	v.m.SetTile("customer", TileInfo{Label: "customer: Ann", Reconnecting: true})
	v.compose(*clock)
	want := renderPlaceholder("customer: Ann - reconnecting", 640, 360)
	off := renderPlaceholder("customer: Ann", 640, 360)
	if bytes.Equal(want.Y, off.Y) {
		t.Fatal("the reconnecting placeholder looks like the video-off one")
	}
	if !bytes.Equal(canvas.Y, want.Y) {
		t.Error("a reconnecting party's tile does not show its reconnecting placeholder")
	}

	v.m.SetTile("customer", TileInfo{Label: "customer: Ann"})
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "once the party is back")
}
