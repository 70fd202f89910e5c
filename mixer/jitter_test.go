package mixer

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

// playoutStep is one 20 ms tick of a playoutBuffer test: the packets
// that arrive before it (by sequence number; each carries its number's
// low byte as payload) and what the tick plays: a sequence number, "lost"
// or "-" for nothing.
type playoutStep struct {
	arrive []uint16
	play   string
}

func TestPlayoutBuffer(t *testing.T) {
	tests := []struct {
		name  string
		steps []playoutStep
	}{
		{"waits for two frames, then plays in order", []playoutStep{
			{[]uint16{10}, "-"}, {[]uint16{11}, "10"}, {[]uint16{12}, "11"}, {nil, "12"},
		}},
		{"reordered packets play in sequence order", []playoutStep{
			{[]uint16{11, 10}, "10"}, {[]uint16{13, 12}, "11"}, {nil, "12"}, {nil, "13"},
		}},
		{"a lost packet is reported in its place, the next plays on time", []playoutStep{
			{[]uint16{10, 11}, "10"}, {[]uint16{13}, "11"}, {[]uint16{14}, "lost"}, {nil, "13"}, {nil, "14"},
		}},
		{"a packet after its frame was played is dropped", []playoutStep{
			{[]uint16{10, 11}, "10"}, {[]uint16{13}, "11"}, {[]uint16{14}, "lost"}, {[]uint16{12, 15}, "13"},
			{nil, "14"}, {nil, "15"}, {nil, "-"},
		}},
		{"a packet later than its successors by less than the jitter is waited for", []playoutStep{
			{[]uint16{10, 12}, "10"}, {nil, "-"}, {[]uint16{11, 13}, "11"}, {nil, "12"}, {nil, "13"},
		}},
		{"a duplicate after an underrun is not played again", []playoutStep{
			{[]uint16{10, 11}, "10"}, {nil, "11"}, {nil, "-"}, {[]uint16{11, 12}, "-"}, {[]uint16{13}, "-"},
			{[]uint16{14}, "-"}, {[]uint16{15}, "12"}, {nil, "13"}, {nil, "14"}, {nil, "15"}, {nil, "-"},
		}},
		{"after an underrun it buffers again, as deep as the gap was long", []playoutStep{
			{[]uint16{10, 11}, "10"}, {nil, "11"}, {nil, "-"}, {[]uint16{12}, "-"}, {[]uint16{13}, "-"}, {[]uint16{14}, "12"},
		}},
		{"a burst keeps only the newest jitterMax frames", []playoutStep{
			{[]uint16{10, 11, 12, 13, 14, 15, 16, 17}, "12"}, {nil, "13"},
		}},
		{"over the budget, missing frames at the front are skipped", []playoutStep{
			{[]uint16{10, 11}, "10"}, {[]uint16{13, 14, 15, 16, 17, 18}, "13"}, {nil, "14"},
		}},
		{"a jump ahead starts from the newest frames", []playoutStep{
			{[]uint16{10, 11}, "10"}, {[]uint16{1000, 1001}, "1000"}, {nil, "1001"}, {nil, "-"},
		}},
		{"sequence numbers wrap", []playoutStep{
			{[]uint16{65535, 0}, "65535"}, {[]uint16{1}, "0"}, {nil, "1"},
		}},
		{"a sender that starts again far behind is followed", []playoutStep{
			{[]uint16{5000, 5001}, "5000"}, {[]uint16{20, 21}, "20"}, {nil, "21"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b playoutBuffer
			buf := make([]byte, maxOpusPacket)
			for i, step := range tt.steps {
				for _, seq := range step.arrive {
					b.push(seq, uint32(int16(seq))*codec.FrameSamples, tickTime(i), []byte{byte(seq), 1}, false)
				}
				n, what := b.pop(buf)
				got := "-"
				switch what {
				case playoutLost:
					got = "lost"
				case playoutPacket:
					got = "?"
					for seq := range 1 << 16 {
						if byte(seq) == buf[0] && fmt.Sprint(seq) == step.play {
							got = step.play
						}
					}
					if n != 2 {
						got = fmt.Sprintf("%d-byte packet", n)
					}
				}
				if got != step.play {
					t.Fatalf("tick %d plays %s (payload %v), want %s", i, got, buf[:n], step.play)
				}
			}
		})
	}
}

// A voice that loses one packet plays every 20 ms without a gap, and
// rebuilds the lost frame from the next packet's FEC: the tone that
// starts in the lost frame is already heard in it.
func TestVoiceRebuildsALostFrame(t *testing.T) {
	enc, err := codec.NewOpusEncoder(24000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if err := enc.SetInbandFEC(20); err != nil {
		t.Fatal(err)
	}
	v, err := newVoice("a", VoiceFormat{Codec: Opus}, NopObserver{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()

	const frames, lost = 40, 30 // the tone changes from 440 to 880 Hz at the lost frame
	buf := make([]byte, maxOpusPacket)
	for i := range frames {
		freq := 440.0
		if i >= lost {
			freq = 880
		}
		pkt, err := enc.Encode(tone(freq, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if i != lost {
			v.buffer(uint16(1000+i), uint32(i)*codec.FrameSamples, tickTime(i), pkt)
		}
		if i == 0 {
			continue // jitterTarget: the first tick comes with the second packet
		}
		if !v.next(buf) {
			t.Fatalf("tick %d: silent", i-1)
		}
		if i-1 == lost {
			newTone := 10 * math.Log10(goertzelPower(v.pcm, 880)/goertzelPower(v.pcm, 440))
			if newTone < 3 {
				t.Errorf("the lost frame has the new tone %.1f dB over the old, want >= 3 (rebuilt from FEC)", newTone)
			}
		}
	}
	if v.jitter.late != 0 || v.jitter.overruns != 0 {
		t.Errorf("late %d, overruns %d; want none", v.jitter.late, v.jitter.overruns)
	}
}

// tickTime is when the audio clock's tick i comes, from an arbitrary
// start.
func tickTime(i int) time.Time { return time.Unix(1_700_000_000, 0).Add(time.Duration(i) * mixPeriod) }

// tone is the i-th 20 ms frame of a continuous sine.
func tone(freq float64, i int) []int16 {
	pcm := make([]int16, codec.FrameSamples)
	for k := range pcm {
		pcm[k] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i*codec.FrameSamples+k)/codec.SampleRate))
	}
	return pcm
}

func goertzelPower(x []int16, f float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*f/codec.SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+coeff*s1-s2, s1
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}
