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

// mixFECLoss is the least packet loss, in percent, that a mix's in-band
// FEC is sized for once a listener of it reports loss, so that a
// listener who loses a packet rebuilds it from the next. libopus 1.3
// codes no FEC at all at 32 kbps for 5 %, so this asks for more
// (docs/performance.md).
const mixFECLoss = 10

// fecHold is how long a mix keeps its FEC after the last report of loss
// from a listener: receiver reports come every second or so, and a path
// that lost packets once is likely to again.
const fecHold = 10 * time.Second

// dtxInterval is how often a listener in DTX gets a DTX frame (its TOC
// byte alone, as libopus sends one) while its mix stays silent, as
// libopus does: receivers keep their comfort noise and know the stream
// lives.
const dtxInterval = 20 // ticks: 400 ms

// dtxHangover is how many ticks of a silent mix are still encoded before
// DTX, as libopus does (200 ms): the listener's decoder then holds
// silence, not the last syllable, which its concealment of the DTX
// frames would otherwise draw out.
const dtxHangover = 10

// dtxTOC is the TOC byte of DTX frames sent before any real frame: CELT,
// fullband, 20 ms, mono, one frame. A decoder conceals a frame with no
// data in whatever mode it was in.
const dtxTOC = 0xF8

// everyone keys the mix that contains every voice: what a listener whose own
// voice is silent hears. Voice ids key the mixes minus that voice.
const everyone = ""

// audioMixer sums a call's voices on one 20 ms clock and sends each
// listener the sum minus its own voice. Listeners hearing the same mix
// share one Opus encode.
type audioMixer struct {
	bitrate int
	observe Observer
	log     *slog.Logger
	now     func() time.Time // the mixer's clock

	mu        sync.Mutex
	voices    map[string]*voice
	listeners map[string]*listener
	muted     map[string]bool
	closed    bool

	// Owned by the clock goroutine.
	mixes    map[mixKey]*mixEncoder
	sendTo   []*listener
	total    []int32
	mixPCM   []int16
	packet   []byte
	voiceBuf []*voice
	active   map[string]*voice
	fec      map[mixKey]int // the FEC each mix should carry this tick
	tickNo   uint64

	done, stopped chan struct{}
	clockStarted  bool // set before run's goroutine starts: stop waits for it
}

func newAudioMixer(bitrate int, observe Observer, log *slog.Logger) *audioMixer {
	return &audioMixer{
		bitrate:   bitrate,
		observe:   observe,
		log:       log,
		voices:    map[string]*voice{},
		listeners: map[string]*listener{},
		muted:     map[string]bool{},
		mixes:     map[mixKey]*mixEncoder{},
		total:     make([]int32, codec.FrameSamples),
		mixPCM:    make([]int16, codec.FrameSamples),
		packet:    make([]byte, maxOpusPacket),
		active:    map[string]*voice{},
		fec:       map[mixKey]int{},
		now:       time.Now,
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
	return m.IngestVoice(id, r, VoiceFormat{Codec: c})
}

// IngestVoice is IngestAudio for RTP in format f: packets whose audio
// level says they are silence are not decoded, nor are DTX frames.
func (m *Mixer) IngestVoice(id string, r RTPReader, f VoiceFormat) error {
	v, err := newVoice(id, f, m.params.Observer, m.params.Clock.Now)
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
// of G.711 for a phone. An Opus sink that is a DTXWriter is sent nothing
// while its mix is silent but a DTX frame every 400 ms.
func (m *Mixer) SetListenerCodec(id string, sink SampleWriter, c AudioCodec) {
	m.audio.mu.Lock()
	defer m.audio.mu.Unlock()
	if l := m.audio.listeners[id]; l != nil && l.sink == sink && l.codec == c {
		return // the same: keep its DTX state
	}
	dtx, _ := sink.(DTXWriter)
	if c != Opus {
		dtx = nil
	}
	m.audio.listeners[id] = &listener{id: id, sink: sink, codec: c, dtx: dtx, toc: dtxTOC}
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

// SetListenerLoss notes the share (0-255, as RTCP's fraction lost) of the
// audio sent to listener id that a receiver report says it lost. A mix
// carries in-band FEC, sized for the largest loss its listeners reported
// in the last fecHold and at least mixFECLoss, only while one of them
// reports loss: FEC costs a fifth of an Opus encode of speech, for nothing
// on a clean path, as browsers' senders also reason.
func (m *Mixer) SetListenerLoss(id string, fraction uint8) {
	if fraction == 0 {
		return
	}
	m.audio.mu.Lock()
	defer m.audio.mu.Unlock()
	if l := m.audio.listeners[id]; l != nil {
		l.lossPercent = int(fraction) * 100 / 256
		l.lossAt = m.params.Clock.Now()
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
	voices := a.voicesNow()
	a.retireGone(voices)
	a.tickNo++
	a.mixVoices(voices)
	// Encode and send outside the lock: a slow transport must not hold up
	// joins and mutes.
	a.listenersNow()
	for _, l := range a.sendTo {
		a.send(l)
	}
}

// voicesNow takes the voices of this tick and their mute state.
func (a *audioMixer) voicesNow() []*voice {
	a.mu.Lock()
	defer a.mu.Unlock()
	voices := a.voiceBuf[:0]
	for _, v := range a.voices {
		v.muted = a.muted[v.id]
		voices = append(voices, v)
	}
	a.voiceBuf = voices
	return voices
}

// mixVoices sums this tick's frame of every voice with sound into
// a.total, and notes them in a.active.
func (a *audioMixer) mixVoices(voices []*voice) {
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
}

// listenersNow takes this tick's listeners into a.sendTo, and the FEC
// each mix should carry for them into a.fec.
func (a *audioMixer) listenersNow() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sendTo = a.sendTo[:0]
	clear(a.fec)
	now := a.now()
	for _, l := range a.listeners {
		a.sendTo = append(a.sendTo, l)
		key := a.keyFor(l)
		a.fec[key] = max(a.fec[key], l.fecWanted(now))
	}
}

// send gives listener l this tick's frame of its mix: encoded, or, past
// the hangover of a silent mix it takes as DTX, nothing (silence).
func (a *audioMixer) send(l *listener) {
	key := a.keyFor(l)
	if l.dtx != nil && a.silent(key) {
		if l.quietTicks++; l.quietTicks > dtxHangover {
			l.silence()
			a.observe.AudioFrame(AudioDTX)
			return
		}
	} else {
		l.quietTicks = 0
	}
	pkt, err := a.encodeMix(key)
	if err != nil {
		a.log.Warn("encode mix", "listener", l.id, "err", err)
		return
	}
	l.toc = pkt[0] &^ 3
	_ = l.sink.WriteSample(media.Sample{Data: pkt, Duration: mixPeriod})
}

// keyFor names the mix listener l hears this tick.
func (a *audioMixer) keyFor(l *listener) mixKey {
	key := mixKey{minus: everyone, codec: l.codec}
	if _, ok := a.active[l.id]; ok {
		key.minus = l.id
	}
	return key
}

// fecWanted is the loss l's mix should carry FEC for at now: 0 unless l
// reported loss within fecHold. Called under the mixer's lock.
func (l *listener) fecWanted(now time.Time) int {
	if l.lossAt.IsZero() || now.Sub(l.lossAt) > fecHold {
		return 0
	}
	return min(100, max(mixFECLoss, l.lossPercent))
}

// silent tells whether mix key holds no voice: nobody but the one it
// takes out has sound this tick.
func (a *audioMixer) silent(key mixKey) bool {
	_, own := a.active[key.minus]
	return len(a.active) == 0 || len(a.active) == 1 && own
}

// DTXWriter is a listener's track that can let RTP time pass with nothing
// sent and sequence numbers unbroken, as Opus DTX needs (RFC 7587, 3.1.3):
// OpusOutput is one.
type DTXWriter interface {
	SampleWriter
	// Skip lets d of RTP time pass with nothing sent.
	Skip(d time.Duration)
}

type listener struct {
	id    string
	sink  SampleWriter
	codec AudioCodec
	dtx   DTXWriter // sink, if it takes DTX and codec is Opus

	// Under the mixer's lock.
	lossPercent int       // the loss it last reported
	lossAt      time.Time // when; zero: never

	// Owned by the clock goroutine.
	quietTicks int  // ticks in a row its mix was silent
	toc        byte // the TOC byte of its last frame, as one frame (code 0)
	dtxFrame   [1]byte
}

// silence sends the listener nothing for a tick of silence past the
// hangover but, on the first and every dtxInterval-th, a DTX frame: the
// TOC byte of its last frame, which a decoder fills with comfort noise.
func (l *listener) silence() {
	if (l.quietTicks-dtxHangover-1)%dtxInterval != 0 {
		l.dtx.Skip(mixPeriod)
		return
	}
	l.dtxFrame[0] = l.toc
	_ = l.dtx.WriteSample(media.Sample{Data: l.dtxFrame[:], Duration: mixPeriod})
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
	fec    int // the loss its in-band FEC is sized for; 0: none
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
	if want := a.fec[key]; want != mix.fec {
		if err := mix.enc.SetInbandFEC(want); err != nil {
			return nil, err
		}
		mix.fec = want
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
	a.observe.AudioFrame(AudioEncoded)
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
