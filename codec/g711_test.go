package codec

import (
	"errors"
	"math"
	"testing"
)

// g711RoundTrip sends src (48 kHz) through a G.711 encoder and decoder
// 20 ms at a time, as a phone leg does both ways, and returns what comes
// back; every frame must keep its size.
func g711RoundTrip(t *testing.T, law G711Law, src []int16) []int16 {
	t.Helper()
	enc, err := NewG711Encoder(law)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewG711Decoder(law)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var out []int16
	var pkt []byte
	pcm := make([]int16, FrameSamples)
	for off := 0; off+FrameSamples <= len(src); off += FrameSamples {
		pkt, err = enc.Encode(src[off:off+FrameSamples], pkt)
		if err != nil || len(pkt) != G711FrameBytes {
			t.Fatalf("encode: %d bytes, %v; want %d", len(pkt), err, G711FrameBytes)
		}
		n, err := dec.Decode(pkt, pcm)
		if err != nil || n != FrameSamples {
			t.Fatalf("decode: %d samples, %v; want %d", n, err, FrameSamples)
		}
		out = append(out, pcm...)
	}
	return out
}

func dB(p, ref float64) float64 { return 10 * math.Log10(p/ref) }

// Speech-band tones cross the telephone leg intact; the mixer's tones
// (440, 660, 990 Hz) stay apart.
func TestG711KeepsTheSpeechBand(t *testing.T) {
	for _, law := range []G711Law{ULaw, ALaw} {
		src := sine(SampleRate, 990, 8000)
		out := g711RoundTrip(t, law, src)[SampleRate/10:]
		in := goertzel(src[SampleRate/10:], 990)
		if loss := dB(in, goertzel(out, 990)); math.Abs(loss) > 1 {
			t.Errorf("%s: 990 Hz comes back %.2f dB off, want within 1 dB", law, loss)
		}
		if leak := dB(goertzel(out, 990), goertzel(out, 660)); leak < 30 {
			t.Errorf("%s: 990 Hz over 660 Hz only %.1f dB, want ≥ 30", law, leak)
		}
	}
}

// What the phone cannot carry is filtered out before it is narrowed, not
// folded back into the speech band: a 6 kHz tone would alias to 2 kHz.
func TestG711FiltersWhatThePhoneCannotCarry(t *testing.T) {
	src := sine(SampleRate, 6000, 8000)
	out := g711RoundTrip(t, ULaw, src)[SampleRate/10:]
	ref := goertzel(src[SampleRate/10:], 6000)
	if alias := dB(goertzel(out, 2000), ref); alias > -40 {
		t.Errorf("6 kHz folds to 2 kHz at %.1f dB, want under -40", alias)
	}
}

func TestG711BadInput(t *testing.T) {
	dec, err := NewG711Decoder(ALaw)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pcm := make([]int16, FrameSamples)
	if _, err := dec.Decode(make([]byte, 80), pcm); !errors.Is(err, ErrFrameSize) {
		t.Errorf("10 ms packet: err = %v, want ErrFrameSize", err)
	}
	if _, err := dec.Decode(make([]byte, G711FrameBytes), pcm[:100]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short buffer: err = %v, want ErrShortBuffer", err)
	}
	if n, err := dec.DecodeFEC(nil, pcm); err != nil || n != FrameSamples {
		t.Errorf("DecodeFEC = %d, %v; want a concealed frame", n, err)
	}
	dec.Close()
	if _, err := dec.Conceal(pcm); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
	enc, err := NewG711Encoder(ULaw)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if _, err := enc.Encode(make([]int16, 100), nil); !errors.Is(err, ErrFrameSize) {
		t.Errorf("short frame: err = %v, want ErrFrameSize", err)
	}
}
