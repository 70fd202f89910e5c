package mixer

import (
	"cmp"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
)

// hopping is frame i of a signal whose pitch changes every 20 ms, as
// speech does: concealment, which carries the last pitch on, cannot guess
// a lost frame's, and FEC, which carries it, can. (libopus codes no FEC
// for a steady tone, which its voice detection takes for no speech.)
func hopping(i int) []int16 {
	pcm := make([]int16, codec.FrameSamples)
	phase := 0.0
	for j := range i {
		phase += 2 * math.Pi * hopPitch(j) * codec.FrameSamples / codec.SampleRate
	}
	for k := range pcm {
		pcm[k] = int16(8000 * math.Sin(phase+2*math.Pi*hopPitch(i)*float64(k)/codec.SampleRate))
	}
	return pcm
}

func hopPitch(i int) float64 { return []float64{300, 700, 500, 1100, 900}[i%5] }

// loudness is pcm's RMS level against hopping's.
func loudness(pcm []int16) float64 {
	var sum float64
	for _, x := range pcm {
		sum += float64(x) * float64(x)
	}
	return math.Sqrt(sum/float64(len(pcm))) / (8000 / math.Sqrt2)
}

// hasPitchOf reports whether pcm, a decoded frame, sounds more like frame
// i of hopping than like frame i-1.
func hasPitchOf(pcm []int16, i int) bool {
	return goertzelPower(pcm, hopPitch(i)) > goertzelPower(pcm, hopPitch(i-1))
}

// opusStream encodes frames of hopping as a sender at 32 kbps would, with
// in-band FEC sized for 10 % loss or none.
func opusStream(t *testing.T, frames int, fec bool) [][]byte {
	t.Helper()
	enc, err := codec.NewOpusEncoder(32000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if fec {
		if err := enc.SetInbandFEC(10); err != nil {
			t.Fatal(err)
		}
	}
	var packets [][]byte
	for i := range frames {
		pkt, err := enc.Encode(hopping(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, pkt)
	}
	return packets
}

// A voice that loses every 10th packet of a stream carrying in-band FEC
// rebuilds each lost frame from the next packet: the lost frame's own
// pitch is heard in it. Without FEC in the stream, concealment carries
// the pitch before on.
func TestVoiceRebuildsLostFramesFromFEC(t *testing.T) {
	rightPitch := func(fec bool) (right, lost int) {
		v, err := newVoice("customer", VoiceFormat{Codec: Opus}, NopObserver{}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer v.close()
		packet := make([]byte, maxOpusPacket)
		for i, pkt := range opusStream(t, 300, fec) {
			if i%10 != 5 {
				v.buffer(uint16(i), uint32(i)*codec.FrameSamples, tickTime(i), pkt)
			}
			// The tick after packet i arrives plays frame i-1 (jitterTarget).
			if !v.next(packet) && i > 0 {
				t.Fatalf("tick %d: silent", i)
			}
			if (i-1)%10 == 5 {
				lost++
				if hasPitchOf(v.pcm, i-1) {
					right++
				}
			}
		}
		if v.made.rebuilt != lost {
			t.Errorf("%d frames rebuilt from the next packet, want the %d lost", v.made.rebuilt, lost)
		}
		return right, lost
	}
	right, lost := rightPitch(true)
	t.Logf("with FEC, %d of %d lost frames have their own pitch", right, lost)
	if right < lost*8/10 {
		t.Errorf("with FEC, %d of %d lost frames have their own pitch, want nearly all", right, lost)
	}
	right, lost = rightPitch(false)
	t.Logf("without FEC, %d of %d", right, lost)
	if right > lost/10 {
		t.Errorf("without FEC, %d of %d lost frames have their own pitch: the test cannot tell FEC from concealment", right, lost)
	}
}

// heardSink decodes what a listener is sent, keeping every frame.
type heardSink struct {
	dec    *codec.OpusDecoder
	frames [][]int16
}

func (h *heardSink) WriteSample(s media.Sample) error {
	pcm := make([]int16, codec.MaxDecodeSamples)
	n, err := h.dec.Decode(s.Data, pcm)
	h.frames = append(h.frames, pcm[:n])
	return err
}

// The mix a listener is sent carries in-band FEC once the listener
// reports loss: a listener that loses every 10th packet and rebuilds it
// from the next comes far closer to the frame it lost than concealment
// does. Without a report of loss the mix carries none.
func TestMixCarriesFECWhenTheListenerReportsLoss(t *testing.T) {
	for _, reported := range []bool{true, false} {
		sent := mixSent(t, reported)
		errFEC, errConcealed := lossRepair(t, sent)
		t.Logf("loss reported %v: lost frames rebuilt from FEC differ by %.0f, concealed by %.0f", reported, errFEC, errConcealed)
		if reported && errFEC > errConcealed/2 {
			t.Errorf("rebuilding lost frames from the next packet came no nearer than concealment (%.0f against %.0f): no FEC in the mix",
				errFEC, errConcealed)
		}
		if !reported && errFEC < errConcealed*9/10 {
			t.Errorf("with no loss reported the mix carries FEC (%.0f against %.0f)", errFEC, errConcealed)
		}
	}
}

// mixSent is the mix of 300 frames of one voice as its listener is sent
// it, after the listener reported 10 % loss if lossReported.
func mixSent(t *testing.T, lossReported bool) [][]byte {
	a := newAudioMixer(32000, NopObserver{}, slog.New(slog.DiscardHandler))
	v, err := newVoice("customer", VoiceFormat{Codec: Opus}, NopObserver{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	a.voices["customer"] = v
	var sent [][]byte
	agent := &listener{id: "agent", codec: Opus, sink: sampleFunc(func(s media.Sample) error {
		sent = append(sent, slices.Clone(s.Data))
		return nil
	})}
	if lossReported {
		agent.lossPercent, agent.lossAt = 10, time.Now()
	}
	a.listeners["agent"] = agent
	defer a.closeAll()
	for i, pkt := range opusStream(t, 300, false) {
		v.buffer(uint16(i), uint32(i)*codec.FrameSamples, tickTime(i), pkt)
		a.tick()
	}
	return sent
}

// lossRepair decodes sent three ways: every packet, every 10th lost and
// rebuilt from the next packet's FEC, every 10th lost and concealed; and
// returns how far the lost frames were from the first, each way.
func lossRepair(t *testing.T, sent [][]byte) (errFEC, errConcealed float64) {
	listen := func(lost func(dec *codec.OpusDecoder, next []byte, pcm []int16) (int, error)) [][]int16 {
		dec, err := codec.NewOpusDecoder()
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		var frames [][]int16
		for i := 0; i+1 < len(sent); i++ {
			pcm := make([]int16, codec.MaxDecodeSamples)
			var err error
			if i%10 == 5 && lost != nil {
				_, err = lost(dec, sent[i+1], pcm)
			} else {
				_, err = dec.Decode(sent[i], pcm)
			}
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, pcm[:codec.FrameSamples])
		}
		return frames
	}
	all := listen(nil)
	fec := listen(func(dec *codec.OpusDecoder, next []byte, pcm []int16) (int, error) { return dec.DecodeFEC(next, pcm) })
	concealed := listen(func(dec *codec.OpusDecoder, _ []byte, pcm []int16) (int, error) { return dec.Conceal(pcm) })
	for i := 25; i < len(all); i += 10 {
		errFEC += difference(fec[i], all[i])
		errConcealed += difference(concealed[i], all[i])
	}
	return errFEC, errConcealed
}

// difference is the energy of a - b.
func difference(a, b []int16) float64 {
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	return sum / float64(len(a))
}

// sampleFunc is a SampleWriter made of a function.
type sampleFunc func(media.Sample) error

func (f sampleFunc) WriteSample(s media.Sample) error { return f(s) }

// arrival is an Opus packet as a lossy path delivers it.
type arrival struct {
	at   time.Time
	seq  uint16
	data []byte
}

// lossyAudio is seconds of hopping from a sender with in-band FEC
// (sized for 10 % loss), through a path that loses a share of the
// packets at random and delays each by 20 ms ± jitter (uniformly, never
// before it was sent), in the order the packets arrive.
func lossyAudio(t *testing.T, seconds int, share float64, jitter time.Duration, seed uint64) []arrival {
	t.Helper()
	enc, err := codec.NewOpusEncoder(32000)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if err := enc.SetInbandFEC(10); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	var out []arrival
	for i := range seconds * 50 {
		pkt, err := enc.Encode(hopping(i), nil)
		if err != nil {
			t.Fatal(err)
		}
		delay := 20*time.Millisecond + time.Duration((2*rng.Float64()-1)*float64(jitter))
		if rng.Float64() >= share {
			out = append(out, arrival{tickTime(i).Add(max(0, delay)), uint16(i), pkt})
		}
	}
	slices.SortStableFunc(out, func(a, b arrival) int { return a.at.Compare(b.at) })
	return out
}

// playLossyAudio runs a call's audio mix on packets as they arrive, one
// tick every 20 ms (offset from the sender's clock), until the last
// packet's due, and returns the customer's voice and what the agent heard.
func playLossyAudio(t *testing.T, packets []arrival) (*voice, [][]int16) {
	t.Helper()
	a := newAudioMixer(32000, NopObserver{}, slog.New(slog.DiscardHandler))
	v, err := newVoice("customer", VoiceFormat{Codec: Opus}, NopObserver{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	a.voices["customer"] = v
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	heard := &heardSink{dec: dec}
	a.listeners["agent"] = &listener{id: "agent", sink: heard, codec: Opus}
	defer a.closeAll()
	last := slices.MaxFunc(packets, func(a, b arrival) int { return cmp.Compare(a.seq, b.seq) }).seq
	for tick, i := 0, 0; tick < int(last); tick++ {
		now := tickTime(tick).Add(7 * time.Millisecond)
		for ; i < len(packets) && !packets[i].at.After(now); i++ {
			p := packets[i]
			v.buffer(p.seq, uint32(p.seq)*codec.FrameSamples, p.at, p.data)
		}
		a.tick()
	}
	return v, heard.frames
}

// A voice whose packets arrive with 30 ms of jitter, reordered, and 5 %
// of them lost, stays continuous: the buffer grows deep enough for the
// jitter, so reordering costs nothing, and the lost frames are rebuilt
// from FEC; under 6 % of the frames are anything but their own packet
// decoded, and the listener hears the voice in nearly every frame.
func TestVoiceRidesLossAndJitter(t *testing.T) {
	for _, c := range []struct {
		name           string
		share          float64
		most           float64 // of frames not decoded from their own packet
		late           int     // packets played too late, at most
		rebuiltAtLeast float64 // of the packets lost
	}{
		{"jitter", 0, 0.005, 3, 0},
		{"jitter and 5% loss", 0.05, 0.06, 3, 0.9},
	} {
		t.Run(c.name, func(t *testing.T) {
			packets := lossyAudio(t, 60, c.share, 30*time.Millisecond, 3)
			v, heard := playLossyAudio(t, packets)
			m := v.made
			total := m.decoded + m.rebuilt + m.concealed + m.silent
			notOwn := float64(total-m.decoded) / float64(total)
			t.Logf("%d frames: %d decoded, %d rebuilt from FEC, %d concealed, %d silent; %d packets late; buffering %d frames",
				total, m.decoded, m.rebuilt, m.concealed, m.silent, v.jitter.late, v.jitter.jitter.target())
			if notOwn > c.most || v.jitter.late > c.late {
				t.Errorf("%.1f %% of frames not decoded from their own packet, %d packets too late; want at most %.1f %% and %d",
					100*notOwn, v.jitter.late, 100*c.most, c.late)
			}
			if lost := 60*50 - len(packets); float64(m.rebuilt) < c.rebuiltAtLeast*float64(lost) {
				t.Errorf("%d of %d lost frames rebuilt from FEC", m.rebuilt, lost)
			}
			quiet := 0
			for _, pcm := range heard[10:] { // once the buffer plays
				if loudness(pcm) < 0.3 { // -10 dB
					quiet++
				}
			}
			if quiet > len(heard)/200 {
				t.Errorf("the agent heard the voice fade (by 10 dB) in %d of %d frames, want under 0.5 %%", quiet, len(heard)-10)
			}
		})
	}
}
