package codec

import (
	"bytes"
	"testing"
)

// An encoder whose token buffer's zero pages were given back at open
// encodes exactly what one that kept them does, frame for frame: the
// pages read as zeros again. At 1280x720 it gives back most of the
// buffer's 22 MB, and an encoder opened later gives back its own buffer's
// pages only, not those of the encoders already at work (the kernel may
// merge their mappings into one).
func TestTrimmedEncoderEncodesTheSame(t *testing.T) {
	TuneMalloc() // as the server does: big buffers get their own mappings
	open := func(trim bool) *VP8Encoder {
		TrimEncoders(trim)
		defer TrimEncoders(true)
		e, err := NewVP8Encoder(VP8EncoderParams{Width: 1280, Height: 720, FPS: 15, BitrateKbps: 1200})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		return e
	}
	kept, trimmed := open(false), open(true)
	t.Logf("gave back %.1f MB at open", float64(trimmed.TrimmedBytes())/1e6)
	if kept.TrimmedBytes() != 0 || trimmed.TrimmedBytes() < 15e6 {
		t.Errorf("gave back %d bytes with trimming off and %d with it on, want 0 and most of 22 MB",
			kept.TrimmedBytes(), trimmed.TrimmedBytes())
	}
	var a, b []byte
	for i := range 45 {
		for _, e := range []*VP8Encoder{kept, trimmed} {
			in := e.Input()
			for y := range in.Height {
				row := in.Y[y*in.Width : (y+1)*in.Width]
				for x := range row {
					row[x] = byte(x*3 + y*5 + i*7 + (x*y)%17)
				}
			}
			for j := range in.U {
				in.U[j], in.V[j] = byte(j+i), byte(2*j-i)
			}
		}
		var err error
		if a, _, err = kept.Encode(a[:0], i%30 == 0); err != nil {
			t.Fatal(err)
		}
		if b, _, err = trimmed.Encode(b[:0], i%30 == 0); err != nil {
			t.Fatal(err)
		}
		if i == 20 {
			later := open(true)
			if got := later.TrimmedBytes(); got > 23e6 {
				t.Errorf("an encoder opened later gave back %.1f MB, more than its own token buffer", float64(got)/1e6)
			}
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("frame %d: the trimmed encoder made %d bytes, the other %d, not the same", i, len(b), len(a))
		}
	}
}
