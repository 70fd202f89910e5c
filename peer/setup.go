package peer

import (
	"fmt"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// Payload types offered, as a browser would.
const (
	payloadTypeVP8  = 96
	payloadTypeOpus = 111
)

// newAPI builds a webrtc API for one PeerConnection: VP8 and Opus only,
// the default interceptors (NACK, RTCP reports, TWCC) on a fresh
// registry, with the feedback counter beneath them, and ICE on the leg's
// network (network's conditions): one IPv4 UDP socket or, when the
// conditions block UDP, active ICE-TCP to the server's passive
// candidates. A browser gathers both, but pion nominates the first pair
// to answer its checks, which on a lossy path may be TCP's, and a party
// whose loss a test set would then see none; so TCP is the fallback only
// where UDP is off from the leg's start. It returns the network.
func newAPI(loopback bool, network netcond.Conditions, fb *feedbackCounter) (*webrtc.API, *iceSocket, error) {
	m := &webrtc.MediaEngine{}
	feedback := []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
		{Type: "nack"}, {Type: "nack", Parameter: "pli"},
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback},
		PayloadType:        payloadTypeVP8,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("peer: register VP8: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1;usedtx=1",
		},
		PayloadType: payloadTypeOpus,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, fmt.Errorf("peer: register Opus: %w", err)
	}
	level := webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}
	if err := m.RegisterHeaderExtension(level, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, fmt.Errorf("peer: register audio level: %w", err)
	}
	ir := &interceptor.Registry{}
	// First in the registry is innermost: it sees what the NACK responder
	// resends and every RTCP packet the PeerConnection writes.
	ir.Add(fb)
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, nil, fmt.Errorf("peer: register interceptors: %w", err)
	}

	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if network.UDPOff {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	listen := "0.0.0.0:0"
	if loopback {
		listen = "127.0.0.1:0"
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	sock, err := newICESocket(network, listen)
	if err != nil {
		return nil, nil, err
	}
	se.SetNet(sock.net)
	se.SetICEUDPMux(sock.mux)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se))
	return api, sock, nil
}

// build creates the leg's PeerConnection with one sendrecv video and one
// sendrecv audio transceiver, as a browser with a camera and microphone
// does, and sends the offer.
func (l *leg) build() error {
	api, sock, err := newAPI(l.cfg.Loopback, l.conditions(), l.an.feedback())
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		if cerr := sock.close(); cerr != nil {
			l.log.Debug("close ICE socket", "err", cerr)
		}
		return fmt.Errorf("peer: new peer connection: %w", err)
	}
	l.mu.Lock()
	l.sock, l.pc = sock, pc
	l.applyNetworkLocked() // a SetNetwork since newAPI read them
	if l.silenced {
		sock.net.Silence(true)
	}
	l.mu.Unlock()
	pc.OnICECandidate(l.onLocalCandidate)
	pc.OnConnectionStateChange(l.onStateChange)
	pc.OnTrack(func(track *webrtc.TrackRemote, r *webrtc.RTPReceiver) { l.onTrack(pc, track, r) })

	stream := "threeway-peer-" + l.role
	video, err := newSampleWriter(webrtc.MimeTypeVP8, "video", stream)
	if err != nil {
		return err
	}
	audio, err := newSampleWriter(webrtc.MimeTypeOpus, "audio", stream)
	if err != nil {
		return err
	}
	sendrecv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}
	vt, err := pc.AddTransceiverFromTrack(video.track, sendrecv)
	if err != nil {
		return fmt.Errorf("peer: add video transceiver: %w", err)
	}
	at, err := pc.AddTransceiverFromTrack(audio.track, sendrecv)
	if err != nil {
		return fmt.Errorf("peer: add audio transceiver: %w", err)
	}
	l.mu.Lock()
	audio.sender, audio.noLevels = at.Sender(), l.cfg.NoAudioDTX
	l.video, l.audio, l.mainVideo = video, audio, vt.Receiver()
	l.mu.Unlock()
	l.goRTCP(vt.Sender(), &l.out.camera)
	l.goRTCP(at.Sender(), nil)

	l.neg.mu.Lock()
	defer l.neg.mu.Unlock()
	l.neg.gen = 1
	return l.offerLocked()
}

// goRTCP reads RTCP from a sender until it stops or the PeerConnection
// closes, which the interceptors need; for video (src set) it turns PLI
// and FIR into a key frame of src.
func (l *leg) goRTCP(sender *webrtc.RTPSender, src *source) {
	l.tasks.spawn(func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			if src != nil {
				l.handleSenderRTCP(src, pkts)
			}
		}
	})
}
