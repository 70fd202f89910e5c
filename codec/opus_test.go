package codec

import (
	"errors"
	"math"
	"testing"
)

// goertzel returns the power of frequency f (Hz) in x.
func goertzel(x []int16, f float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*f/SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

func sine(n int, freq, amp float64) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/SampleRate))
	}
	return pcm
}

func newTestOpus(t testing.TB, bitrate int) (*OpusEncoder, *OpusDecoder) {
	t.Helper()
	e, err := NewOpusEncoder(bitrate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	d, err := NewOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return e, d
}

func TestOpusRoundTrip(t *testing.T) {
	e, d := newTestOpus(t, 32000)
	src := sine(SampleRate, 440, 10000)
	var out []int16
	pcm := make([]int16, MaxDecodeSamples)
	var pkt []byte
	bytes := 0
	for off := 0; off+FrameSamples <= len(src); off += FrameSamples {
		var err error
		pkt, err = e.Encode(src[off:off+FrameSamples], pkt)
		if err != nil {
			t.Fatal(err)
		}
		bytes += len(pkt)
		n, err := d.Decode(pkt, pcm)
		if err != nil {
			t.Fatal(err)
		}
		if n != FrameSamples {
			t.Fatalf("decoded %d samples, want %d", n, FrameSamples)
		}
		out = append(out, pcm[:n]...)
	}
	t.Logf("1 s of audio in %d bytes", bytes)
	// Skip the first 100 ms, where the codec is still converging.
	tail := out[SampleRate/10:]
	p440, p660 := goertzel(tail, 440), goertzel(tail, 660)
	ratio := 10 * math.Log10(p440/p660)
	t.Logf("440 Hz over 660 Hz: %.1f dB", ratio)
	if ratio <= 30 {
		t.Errorf("440 Hz dominates 660 Hz by %.1f dB, want > 30", ratio)
	}

	n, err := d.Conceal(pcm)
	if err != nil || n != FrameSamples {
		t.Errorf("Conceal = %d, %v; want %d, nil", n, err, FrameSamples)
	}
	if _, err := d.Conceal(pcm[:100]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("Conceal into short buffer: err = %v, want ErrShortBuffer", err)
	}
}

func TestOpusBadInput(t *testing.T) {
	e, d := newTestOpus(t, 32000)
	pcm := make([]int16, MaxDecodeSamples)
	for i, pkt := range [][]byte{
		{},
		{0x03, 0x00},       // code 3 packet claiming zero frames
		{0x01, 0xaa},       // code 1 packet whose two frames cannot be equal halves
		{0x03, 0x30, 0x00}, // 48 frames of 10 ms: longer than the 120 ms limit
		{0x02, 0xff, 0xff}, // code 2 whose first frame length overruns the packet
	} {
		if _, err := d.Decode(pkt, pcm); !errors.Is(err, ErrCorrupt) {
			t.Errorf("packet %d %x: err = %v, want ErrCorrupt", i, pkt, err)
		}
	}
	if _, err := e.Encode(make([]int16, 100), nil); !errors.Is(err, ErrFrameSize) {
		t.Errorf("short pcm: err = %v, want ErrFrameSize", err)
	}
	pkt, err := e.Encode(make([]int16, FrameSamples), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(pkt, pcm[:10]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("decode into tiny buffer: err = %v, want ErrShortBuffer", err)
	}
	if _, err := NewOpusEncoder(0); !errors.Is(err, ErrBadParams) {
		t.Errorf("zero bitrate: err = %v, want ErrBadParams", err)
	}
	e.Close()
	e.Close()
	d.Close()
	d.Close()
	if _, err := e.Encode(make([]int16, FrameSamples), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("encode after Close: err = %v, want ErrClosed", err)
	}
	if _, err := d.Decode(pkt, pcm); !errors.Is(err, ErrClosed) {
		t.Errorf("decode after Close: err = %v, want ErrClosed", err)
	}
	if _, err := d.Conceal(pcm); !errors.Is(err, ErrClosed) {
		t.Errorf("conceal after Close: err = %v, want ErrClosed", err)
	}
}

// TestOpusEncodeBuffer checks that a small dst grows once and a returned
// packet's buffer is reused.
func TestOpusEncodeBuffer(t *testing.T) {
	e, _ := newTestOpus(t, 32000)
	pcm := sine(FrameSamples, 440, 8000)
	pkt, err := e.Encode(pcm, make([]byte, 0, 10))
	if err != nil {
		t.Fatal(err)
	}
	if cap(pkt) < maxOpusPacket {
		t.Fatalf("dst not grown: cap %d", cap(pkt))
	}
	again, err := e.Encode(pcm, pkt)
	if err != nil {
		t.Fatal(err)
	}
	if &again[:1][0] != &pkt[:1][0] {
		t.Error("returned packet buffer was not reused")
	}
}

// A frame lost where the tone changes: the next packet's in-band FEC
// rebuilds the new tone, where concealment can only carry on the old one.
func TestOpusFECRebuildsALostFrame(t *testing.T) {
	e, _ := newTestOpus(t, 24000)
	if err := e.SetInbandFEC(20); err != nil {
		t.Fatal(err)
	}
	const change = 25 // first frame of the new tone, the one lost
	var packets [][]byte
	for i := range change + 5 {
		freq := 440.0
		if i >= change {
			freq = 880
		}
		pkt, err := e.Encode(sine(FrameSamples, freq, 8000), nil)
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, pkt)
	}
	rebuild := func(useFEC bool) []int16 {
		d, err := NewOpusDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		pcm := make([]int16, MaxDecodeSamples)
		for _, pkt := range packets[:change] {
			if _, err := d.Decode(pkt, pcm); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if useFEC {
			n, err = d.DecodeFEC(packets[change+1], pcm)
		} else {
			n, err = d.Conceal(pcm)
		}
		if err != nil || n != FrameSamples {
			t.Fatalf("rebuild (fec %v) = %d, %v", useFEC, n, err)
		}
		return pcm[:n]
	}
	fec, plc := rebuild(true), rebuild(false)
	fecNew := 10 * math.Log10(goertzel(fec, 880)/goertzel(fec, 440))
	plcNew := 10 * math.Log10(goertzel(plc, 880)/goertzel(plc, 440))
	t.Logf("880 Hz over 440 Hz in the lost frame: FEC %.1f dB, concealment %.1f dB", fecNew, plcNew)
	if fecNew < 3 {
		t.Errorf("FEC rebuilt frame: new tone only %.1f dB over the old, want >= 3 (the decoder still fades from the old)", fecNew)
	}
	if plcNew > 0 {
		t.Errorf("concealment has the new tone %.1f dB over the old: the test cannot tell FEC from it", plcNew)
	}
	if err := e.SetInbandFEC(101); !errors.Is(err, ErrBadParams) {
		t.Errorf("SetInbandFEC(101): err = %v, want ErrBadParams", err)
	}
	d := newOpusDecoder(t)
	if _, err := d.DecodeFEC(nil, make([]int16, FrameSamples)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("DecodeFEC(nil): err = %v, want ErrCorrupt", err)
	}
}

func newOpusDecoder(t *testing.T) *OpusDecoder {
	t.Helper()
	d, err := NewOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}
