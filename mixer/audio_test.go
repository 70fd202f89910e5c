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

func TestVoiceJitterBuffer(t *testing.T) {
	v, err := newVoice("a")
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	buf := make([]byte, maxOpusPacket)

	v.buffer([]byte{1})
	if _, ok := v.pop(buf); ok {
		t.Fatal("plays before jitterTarget packets are buffered")
	}
	v.buffer([]byte{2})
	for _, want := range []byte{1, 2} {
		n, ok := v.pop(buf)
		if !ok || n != 1 || buf[0] != want {
			t.Fatalf("pop = %v %v, want packet %d", buf[:n], ok, want)
		}
	}
	if _, ok := v.pop(buf); ok {
		t.Fatal("pops from an empty buffer")
	}
	// After an underrun it buffers again before playing.
	v.buffer([]byte{3})
	if _, ok := v.pop(buf); ok {
		t.Fatal("plays right after an underrun")
	}

	// A full buffer drops its oldest packets, so latency cannot creep up:
	// 3, 10 and 11 go, 12 is the oldest kept.
	for i := range jitterMax + 2 {
		v.buffer([]byte{byte(10 + i)})
	}
	n, ok := v.pop(buf)
	if !ok || buf[:n][0] != 12 {
		t.Fatalf("after overflow pop = %v, want the oldest kept packet 12", buf[:n])
	}
	if v.overruns != 3 {
		t.Errorf("overruns = %d, want 3", v.overruns)
	}
}
