package mixer

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

// audioBench is one call's audio driven by hand: three voices fed Opus
// packets of their tones, and the mixer's clock ticked.
type audioBench struct {
	a        *audioMixer
	encoders map[string]*codec.OpusEncoder
	tones    map[string][]int16
	seq      uint16
	at       time.Time // when the tick's packets arrive
	pkt      []byte
}

func newAudioBench(tb testing.TB) *audioBench {
	tb.Helper()
	a := newAudioMixer(32000, slog.New(slog.DiscardHandler))
	ab := &audioBench{a: a, encoders: map[string]*codec.OpusEncoder{}, tones: map[string][]int16{}}
	for i, id := range benchParties {
		ab.tones[id] = tone(440*float64(i+1), 0)
		v, err := newVoice(id, Opus, NopObserver{}, time.Now)
		if err != nil {
			tb.Fatal(err)
		}
		a.voices[id] = v
		a.listeners[id] = listener{id, &discardSink{}, Opus}
		if ab.encoders[id], err = codec.NewOpusEncoder(32000); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() {
		a.closeAll()
		for _, id := range benchParties {
			a.voices[id].close()
			ab.encoders[id].Close()
		}
	})
	for range 10 { // fill the jitter buffers and create the mixes' encoders
		ab.tick(tb)
	}
	return ab
}

// tick feeds every voice one packet and runs one 20 ms tick of the mix.
func (ab *audioBench) tick(tb testing.TB) {
	ab.feed(tb)
	ab.a.tick()
}

// feed encodes one packet of each party's tone, as the party would, and
// buffers it in the party's voice.
func (ab *audioBench) feed(tb testing.TB) {
	for _, id := range benchParties {
		var err error
		ab.pkt, err = ab.encoders[id].Encode(ab.tones[id], ab.pkt)
		if err != nil {
			tb.Fatal(err)
		}
		ab.a.voices[id].buffer(ab.seq, uint32(ab.seq)*codec.FrameSamples, ab.at, ab.pkt)
	}
	ab.seq++
	ab.at = ab.at.Add(mixPeriod)
}

// The audio clock allocates nothing: three voices decoded, mixed minus
// each listener's own voice, encoded and sent.
func TestAudioTickAllocatesNothing(t *testing.T) {
	ab := newAudioBench(t)
	allocs := testing.AllocsPerRun(50, func() { ab.tick(t) })
	for _, id := range benchParties {
		if ab.a.listeners[id].sink.(*discardSink).bytes == 0 {
			t.Fatalf("%s heard nothing", id)
		}
	}
	if allocs > 0 {
		t.Errorf("an audio tick allocates %.1f times, want none", allocs)
	}
}

// BenchmarkCallAudio measures one call's audio work per second of media:
// three voices decoded from Opus, mixed minus each listener's own voice,
// and three mixes encoded (every party talks, so no mix is shared). The
// senders' encodes, which stand in for the parties, are not counted.
func BenchmarkCallAudio(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ab := newAudioBench(b)
	const ticks = 50 // one second
	b.ReportAllocs()
	b.ResetTimer()
	var senders time.Duration
	thread0 := threadCPUTime()
	for b.Loop() {
		for range ticks {
			t0 := threadCPUTime()
			ab.feed(b)
			senders += threadCPUTime() - t0
			ab.a.tick()
		}
	}
	mixer := threadCPUTime() - thread0 - senders
	b.ReportMetric(ms(mixer)/float64(b.N), "cpu-ms/call-s")
}
