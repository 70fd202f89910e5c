package mixer

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
)

// mixPeriod is the audio clock's tick: one Opus frame.
const mixPeriod = 20 * time.Millisecond

// mixFECLoss is the packet loss, in percent, that the mixes' in-band FEC
// is sized for, so that a listener who loses a packet rebuilds it from
// the next. libopus 1.3 codes no FEC at all at 32 kbps for 5 %, so this
// asks for more (docs/performance.md).
const mixFECLoss = 10

// everyone keys the mix that contains every voice: what a listener whose own
// voice is silent hears. Voice ids key the mixes minus that voice.
const everyone = ""

// audioMixer sums a call's voices on one 20 ms clock and sends each
// listener the sum minus its own voice. Listeners hearing the same mix
// share one Opus encode.
type audioMixer struct {
	bitrate int
	log     *slog.Logger

	mu        sync.Mutex
	voices    map[string]*voice
	listeners map[string]listener
	muted     map[string]bool
	closed    bool

	// Owned by the clock goroutine.
	mixes    map[mixKey]*mixEncoder
	sendTo   []listener
	total    []int32
	mixPCM   []int16
	packet   []byte
	voiceBuf []*voice
	active   map[string]*voice
	tickNo   uint64

	done, stopped chan struct{}
	clockStarted  bool // set before run's goroutine starts: stop waits for it
}

func newAudioMixer(bitrate int, log *slog.Logger) *audioMixer {
	return &audioMixer{
		bitrate:   bitrate,
		log:       log,
		voices:    map[string]*voice{},
		listeners: map[string]listener{},
		muted:     map[string]bool{},
		mixes:     map[mixKey]*mixEncoder{},
		total:     make([]int32, codec.FrameSamples),
		mixPCM:    make([]int16, codec.FrameSamples),
		packet:    make([]byte, maxOpusPacket),
		active:    map[string]*voice{},
		done:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
}

// IngestAudio decodes Opus RTP from r as voice id until r fails, and
// returns r's error; the voice is then removed from every mix. A second
// ingest of the same id replaces the first in the mix.
func (m *Mixer) IngestAudio(id string, r RTPReader) error {
	return m.IngestAudioCodec(id, r, Opus)
}

// IngestAudioCodec is IngestAudio for RTP coded in c: a phone's G.711,
// which must come 20 ms to a packet.
func (m *Mixer) IngestAudioCodec(id string, r RTPReader, c AudioCodec) error {
	v, err := newVoice(id, c, m.params.Observer, m.params.Clock.Now)
	if err != nil {
		return err
	}
	a := m.audio
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		v.close()
		return ErrClosed
	}
	a.voices[id] = v // a newer track of the same party replaces the old
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.voices[id] == v {
			delete(a.voices, id)
		}
		a.mu.Unlock()
		v.close()
	}()
	return fmt.Errorf("audio from %s: %w", id, v.ingest(r))
}

// SetListener sends listener id the mix of every voice but its own, in
// Opus.
func (m *Mixer) SetListener(id string, sink SampleWriter) {
	m.SetListenerCodec(id, sink, Opus)
}

// SetListenerCodec is SetListener with the mix coded in c: 20 ms samples
// of G.711 for a phone.
func (m *Mixer) SetListenerCodec(id string, sink SampleWriter, c AudioCodec) {
	m.audio.mu.Lock()
	defer m.audio.mu.Unlock()
	m.audio.listeners[id] = listener{id, sink, c}
}

// SetVoiceMuted takes voice id out of every mix, or puts it back. A muted
// voice's packets are still drained so it resumes without delay.
func (m *Mixer) SetVoiceMuted(id string, muted bool) {
	m.audio.mu.Lock()
	defer m.audio.mu.Unlock()
	if muted {
		m.audio.muted[id] = true
	} else {
		delete(m.audio.muted, id)
	}
}

// RemoveListener stops sending audio to id.
func (m *Mixer) RemoveListener(id string) {
	m.audio.mu.Lock()
	defer m.audio.mu.Unlock()
	delete(m.audio.listeners, id)
}

// run mixes on every tick until stop.
func (a *audioMixer) run(ticker Ticker) {
	defer close(a.stopped)
	defer ticker.Stop()
	for {
		select {
		case <-a.done:
			a.closeAll()
			return
		case <-ticker.C():
			a.tick()
		}
	}
}

func (a *audioMixer) stop() {
	close(a.done)
	if a.clockStarted {
		<-a.stopped
	}
}

// tick mixes and sends one 20 ms frame.
func (a *audioMixer) tick() {
	a.mu.Lock()
	voices := a.voiceBuf[:0]
	for _, v := range a.voices {
		voices = append(voices, v)
	}
	a.voiceBuf = voices
	for _, v := range voices {
		v.muted = a.muted[v.id]
	}
	a.mu.Unlock()

	a.retireGone(voices)
	a.tickNo++
	clear(a.total)
	clear(a.active)
	for _, v := range voices {
		if v.muted {
			v.skip(a.packet)
			continue
		}
		if !v.next(a.packet) {
			continue
		}
		a.active[v.id] = v
		for i, s := range v.pcm {
			a.total[i] += int32(s)
		}
	}

	// Encode and send outside the lock: a slow transport must not hold up
	// joins and mutes.
	a.mu.Lock()
	a.sendTo = a.sendTo[:0]
	for _, l := range a.listeners {
		a.sendTo = append(a.sendTo, l)
	}
	a.mu.Unlock()
	for _, l := range a.sendTo {
		key := mixKey{minus: everyone, codec: l.codec}
		if _, ok := a.active[l.id]; ok {
			key.minus = l.id
		}
		pkt, err := a.encodeMix(key)
		if err != nil {
			a.log.Warn("encode mix", "listener", l.id, "err", err)
			continue
		}
		_ = l.sink.WriteSample(media.Sample{Data: pkt, Duration: mixPeriod})
	}
}

type listener struct {
	id    string
	sink  SampleWriter
	codec AudioCodec
}

// mixKey names a mix: every voice but minus (everyone: none taken out),
// coded in codec.
type mixKey struct {
	minus string
	codec AudioCodec
}

// mixEncoder is one mix's encoder and its packet of the current tick.
type mixEncoder struct {
	enc    mixCoder
	packet []byte
	tickNo uint64 // the tick packet was encoded on
}

// encodeMix returns this tick's packet of mix key, encoding it on first
// use in the tick.
func (a *audioMixer) encodeMix(key mixKey) ([]byte, error) {
	mix := a.mixes[key]
	if mix == nil {
		enc, err := key.codec.newMixCoder(a.bitrate)
		if err != nil {
			return nil, err
		}
		mix = &mixEncoder{enc: enc}
		a.mixes[key] = mix
	}
	if mix.tickNo == a.tickNo {
		return mix.packet, nil
	}
	var own []int16
	if v := a.active[key.minus]; v != nil {
		own = v.pcm
	}
	mixMinus(a.mixPCM, a.total, own)
	pkt, err := mix.enc.Encode(a.mixPCM, mix.packet)
	if err != nil {
		return nil, err
	}
	mix.packet, mix.tickNo = pkt, a.tickNo
	return pkt, nil
}

// mixMinus writes total minus own (nil for none) into dst, clipped to 16
// bits.
func mixMinus(dst []int16, total []int32, own []int16) {
	for i, t := range total {
		if own != nil {
			t -= int32(own[i])
		}
		dst[i] = int16(max(-32768, min(32767, t)))
	}
}

// retireGone closes the encoders of mixes that take out a voice no longer
// there.
func (a *audioMixer) retireGone(voices []*voice) {
	for key, mix := range a.mixes {
		if key.minus != everyone && !slices.ContainsFunc(voices, func(v *voice) bool { return v.id == key.minus }) {
			mix.enc.Close()
			delete(a.mixes, key)
		}
	}
}

// closeAll releases the encoders and refuses new voices; the clock has
// stopped. Voices close their decoders as their tracks end.
func (a *audioMixer) closeAll() {
	for key, mix := range a.mixes {
		mix.enc.Close()
		delete(a.mixes, key)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
}
