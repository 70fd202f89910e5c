package mixer

import (
	"slices"
	"testing"
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
