package mixer

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/peer"
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
	a := newAudioMixer(32000, NopObserver{}, slog.New(slog.DiscardHandler))
	ab := &audioBench{a: a, encoders: map[string]*codec.OpusEncoder{}, tones: map[string][]int16{}}
	for i, id := range benchParties {
		ab.tones[id] = tone(440*float64(i+1), 0)
		v, err := newVoice(id, VoiceFormat{Codec: Opus}, NopObserver{}, time.Now)
		if err != nil {
			tb.Fatal(err)
		}
		a.voices[id] = v
		a.listeners[id] = &listener{id: id, sink: &discardSink{}, codec: Opus}
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

// speechBench is one call's audio as people talk: each voice replays the
// speech schedule the synthetic peers send (one speaker at a time, DTX in
// silence, levels in every packet), and each listener takes DTX.
type speechBench struct {
	a     *audioMixer
	loops map[string][]peer.SpeechFrame
	seq   map[string]uint16
	sinks map[string]*dtxSink
	tick  int
	at    time.Time
}

func newSpeechBench(tb testing.TB, observe Observer, dtx bool) *speechBench {
	tb.Helper()
	sb := &speechBench{a: newAudioMixer(32000, observe, slog.New(slog.DiscardHandler)),
		loops: map[string][]peer.SpeechFrame{}, seq: map[string]uint16{}, sinks: map[string]*dtxSink{}}
	for _, id := range benchParties {
		loop, err := peer.SpeechLoop(id, dtx)
		if err != nil {
			tb.Fatal(err)
		}
		v, err := newVoice(id, VoiceFormat{Codec: Opus}, observe, time.Now)
		if err != nil {
			tb.Fatal(err)
		}
		sb.loops[id], sb.sinks[id] = loop, &dtxSink{}
		sb.a.voices[id] = v
		sb.a.listeners[id] = &listener{id: id, sink: sb.sinks[id], codec: Opus, toc: dtxTOC}
		if dtx {
			sb.a.listeners[id].dtx = sb.sinks[id]
		}
	}
	tb.Cleanup(func() {
		sb.a.closeAll()
		for _, id := range benchParties {
			sb.a.voices[id].close()
		}
	})
	return sb
}

// step feeds every voice its schedule's next frame, if DTX sent one, and
// runs one tick of the mix.
func (sb *speechBench) step() {
	for _, id := range benchParties {
		f := sb.loops[id][sb.tick%len(sb.loops[id])]
		if f.Packet == nil {
			continue
		}
		quiet := sb.a.listeners[id].dtx != nil && levelIsQuiet(f.Level) // without DTX, no levels either
		sb.a.voices[id].bufferLevel(sb.seq[id], uint32(sb.tick*codec.FrameSamples), sb.at, f.Packet, quiet)
		sb.seq[id]++
	}
	sb.tick++
	sb.at = sb.at.Add(mixPeriod)
	sb.a.tick()
}

// dtxSink notes what a listener taking DTX was sent each tick.
type dtxSink struct {
	discardSink
	sent []byte // per tick: 's' sound, 'd' a DTX frame, '-' nothing
}

func (s *dtxSink) WriteSample(m media.Sample) error {
	if len(m.Data) == 1 {
		s.sent = append(s.sent, 'd')
	} else {
		s.sent = append(s.sent, 's')
	}
	return s.discardSink.WriteSample(m)
}

func (s *dtxSink) Skip(time.Duration) { s.sent = append(s.sent, '-') }

// BenchmarkCallAudioSpeech is BenchmarkCallAudio with people talking in
// turn (speech with pauses, one speaker at a time), sent with DTX and
// audio levels (dtx=on: silent voices are not decoded, silent mixes not
// encoded) or without (dtx=off: silence costs what sound does). One op is
// the schedule's 18 s.
func BenchmarkCallAudioSpeech(b *testing.B) {
	for _, dtx := range []bool{false, true} {
		b.Run(map[bool]string{false: "dtx=off", true: "dtx=on"}[dtx], func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			sb := newSpeechBench(b, NopObserver{}, dtx)
			ticks := len(sb.loops[benchParties[0]])
			b.ReportAllocs()
			b.ResetTimer()
			thread0 := threadCPUTime()
			for b.Loop() {
				for range ticks {
					sb.step()
				}
			}
			cpu := threadCPUTime() - thread0
			b.ReportMetric(ms(cpu)/float64(b.N)/(float64(ticks)*mixPeriod.Seconds()), "cpu-ms/call-s")
		})
	}
}
