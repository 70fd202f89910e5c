package mixer

import "github.com/threeway-mcu/threeway/codec"

// AudioCodec is how a voice's packets, or a listener's mix, are coded:
// Opus for WebRTC parties, G.711 for a phone.
type AudioCodec int

const (
	Opus AudioCodec = iota
	PCMU            // G.711 µ-law, 20 ms a packet
	PCMA            // G.711 A-law, 20 ms a packet
)

func (c AudioCodec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	}
	return "opus"
}

func (c AudioCodec) law() codec.G711Law {
	if c == PCMA {
		return codec.ALaw
	}
	return codec.ULaw
}

// isFrame tells whether payload can be one 20 ms frame of c.
func (c AudioCodec) isFrame(payload []byte) bool {
	if c == Opus {
		return len(payload) > 0 && len(payload) <= maxOpusPacket
	}
	return len(payload) == codec.G711FrameBytes
}

// isDTX tells whether payload, a frame of c, is an Opus DTX frame: its
// TOC byte alone, or with one more byte (RFC 6716, 3.2.1), which libopus
// makes in silence and decodes as comfort noise.
func (c AudioCodec) isDTX(payload []byte) bool {
	return c == Opus && len(payload) <= 2
}

// VoiceFormat is how a voice's RTP is coded: its codec, and the header
// extension that carries its audio level (RFC 6464; 0: none), which lets
// silence go undecoded.
type VoiceFormat struct {
	Codec          AudioCodec
	LevelExtension uint8
}

func (c AudioCodec) newDecoder() (voiceDecoder, error) {
	if c == Opus {
		return codec.NewOpusDecoder()
	}
	return codec.NewG711Decoder(c.law())
}

// mixCoder encodes a mix's 20 ms frames for its listeners.
type mixCoder interface {
	Encode(pcm []int16, dst []byte) ([]byte, error)
	// SetInbandFEC sizes in-band FEC for a loss in percent; 0: none.
	SetInbandFEC(lossPercent int) error
	Close()
}

// newMixCoder makes a mix's encoder: Opus at bitrate, without in-band FEC
// until a listener reports loss, or G.711.
func (c AudioCodec) newMixCoder(bitrate int) (mixCoder, error) {
	if c != Opus {
		enc, err := codec.NewG711Encoder(c.law())
		if err != nil {
			return nil, err
		}
		return g711Mix{enc}, nil
	}
	return codec.NewOpusEncoder(bitrate)
}

// g711Mix is a G.711 mix encoder, which has no FEC to size.
type g711Mix struct{ *codec.G711Encoder }

func (g711Mix) SetInbandFEC(int) error { return nil }
