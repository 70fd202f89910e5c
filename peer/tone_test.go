package peer

import (
	"math"
	"testing"

	"github.com/threeway-mcu/threeway/codec"
)

// tone returns seconds of role's tone as the peer sends it.
func tone(role string, seconds float64) []int16 {
	pcm := make([]int16, int(seconds*codec.SampleRate))
	g := newToneGen(ToneHz(role))
	for i := 0; i < len(pcm); i += codec.FrameSamples {
		g.fill(pcm[i:min(len(pcm), i+codec.FrameSamples)])
	}
	return pcm
}

func mix(a, b []int16) []int16 {
	out := make([]int16, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

func TestGoertzelSeparatesTones(t *testing.T) {
	want := 20 * math.Log10(0.25) // -12.04 dBFS
	for _, seconds := range []float64{1, 0.2} {
		for _, role := range Roles() {
			pcm := tone(role, seconds)
			own := Goertzel(pcm, ToneHz(role))
			if math.Abs(own-want) > 0.2 {
				t.Errorf("%s over %.1fs: own tone %.2f dBFS, want %.2f", role, seconds, own, want)
			}
			for _, other := range Roles() {
				if other == role {
					continue
				}
				if lvl := Goertzel(pcm, ToneHz(other)); own-lvl < 30 {
					t.Errorf("%s over %.1fs: %s tone only %.1f dB below (%.1f dBFS)", role, seconds, other, own-lvl, lvl)
				}
			}
		}
	}
	// A mix minus the listener: the customer hears agent and third only.
	heard := mix(tone("agent", 1), tone("third", 1))
	if c, a := Goertzel(heard, ToneHz("customer")), Goertzel(heard, ToneHz("agent")); a-c < 30 {
		t.Errorf("mix: customer %.1f dBFS, agent %.1f dBFS", c, a)
	}
	if got := Goertzel(make([]int16, 4800), 440); got != floorDBFS {
		t.Errorf("silence: %.1f dBFS", got)
	}
	if got := Goertzel(nil, 440); got != floorDBFS {
		t.Errorf("empty: %.1f dBFS", got)
	}
}

// TestToneThroughOpus checks the whole audio path without a network: the
// tone sent in 20 ms Opus frames decodes to the same level and stays
// separable from the other roles' tones.
func TestToneThroughOpus(t *testing.T) {
	enc, err := codec.NewOpusEncoder(opusBitrate)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	in := tone("agent", 1.5)
	var ring pcmRing
	pcm := make([]int16, codec.MaxDecodeSamples)
	var buf []byte
	for i := 0; i+codec.FrameSamples <= len(in); i += codec.FrameSamples {
		pkt, err := enc.Encode(in[i:i+codec.FrameSamples], buf)
		if err != nil {
			t.Fatal(err)
		}
		n, err := dec.Decode(pkt, pcm)
		if err != nil {
			t.Fatal(err)
		}
		ring.write(pcm[:n])
		buf = pkt
	}
	last := ring.snapshot()
	if len(last) != codec.SampleRate {
		t.Fatalf("ring holds %d samples", len(last))
	}
	own := Goertzel(last, ToneHz("agent"))
	if math.Abs(own+12) > 1.5 {
		t.Errorf("agent tone through Opus: %.2f dBFS", own)
	}
	for _, other := range []string{"customer", "third"} {
		if lvl := Goertzel(last, ToneHz(other)); own-lvl < 30 {
			t.Errorf("%s tone %.1f dBFS, only %.1f dB below", other, lvl, own-lvl)
		}
	}
}

func TestPCMRingOrder(t *testing.T) {
	var r pcmRing
	chunk := make([]int16, 700)
	for k := range 100 {
		for i := range chunk {
			chunk[i] = int16(k*700 + i)
		}
		r.write(chunk)
	}
	got := r.snapshot()
	if len(got) != codec.SampleRate {
		t.Fatalf("len %d", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("sample %d: %d after %d", i, got[i], got[i-1])
		}
	}
}
