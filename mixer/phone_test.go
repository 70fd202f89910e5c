package mixer

import (
	"log/slog"
	"math"
	"slices"
	"testing"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
)

// g711Sink decodes the G.711 a phone listener is sent, keeping 48 kHz PCM.
type g711Sink struct {
	dec     *codec.G711Decoder
	pcm     []int16
	badSize int
}

func (s *g711Sink) WriteSample(sample media.Sample) error {
	frame := make([]int16, codec.FrameSamples)
	if _, err := s.dec.Decode(sample.Data, frame); err != nil {
		s.badSize++
		return err
	}
	s.pcm = append(s.pcm, frame...)
	return nil
}

// A phone's voice (G.711, 8 kHz) and a WebRTC party's (Opus) meet in one
// mix: each hears the other's tone and not its own, the phone in G.711
// of 20 ms a packet.
func TestPhoneHearsTheMixInG711(t *testing.T) {
	a := newAudioMixer(32000, NopObserver{}, slog.New(slog.DiscardHandler))
	defer a.closeAll()
	customer, err := newVoice("customer", VoiceFormat{Codec: Opus}, NopObserver{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer customer.close()
	phone, err := newVoice("third", VoiceFormat{Codec: PCMU}, NopObserver{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer phone.close()
	a.voices["customer"], a.voices["third"] = customer, phone

	dec, err := codec.NewG711Decoder(codec.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	phoneEar := &g711Sink{dec: dec}
	customerEar := &heardSink{dec: newOpusDecoderT(t)}
	a.listeners["third"] = &listener{id: "third", sink: phoneEar, codec: PCMU}
	a.listeners["customer"] = &listener{id: "customer", sink: customerEar, codec: Opus}

	opusEnc, err := codec.NewOpusEncoder(32000)
	if err != nil {
		t.Fatal(err)
	}
	defer opusEnc.Close()
	g711Enc, err := codec.NewG711Encoder(codec.ULaw)
	if err != nil {
		t.Fatal(err)
	}
	defer g711Enc.Close()
	const frames = 50
	for i := range frames {
		op, err := opusEnc.Encode(tone(440, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		gp, err := g711Enc.Encode(tone(990, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		customer.buffer(uint16(i), uint32(i*codec.FrameSamples), tickTime(i), op)
		phone.buffer(uint16(i), uint32(i*codec.G711FrameBytes), tickTime(i), gp)
		phone.buffer(uint16(1000+i), 0, tickTime(i), gp[:80]) // 10 ms: not the session's ptime
		a.tick()
	}
	if len(phoneEar.pcm) < (frames-5)*codec.FrameSamples || phoneEar.badSize > 0 {
		t.Fatalf("the phone got %d samples (%d packets not 160 bytes), want a 20 ms packet a tick",
			len(phoneEar.pcm), phoneEar.badSize)
	}
	var heard []int16
	for _, f := range customerEar.frames {
		heard = append(heard, f...)
	}
	tail := func(pcm []int16) []int16 { return pcm[len(pcm)-20*codec.FrameSamples:] }
	ratio := func(pcm []int16, want, own float64) float64 {
		return 10 * math.Log10(goertzelPower(tail(pcm), want)/goertzelPower(tail(pcm), own))
	}
	if r := ratio(phoneEar.pcm, 440, 990); r < 30 {
		t.Errorf("the phone hears the customer only %.1f dB over itself, want ≥ 30", r)
	}
	if r := ratio(heard, 990, 440); r < 30 {
		t.Errorf("the customer hears the phone only %.1f dB over itself, want ≥ 30", r)
	}
}

func newOpusDecoderT(t *testing.T) *codec.OpusDecoder {
	t.Helper()
	dec, err := codec.NewOpusDecoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	return dec
}

// A phone's tile shows its masked number legibly: the bitmap font has no
// bullet, so the bullets are drawn as asterisks, not as missing glyphs.
func TestPhoneTileShowsTheMaskedNumber(t *testing.T) {
	got := renderPlaceholder("third: +49 •••• 0100", 640, 360)
	want := renderPlaceholder("third: +49 **** 0100", 640, 360)
	if !slices.Equal(got.Y, want.Y) {
		t.Error("the masked number is not drawn with asterisks")
	}
}
