package mixer

import (
	"log/slog"
	"slices"
	"sync/atomic"
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

// sampleSink hands the samples written to it to the test. One it has no
// room for is counted, not waited for: a bug's extra packets fail the test
// rather than stall the audio clock.
type sampleSink struct {
	samples  chan media.Sample
	overflow atomic.Int32
}

func newSampleSink() *sampleSink { return &sampleSink{samples: make(chan media.Sample, 1)} }

func (s *sampleSink) WriteSample(sample media.Sample) error {
	select {
	case s.samples <- sample:
	default:
		s.overflow.Add(1)
	}
	return nil
}

// The audio mix sends every listener one 20 ms packet per tick of its
// clock, and runs one ticker on it until Close.
func TestAudioMixesOnItsClock(t *testing.T) {
	clock := newStepClock()
	m := New(Params{Logger: slog.New(slog.DiscardHandler), Clock: clock})
	defer m.Close()
	if n := clock.running(); n != 1 {
		t.Errorf("%d tickers run on the mixer's clock, want the audio clock's one", n)
	}
	sink := newSampleSink()
	m.SetListener("agent", sink)
	const ticks = 5
	for range ticks {
		clock.Advance(mixPeriod)
		if s := receive(t, sink.samples, "audio on a tick"); len(s.Data) == 0 || s.Duration != mixPeriod {
			t.Errorf("a tick sent %d bytes lasting %v, want an Opus packet of %v", len(s.Data), s.Duration, mixPeriod)
		}
	}
	m.Close()
	if extra := len(sink.samples) + int(sink.overflow.Load()); extra != 0 {
		t.Errorf("the listener got %d packets more than the %d ticks", extra, ticks)
	}
	if n := clock.running(); n != 0 {
		t.Errorf("%d tickers still running after Close", n)
	}
}
