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

func (c AudioCodec) newDecoder() (voiceDecoder, error) {
	if c == Opus {
		return codec.NewOpusDecoder()
	}
	return codec.NewG711Decoder(c.law())
}

// mixCoder encodes a mix's 20 ms frames for its listeners.
type mixCoder interface {
	Encode(pcm []int16, dst []byte) ([]byte, error)
	Close()
}

// newMixCoder makes a mix's encoder: Opus at bitrate with in-band FEC for
// the loss WebRTC listeners see, or G.711.
func (c AudioCodec) newMixCoder(bitrate int) (mixCoder, error) {
	if c != Opus {
		return codec.NewG711Encoder(c.law())
	}
	enc, err := codec.NewOpusEncoder(bitrate)
	if err != nil {
		return nil, err
	}
	if err := enc.SetInbandFEC(mixFECLoss); err != nil {
		enc.Close()
		return nil, err
	}
	return enc, nil
}
