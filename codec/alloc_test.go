package codec

import "testing"

// TestSteadyStateAllocs pins down that the per-frame paths allocate nothing
// once their buffers are warm: the mixer runs them for every frame of every
// participant.
func TestSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const w, h = 320, 180
	stream := encodeStream(t, w, h, 20)

	e := newTestEncoder(t, w, h, 15, 600)
	pkt := make([]byte, 0, 1<<20)
	i := 0
	if a := testing.AllocsPerRun(20, func() {
		drawPatternCheap(e.Input(), i)
		i++
		var err error
		if pkt, _, err = e.Encode(pkt, i%7 == 0); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("VP8 Encode: %v allocs per call", a)
	}

	d := newTestDecoder(t)
	dst := NewFrame(w, h)
	i = 0
	if a := testing.AllocsPerRun(50, func() {
		if err := d.Decode(stream[i%len(stream)], dst); err != nil {
			t.Fatal(err)
		}
		i++
	}); a != 0 {
		t.Errorf("VP8 Decode: %v allocs per call", a)
	}

	src := splitFrame(640, 360)
	for _, sz := range [][2]int{{320, 180}, {160, 90}, {1280, 720}, {640, 360}} {
		dst := NewFrame(sz[0], sz[1])
		if a := testing.AllocsPerRun(10, func() { Scale(src, dst) }); a != 0 {
			t.Errorf("Scale to %dx%d: %v allocs per call", sz[0], sz[1], a)
		}
	}

	oe, od := newTestOpus(t, 32000)
	pcm := sine(FrameSamples, 440, 8000)
	out := make([]int16, MaxDecodeSamples)
	opkt := make([]byte, 0, 1500)
	if a := testing.AllocsPerRun(50, func() {
		var err error
		if opkt, err = oe.Encode(pcm, opkt); err != nil {
			t.Fatal(err)
		}
		if _, err = od.Decode(opkt, out); err != nil {
			t.Fatal(err)
		}
		if _, err = od.Conceal(out); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Opus encode+decode+conceal: %v allocs per call", a)
	}
}

// drawPatternCheap moves two rectangles over a flat background, enough
// change for the encoder without drawPattern's per-pixel gradient loop.
func drawPatternCheap(f *Frame, t int) {
	f.Fill(90, 128, 128)
	f.FillRect(f.Width/8+2*(t%40), f.Height/8, f.Width/4, f.Height/4, red[0], red[1], red[2])
	f.FillRect(f.Width/2, f.Height/2-(t%30), f.Width/5, f.Height/5, blue[0], blue[1], blue[2])
}
