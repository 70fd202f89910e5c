package peer

import (
	"math"

	"github.com/threeway-mcu/threeway/codec"
)

// toneAmplitude is the sent tone's peak, a quarter of full scale (-12 dBFS).
const toneAmplitude = 0.25 * 32767

// floorDBFS is what Goertzel reports for silence instead of -Inf.
const floorDBFS = -150

// ToneHz is the frequency of the sine a role sends as its voice: customer
// 440 Hz, agent 660 Hz, third 990 Hz, anything else 550 Hz.
func ToneHz(role string) float64 {
	switch role {
	case "customer":
		return 440
	case "agent":
		return 660
	case "third":
		return 990
	}
	return 550
}

// Goertzel returns the level, in dBFS, of the hz component of pcm (48 kHz
// mono), measured through a Hann window: a full-scale sine at hz reads 0,
// the peer's quarter-scale tone about -12. Silence reads -150.
func Goertzel(pcm []int16, hz float64) float64 {
	n := len(pcm)
	if n == 0 {
		return floorDBFS
	}
	coeff := 2 * math.Cos(2*math.Pi*hz/codec.SampleRate)
	// The periodic Hann window 0.5 - 0.5cos(2πk/n) by rotating a phasor,
	// which avoids a cosine per sample; its sum is exactly n/2.
	rc, rs := math.Cos(2*math.Pi/float64(n)), math.Sin(2*math.Pi/float64(n))
	c, s := 1.0, 0.0
	var s1, s2 float64
	for _, x := range pcm {
		w := 0.5 - 0.5*c
		c, s = c*rc-s*rs, s*rc+c*rs
		s0 := float64(x)*w + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	amplitude := 2 * math.Sqrt(max(power, 0)) / (float64(n) / 2)
	if amplitude <= 0 {
		return floorDBFS
	}
	return max(floorDBFS, 20*math.Log10(amplitude/32768))
}

// toneGen produces a continuous-phase sine, one 20 ms frame at a time.
type toneGen struct {
	phase, step float64
}

func newToneGen(hz float64) *toneGen {
	return &toneGen{step: 2 * math.Pi * hz / codec.SampleRate}
}

// fill writes the next len(pcm) samples.
func (g *toneGen) fill(pcm []int16) {
	for i := range pcm {
		pcm[i] = int16(math.Round(toneAmplitude * math.Sin(g.phase)))
		g.phase += g.step
		if g.phase >= 2*math.Pi {
			g.phase -= 2 * math.Pi
		}
	}
}
