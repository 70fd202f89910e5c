package mixer

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/pion/webrtc/v4/pkg/media"
)

func TestMixMinus(t *testing.T) {
	tests := []struct {
		name  string
		total []int32
		own   []int16
		want  []int16
	}{
		{"no own voice hears everything", []int32{100, -200, 0}, nil, []int16{100, -200, 0}},
		{"own voice taken out", []int32{300, -200, 50}, []int16{100, -100, 50}, []int16{200, -100, 0}},
		{"clipped high", []int32{40000, 32767, 32768}, nil, []int16{32767, 32767, 32767}},
		{"clipped low", []int32{-40000, -32768, -32769}, nil, []int16{-32768, -32768, -32768}},
		{"clipping after taking own out", []int32{60000}, []int16{10000}, []int16{32767}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]int16, len(tt.total))
			mixMinus(got, tt.total, tt.own)
			if !slices.Equal(got, tt.want) {
				t.Errorf("mixMinus = %v, want %v", got, tt.want)
			}
		})
	}
}

// sampleChan hands every sample written to it to the test.
type sampleChan chan media.Sample

func (c sampleChan) WriteSample(s media.Sample) error {
	c <- s
	return nil
}

// The audio mix sends every listener one 20 ms packet per tick of its
// clock.
func TestAudioMixesOnItsClock(t *testing.T) {
	clock := newStepClock()
	m := New(Params{Logger: slog.New(slog.DiscardHandler), Clock: clock})
	defer m.Close()
	sink := make(sampleChan, 16) // room for a bug's extra packets
	m.SetListener("agent", sink)
	const ticks = 5
	for range ticks {
		clock.Advance(mixPeriod)
		if s := receive(t, sink, "audio on a tick"); len(s.Data) == 0 || s.Duration != mixPeriod {
			t.Errorf("a tick sent %d bytes lasting %v, want an Opus packet of %v", len(s.Data), s.Duration, mixPeriod)
		}
	}
	m.Close()
	if len(sink) != 0 {
		t.Errorf("the listener got more packets than the %d ticks", ticks)
	}
}
