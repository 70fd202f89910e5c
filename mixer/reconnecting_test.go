package mixer

import (
	"bytes"
	"testing"
)

// A reconnecting party's tile shows its placeholder, saying so, never its
// last picture; once it is back the tile shows its picture again from the
// first new one.
func TestReconnectingTileShowsItsPlaceholder(t *testing.T) {
	v, s, clock := newDrawingView(t)
	canvas := v.enc.Input()
	frames := encodeFrames(t, 640, 360, 2)
	s.decode(frames[0])
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

	// Back, the party's last picture is not shown as if live: the
	// placeholder stays until a newer picture comes.
	v.m.SetTile("customer", TileInfo{Label: "customer: Ann"})
	v.compose(*clock)
	if !bytes.Equal(canvas.Y, want.Y) {
		t.Error("a party back from reconnecting shows its last picture before a new one came")
	}
	s.decode(frames[1])
	v.compose(*clock)
	wantCentreLuma(t, canvas, 60, "once the party's picture moves again")
}
