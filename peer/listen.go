package peer

import (
	"log/slog"
	"math"
	"sync"

	"github.com/threeway-mcu/threeway/codec"
)

const (
	// heardKeep is how many received audio packets are kept undecoded:
	// the second the tone levels are measured over, plus 200 ms for a
	// decoder that starts afresh to settle.
	heardKeep = 60
	// maxOpusSamples is the longest Opus packet, 120 ms.
	maxOpusSamples = 5760
	// maxConcealed bounds the frames concealed for one gap.
	maxConcealed = 5
	// maxSilentFrames bounds the DTX silence written for one gap: the
	// history holds a second.
	maxSilentFrames = 50
)

// heardPacket is one received Opus packet.
type heardPacket struct {
	data         []byte
	dropped      int // packets lost just before it
	silentBefore int // 20 ms frames of DTX (time passed, nothing lost) before it
}

// heardRing keeps the last heardKeep packets received.
type heardRing struct {
	pkts  [heardKeep]heardPacket
	total int // packets ever pushed
}

func (r *heardRing) push(p heardPacket) {
	r.pkts[r.total%heardKeep] = p
	r.total++
}

// since returns the packets from number from on, as far as they are kept,
// and the number of the first returned.
func (r *heardRing) since(from int) ([]heardPacket, int) {
	from = max(from, r.total-heardKeep, 0)
	out := make([]heardPacket, 0, r.total-from)
	for i := from; i < r.total; i++ {
		out = append(out, r.pkts[i%heardKeep])
	}
	return out, from
}

// listener decodes a leg's received audio when its tone levels are asked
// for: polled often, it decodes each packet once, continuing where it
// left off; asked rarely, only the last kept packets. mu guards every
// field; it is taken before analyser.mu.
type listener struct {
	mu      sync.Mutex
	dec     *codec.OpusDecoder
	decoded int // packets up to this number are decoded
	pcm     pcmRing
	buf     []int16
	tones   map[string]float64 // the levels last measured
	dbfs    float64            // and the level of the last heardWindow
	tonesAt int                // heard.total when tones was measured
	stopped bool               // the leg ended: keep no decoder
}

// toneLevels returns the tone levels of the last second of audio,
// decoding what arrived since the last call.
func (a *analyser) toneLevels() map[string]float64 {
	tones, _ := a.hearing()
	return tones
}

// hearing returns the tone levels of the last second of audio and the
// level of its last heardWindow in dBFS (silence: silentDBFS), decoding
// what arrived since the last call.
func (a *analyser) hearing() (map[string]float64, float64) {
	ln := &a.listen
	ln.mu.Lock()
	defer ln.mu.Unlock()
	a.mu.Lock()
	total := a.heard.total
	if ln.tones != nil && ln.tonesAt == total {
		a.mu.Unlock()
		return ln.tones, ln.dbfs
	}
	pkts, from := a.heard.since(ln.decoded)
	a.mu.Unlock()

	if from > ln.decoded {
		ln.closeDecoder() // a gap: start afresh on what is kept
	}
	ln.decode(a.log, pkts)
	ln.decoded = total
	if ln.stopped {
		ln.closeDecoder()
	}
	tones := make(map[string]float64, 3)
	ln.dbfs = silentDBFS
	if pcm := ln.pcm.snapshot(); len(pcm) > 0 {
		for _, role := range Roles() {
			tones[role] = Goertzel(pcm, ToneHz(role))
		}
		ln.dbfs = levelDBFS(pcm[max(0, len(pcm)-heardWindow):])
	}
	ln.tones, ln.tonesAt = tones, total
	return tones, ln.dbfs
}

const (
	// heardWindow is the audio HeardDBFS is measured over: 400 ms.
	heardWindow = codec.SampleRate * 2 / 5
	// silentDBFS is the level of digital silence.
	silentDBFS = -120.0
)

// levelDBFS is pcm's RMS level relative to full scale.
func levelDBFS(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	if sum == 0 {
		return silentDBFS
	}
	return max(silentDBFS, 20*math.Log10(math.Sqrt(sum/float64(len(pcm)))/32768))
}

// stop frees the audio decoder when the leg ends; a later toneLevels
// decodes what is left with a decoder it frees again.
func (a *analyser) stop() {
	a.listen.mu.Lock()
	defer a.listen.mu.Unlock()
	a.listen.stopped = true
	a.listen.closeDecoder()
}

// decode decodes pkts in order into the PCM history, concealing losses
// and undecodable packets.
func (ln *listener) decode(log *slog.Logger, pkts []heardPacket) {
	if len(pkts) == 0 {
		return
	}
	if ln.dec == nil {
		dec, err := codec.NewOpusDecoder()
		if err != nil {
			log.Error("audio decoder", "err", err)
			return
		}
		ln.dec = dec
		ln.buf = make([]int16, maxOpusSamples)
	}
	for _, pkt := range pkts {
		ln.pcm.silence(min(pkt.silentBefore, maxSilentFrames) * codec.FrameSamples)
		for range min(pkt.dropped, maxConcealed) {
			n, err := ln.dec.Conceal(ln.buf[:codec.FrameSamples])
			if err != nil {
				break
			}
			ln.pcm.write(ln.buf[:n])
		}
		n, err := ln.dec.Decode(pkt.data, ln.buf)
		if err != nil {
			log.Debug("decode audio", "err", err)
			if n, err = ln.dec.Conceal(ln.buf[:codec.FrameSamples]); err != nil {
				continue
			}
		}
		ln.pcm.write(ln.buf[:n])
	}
}

// close frees the decoder; a later decode starts a new one.
func (ln *listener) closeDecoder() {
	if ln.dec != nil {
		ln.dec.Close()
		ln.dec = nil
	}
}

// pcmRing keeps the last second of received audio.
type pcmRing struct {
	buf  []int16
	next int // where the next sample goes
	full bool
}

func (r *pcmRing) write(pcm []int16) {
	if r.buf == nil {
		r.buf = make([]int16, codec.SampleRate)
	}
	for len(pcm) > 0 {
		n := copy(r.buf[r.next:], pcm)
		pcm = pcm[n:]
		r.next += n
		if r.next == len(r.buf) {
			r.next, r.full = 0, true
		}
	}
}

// silence writes n samples of nothing.
func (r *pcmRing) silence(n int) {
	var zeros [codec.FrameSamples]int16
	for n > 0 {
		k := min(n, len(zeros))
		r.write(zeros[:k])
		n -= k
	}
}

// snapshot returns the history, oldest sample first.
func (r *pcmRing) snapshot() []int16 {
	if !r.full {
		return append([]int16(nil), r.buf[:r.next]...)
	}
	out := make([]int16, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}
