// Package layout is the pure geometry of the composite picture: given a
// canvas size, the parties present and a mode, it says where each party's
// picture goes.
//
// It also says where a picture of any shape goes inside its tile, and the
// black bars around it (Fit), so that the mixer only draws.
//
// It knows nothing about video frames, so tests can check the arithmetic
// without decoding anything. One catalogue of layouts serves every canvas
// size; sizes are derived from the canvas rather than hard-coded so a
// 640x360 call and a 1920x1080 call look alike.
//
// All rectangles have even position and size because the mixer composes
// I420, whose chroma planes are subsampled by two: an odd edge would smear
// half a chroma sample into the neighbouring tile.
package layout
