package signaling

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ICE timeouts. A party from whom nothing has arrived for iceDisconnected
// is shown reconnecting. We check the path every iceKeepalive, and any
// live party answers those checks, so a quiet one (camera off, microphone
// muted) is never taken for lost, and one that is lost is seen within
// iceDisconnected plus one check. ICE gives up only iceFailed later, when
// the default rejoin grace is over: a path that comes back inside the
// grace carries the media again with no restart.
const (
	iceDisconnected = time.Second
	iceFailed       = 29 * time.Second // with iceDisconnected: call.DefaultRejoinGrace
	iceKeepalive    = 250 * time.Millisecond
)

// nackInterval is how often a missing packet is asked for again, until it
// comes or the frame builder gives it up (mixer's lostAfter): pion's 100 ms
// default stalls a source for that long per lost packet on a short path.
const nackInterval = 50 * time.Millisecond

// apiParams configure one PeerConnection's API.
type apiParams struct {
	ice     ICEParams
	sockets *iceSockets
	// countSent, when set, counts every NACK, PLI and FIR the
	// PeerConnection sends, by type.
	countSent func(typ string)
	// bandwidth, when set, estimates the PeerConnection's downlink
	// (bandwidth.go).
	bandwidth *bandwidthParams
}

// newAPI builds a pion API for one PeerConnection: VP8 and Opus only, and a
// fresh interceptor registry (NACK, RTCP reports, TWCC feedback on what we
// receive, and with p.bandwidth congestion control of what we send) of its
// own. The estimator, when asked for, exists once the PeerConnection does.
func newAPI(p apiParams) (*webrtc.API, *estimator, error) {
	engine := &webrtc.MediaEngine{}
	if err := registerCodecs(engine); err != nil {
		return nil, nil, err
	}
	registry := &interceptor.Registry{}
	if p.countSent != nil {
		// First in the chain, so closest to the wire: it sees what pion's
		// NACK generator writes as well as our own PLIs.
		registry.Add(rtcpCounterFactory{p.countSent})
	}
	var est *estimator
	if p.bandwidth != nil {
		var err error
		if est, err = registerCongestionControl(engine, registry, *p.bandwidth); err != nil {
			return nil, nil, err
		}
	}
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(engine, registry,
		webrtc.WithNackGeneratorOptions(nack.GeneratorInterval(nackInterval))); err != nil {
		return nil, nil, fmt.Errorf("register interceptors: %w", err)
	}
	settings, err := settingEngine(p.ice, p.sockets)
	if err != nil {
		return nil, nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(engine),
		webrtc.WithInterceptorRegistry(registry),
		webrtc.WithSettingEngine(settings)), est, nil
}

// videoFeedback is what VP8 senders may ask of us and we of them.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBNACK},
	{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
	{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	{Type: webrtc.TypeRTCPFBGoogREMB},
}

// opusFmtp asks senders for in-band FEC and for DTX (usedtx=1, RFC 7587):
// a browser then sends a packet every 400 ms while its party is silent,
// which the mixer does not decode.
const opusFmtp = "minptime=10;useinbandfec=1;usedtx=1"

// withOpusDTX adds usedtx=1 to the fmtp line of every Opus payload type
// in sdp that does not say usedtx. The server applies it to a client's
// offer, which a browser makes without usedtx: pion answers with the
// offer's Opus parameters (and refuses an answer changed after
// CreateAnswer), so the answer then asks the client for DTX.
func withOpusDTX(sdp string) string {
	opus := map[string]bool{}
	for line := range strings.Lines(sdp) {
		if rest, ok := strings.CutPrefix(line, "a=rtpmap:"); ok {
			pt, codec, _ := strings.Cut(rest, " ")
			opus[pt] = opus[pt] || strings.HasPrefix(strings.ToLower(codec), "opus/")
		}
	}
	var out strings.Builder
	for line := range strings.Lines(sdp) {
		rest, ok := strings.CutPrefix(line, "a=fmtp:")
		pt, params, _ := strings.Cut(rest, " ")
		if ok && opus[pt] && !strings.Contains(params, "usedtx=") {
			params, eol := strings.TrimRight(params, "\r\n"), line[len(strings.TrimRight(line, "\r\n")):]
			line = "a=fmtp:" + pt + " " + params + ";usedtx=1" + eol
		}
		out.WriteString(line)
	}
	return out.String()
}

func registerCodecs(m *webrtc.MediaEngine) error {
	vp8 := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback,
		},
		PayloadType: 96,
	}
	if err := m.RegisterCodec(vp8, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("register vp8: %w", err)
	}
	opus := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: opusFmtp,
		},
		PayloadType: 111,
	}
	if err := m.RegisterCodec(opus, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register opus: %w", err)
	}
	// The audio level lets silence go undecoded (mixer.VoiceFormat).
	level := webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}
	if err := m.RegisterHeaderExtension(level, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("register audio level: %w", err)
	}
	return nil
}

func settingEngine(p ICEParams, sockets *iceSockets) (webrtc.SettingEngine, error) {
	var s webrtc.SettingEngine
	s.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)
	sockets.apply(&s)
	if p.PortMin != 0 || p.PortMax != 0 {
		if err := s.SetEphemeralUDPPortRange(p.PortMin, p.PortMax); err != nil {
			return s, fmt.Errorf("udp ports %d-%d: %w", p.PortMin, p.PortMax, err)
		}
	}
	if len(p.Interfaces) > 0 {
		names := slices.Clone(p.Interfaces)
		s.SetInterfaceFilter(func(name string) bool { return slices.Contains(names, name) })
		s.SetIncludeLoopbackCandidate(slices.Contains(names, "lo"))
		s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if len(p.PublicIPs) > 0 {
		if err := s.SetICEAddressRewriteRules(publicIPRules(p.PublicIPs)...); err != nil {
			return s, fmt.Errorf("public ip %v: %w", p.PublicIPs, err)
		}
	}
	return s, nil
}

// rtcpCounterFactory makes an rtcpCounter per PeerConnection.
type rtcpCounterFactory struct{ count func(typ string) }

// NewInterceptor implements interceptor.Factory.
func (f rtcpCounterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &rtcpCounter{count: f.count}, nil
}

// rtcpCounter counts the feedback a PeerConnection sends about the media
// it receives; it changes nothing.
type rtcpCounter struct {
	interceptor.NoOp
	count func(typ string)
}

// BindRTCPWriter implements interceptor.Interceptor.
func (c *rtcpCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, attrs interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.TransportLayerNack:
				c.count("nack")
			case *rtcp.PictureLossIndication:
				c.count("pli")
			case *rtcp.FullIntraRequest:
				c.count("fir")
			}
		}
		return w.Write(pkts, attrs)
	})
}
