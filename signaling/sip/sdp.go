package sip

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/threeway-mcu/threeway/mixer"
)

// RTP payload types of the offer: G.711's static ones (RFC 3551) and the
// customary dynamic one for telephone-event (RFC 4733).
const (
	ptPCMU           = 0
	ptPCMA           = 8
	ptComfortNoise   = 13
	ptTelephoneEvent = 101
)

// offer is the SDP offer of an INVITE: PCMU, then PCMA, and
// telephone-event, 20 ms a packet, on the leg's RTP address.
func offer(media *net.UDPAddr) ([]byte, error) {
	return describe(media, ptPCMU, ptPCMA, ptTelephoneEvent)
}

// rtpmaps names the payload types the leg knows.
var rtpmaps = map[uint8]string{ptPCMU: "PCMU/8000", ptPCMA: "PCMA/8000", ptTelephoneEvent: "telephone-event/8000"}

// describe is an SDP of audio in payload types pts (of rtpmaps) at
// media: the offer, and once a codec is chosen what re-INVITEs carry.
func describe(media *net.UDPAddr, pts ...uint8) ([]byte, error) {
	id := uint64(time.Now().UnixNano())
	ip := media.IP.String()
	m := &sdp.MediaDescription{MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: media.Port},
		Protos: []string{"RTP", "AVP"}}}
	for _, pt := range pts {
		f := strconv.Itoa(int(pt))
		m.MediaName.Formats = append(m.MediaName.Formats, f)
		m.WithValueAttribute("rtpmap", f+" "+rtpmaps[pt])
		if pt == ptTelephoneEvent {
			m.WithValueAttribute("fmtp", f+" 0-16")
		}
	}
	m.WithValueAttribute("ptime", "20").WithPropertyAttribute("sendrecv")
	s := &sdp.SessionDescription{
		Origin: sdp.Origin{Username: "threeway", SessionID: id, SessionVersion: id,
			NetworkType: "IN", AddressType: "IP4", UnicastAddress: ip},
		SessionName: "threeway",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: "IP4",
			Address: &sdp.Address{Address: ip}},
		TimeDescriptions:  []sdp.TimeDescription{{}},
		MediaDescriptions: []*sdp.MediaDescription{m},
	}
	return s.Marshal()
}

// answer is what the phone's SDP answer chose: where to send RTP, and
// in which codec under which payload type.
type answer struct {
	remote *net.UDPAddr
	codec  mixer.AudioCodec
	pt     uint8
}

var errNoAudio = errors.New("the answer accepts no audio we offered")

// parseAnswer reads the audio of an SDP answer: its first format that
// is PCMU or PCMA (static, or named by rtpmap), and the address of its
// media or session connection line.
func parseAnswer(body []byte) (answer, error) {
	var s sdp.SessionDescription
	if err := s.UnmarshalString(string(body)); err != nil {
		return answer{}, fmt.Errorf("sdp answer: %w", err)
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		conn := s.ConnectionInformation
		if m.ConnectionInformation != nil {
			conn = m.ConnectionInformation
		}
		if conn == nil || conn.Address == nil {
			return answer{}, errors.New("sdp answer: no connection address")
		}
		ip := net.ParseIP(conn.Address.Address)
		if ip == nil {
			return answer{}, fmt.Errorf("sdp answer: connection address %q is no IP", conn.Address.Address)
		}
		remote := &net.UDPAddr{IP: ip, Port: m.MediaName.Port.Value}
		for _, f := range m.MediaName.Formats {
			if c, pt, ok := g711Format(&s, f); ok {
				return answer{remote: remote, codec: c, pt: pt}, nil
			}
		}
	}
	return answer{}, errNoAudio
}

// g711Format tells whether format f of s's audio is PCMU or PCMA.
func g711Format(s *sdp.SessionDescription, f string) (mixer.AudioCodec, uint8, bool) {
	n, err := strconv.ParseUint(f, 10, 7)
	if err != nil {
		return 0, 0, false
	}
	pt := uint8(n)
	name := ""
	if codec, err := s.GetCodecForPayloadType(pt); err == nil {
		name = codec.Name
	}
	switch {
	case name == "PCMU" || name == "" && pt == ptPCMU:
		return mixer.PCMU, pt, true
	case name == "PCMA" || name == "" && pt == ptPCMA:
		return mixer.PCMA, pt, true
	}
	return 0, 0, false
}

// quiet tells the payload types a phone may send besides its voice, which
// the leg accepts without playing: DTMF and comfort noise.
func quiet(pt uint8) bool { return pt == ptTelephoneEvent || pt == ptComfortNoise }
