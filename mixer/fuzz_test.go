package mixer

import (
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
)

// The fuzz targets' input is a run of RTP packets, each a two-byte
// big-endian length and that many bytes: what a party's track delivers.

// splitPackets cuts fuzz input into packets; a length past the end takes
// what is left.
func splitPackets(data []byte) [][]byte {
	var packets [][]byte
	for len(data) >= 2 {
		n := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
		packets = append(packets, data[2:2+n])
		data = data[2+n:]
	}
	return packets
}

// joinPackets is splitPackets' inverse, for seeds.
func joinPackets(packets [][]byte) []byte {
	var data []byte
	for _, p := range packets {
		data = binary.BigEndian.AppendUint16(data, uint16(len(p)))
		data = append(data, p...)
	}
	return data
}

// steppedReader yields packets, calling step before each, then io.EOF.
type steppedReader struct {
	packets [][]byte
	step    func()
}

func (r *steppedReader) Read(b []byte) (int, interceptor.Attributes, error) {
	if len(r.packets) == 0 {
		return 0, nil, io.EOF
	}
	r.step()
	n := copy(b, r.packets[0])
	r.packets = r.packets[1:]
	return n, nil, nil
}

// rtpStream packetizes payloads as one sender's stream: sequence numbers
// from 1, a frame interval of ticks between them.
func rtpStream(tb testing.TB, payloader rtp.Payloader, clockRate, ticks uint32, frames [][]byte) [][]byte {
	tb.Helper()
	p := rtp.NewPacketizerWithOptions(1200, payloader, rtp.NewFixedSequencer(1), clockRate)
	var packets [][]byte
	for _, frame := range frames {
		for _, pkt := range p.Packetize(frame, ticks) {
			pkt.PayloadType = 96
			raw, err := pkt.Marshal()
			if err != nil {
				tb.Fatal(err)
			}
			packets = append(packets, raw)
		}
	}
	return packets
}

// fuzzVP8Frames encodes a few small frames: a key frame, then inter frames.
func fuzzVP8Frames(tb testing.TB) [][]byte {
	tb.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: 64, Height: 48, FPS: 15, BitrateKbps: 100, KeyframeInterval: 100})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	var frames [][]byte
	for i := range 4 {
		enc.Input().FillRect(0, 0, 64, 48, byte(40*i), 128, 128)
		enc.Input().FillRect(8*i, 8, 16, 16, 235, 90, 200)
		data, _, err := enc.Encode(nil, i == 0)
		if err != nil {
			tb.Fatal(err)
		}
		frames = append(frames, data)
	}
	return frames
}

// Whatever a party's camera track carries, the source decodes what it can,
// asks for key frames, and ends with the track: no panic, no hang.
func FuzzVideoIngest(f *testing.F) {
	frames := fuzzVP8Frames(f)
	stream := rtpStream(f, &codecs.VP8Payloader{EnablePictureID: true}, 90000, 6000, frames)
	f.Add(joinPackets(stream))
	f.Add(joinPackets(stream[1:]))                                            // no key frame
	f.Add(joinPackets([][]byte{stream[0], stream[0], stream[len(stream)-1]})) // repeated, then the last
	big := rtpStream(f, &codecs.VP8Payloader{}, 90000, 6000, [][]byte{append(frames[0], make([]byte, 3000)...)})
	f.Add(joinPackets(big)) // a key frame with trailing bytes, in three packets
	f.Add([]byte{0, 3, 0x80, 0x60, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		clock := newStepClock()
		m := newMixer(Params{Width: 160, Height: 90, FPS: 15, Clock: clock, Logger: slog.New(slog.DiscardHandler)})
		defer m.Close()
		r := &steppedReader{packets: splitPackets(data), step: func() { clock.Advance(30 * time.Millisecond) }}
		if err := m.IngestVideo("fuzz", r, func() {}); !errors.Is(err, io.EOF) {
			t.Fatalf("ingest ended with %v, want the track's end", err)
		}
	})
}

// Whatever a party's microphone track carries, the voice buffers and
// decodes what it can on the mix's clock: no panic, no hang.
func FuzzAudioIngest(f *testing.F) {
	enc, err := codec.NewOpusEncoder(32000)
	if err != nil {
		f.Fatal(err)
	}
	pcm := make([]int16, codec.FrameSamples)
	var frames [][]byte
	for i := range 5 {
		for j := range pcm {
			pcm[j] = int16((j * (i + 1) * 97) % 8000)
		}
		data, err := enc.Encode(pcm, nil)
		if err != nil {
			f.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), data...))
	}
	enc.Close()
	stream := rtpStream(f, &codecs.OpusPayloader{}, 48000, codec.FrameSamples, frames)
	f.Add(joinPackets(stream))
	f.Add(joinPackets([][]byte{stream[3], stream[0], stream[0], stream[4]}))
	f.Add(joinPackets(rtpStream(f, &codecs.OpusPayloader{}, 48000, codec.FrameSamples, [][]byte{{0xfc, 0xff, 0xfe}, {0x03}, make([]byte, 1276)})))

	f.Fuzz(func(t *testing.T, data []byte) {
		clock := newStepClock()
		v, err := newVoice("fuzz", VoiceFormat{Codec: Opus}, NopObserver{}, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer v.close()
		out := make([]byte, maxOpusPacket)
		tick := func() {
			clock.Advance(mixPeriod)
			v.next(out)
		}
		if err := v.ingest(&steppedReader{packets: splitPackets(data), step: tick}); !errors.Is(err, io.EOF) {
			t.Fatalf("ingest ended with %v, want the track's end", err)
		}
		for range 10 {
			tick()
		}
	})
}
