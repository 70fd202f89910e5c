package peer

import (
	"math"

	"github.com/threeway-mcu/threeway/codec"
)

// A role's voice is a sine at ToneHz, its amplitude swinging at a
// syllable's rate as speech does, so that Opus codes it as speech (its
// voice detector stays on, and in-band FEC goes out) where a steady tone
// would soon read as background. The swing's sidebands sit syllableHz from
// the carrier, on a zero of Goertzel's Hann window whenever the window
// lasts a multiple of 1/syllableHz, so such windows read the carrier only.
const (
	// toneAmplitude is the carrier's amplitude, a quarter of full scale
	// (-12 dBFS); with the swing the peak is (1+syllableDepth) times it.
	toneAmplitude = 0.25 * 32767
	syllableHz    = 10
	syllableDepth = 0.8
)

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

// toneGen produces a role's voice, continuous in phase, one 20 ms frame at
// a time.
type toneGen struct {
	tone, syllable oscillator
}

func newToneGen(hz float64) *toneGen {
	return &toneGen{tone: newOscillator(hz), syllable: newOscillator(syllableHz)}
}

// fill writes the next len(pcm) samples.
func (g *toneGen) fill(pcm []int16) {
	for i := range pcm {
		envelope := 1 + syllableDepth*g.syllable.next()
		pcm[i] = int16(math.Round(toneAmplitude * envelope * g.tone.next()))
	}
}

// oscillator is a sine wave read one sample at a time.
type oscillator struct {
	phase, step float64
}

func newOscillator(hz float64) oscillator {
	return oscillator{step: 2 * math.Pi * hz / codec.SampleRate}
}

// next returns the current sample and advances by one.
func (o *oscillator) next() float64 {
	v := math.Sin(o.phase)
	o.phase += o.step
	if o.phase >= 2*math.Pi {
		o.phase -= 2 * math.Pi
	}
	return v
}
