package codec

import "testing"

func BenchmarkVP8Encode1280x720(b *testing.B) {
	const w, h = 1280, 720
	e := newTestEncoder(b, w, h, 30, 2500)
	frames := make([]*Frame, 16)
	for i := range frames {
		frames[i] = patternFrame(w, h, i)
	}
	pkt := make([]byte, 0, 1<<20)
	bytes := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var err error
		if pkt, _, err = e.EncodeFrame(frames[i%len(frames)], pkt, false); err != nil {
			b.Fatal(err)
		}
		bytes += len(pkt)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "B/frame")
}

func BenchmarkVP8Decode640x360(b *testing.B) {
	stream := encodeStream(b, 640, 360, 30)
	d := newTestDecoder(b)
	dst := NewFrame(640, 360)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := d.Decode(stream[i%len(stream)], dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScale640x360To320x180(b *testing.B) {
	src := patternFrame(640, 360, 0)
	dst := NewFrame(320, 180)
	b.ReportAllocs()
	for b.Loop() {
		Scale(src, dst)
	}
}

func BenchmarkOpusEncode(b *testing.B) {
	e, _ := newTestOpus(b, 32000)
	pcm := sine(FrameSamples, 440, 8000)
	pkt := make([]byte, 0, 1500)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if pkt, err = e.Encode(pcm, pkt); err != nil {
			b.Fatal(err)
		}
	}
}

// A phone leg's audio work per 20 ms: the mix down to 8 kHz and into
// G.711, and the phone's packet out of G.711 and up to 48 kHz.
func BenchmarkG711LegFrame(b *testing.B) {
	enc, err := NewG711Encoder(ULaw)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewG711Decoder(ULaw)
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	pcm := sine(FrameSamples, 440, 8000)
	out := make([]int16, FrameSamples)
	pkt := make([]byte, 0, G711FrameBytes)
	b.ReportAllocs()
	for b.Loop() {
		if pkt, err = enc.Encode(pcm, pkt); err != nil {
			b.Fatal(err)
		}
		if _, err := dec.Decode(pkt, out); err != nil {
			b.Fatal(err)
		}
	}
}
