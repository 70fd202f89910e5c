package peer

import (
	"fmt"
	"net"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Payload types offered, as a browser would.
const (
	payloadTypeVP8  = 96
	payloadTypeOpus = 111
)

// newAPI builds a webrtc API for one PeerConnection: VP8 and Opus only,
// the default interceptors (NACK, RTCP reports, TWCC) on a fresh registry,
// and ICE restricted to one IPv4 UDP socket that Drop can silence.
func (p *Peer) newAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	feedback := []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
		{Type: "nack"}, {Type: "nack", Parameter: "pli"},
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback},
		PayloadType:        payloadTypeVP8,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("peer: register VP8: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: payloadTypeOpus,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("peer: register Opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("peer: register interceptors: %w", err)
	}

	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	listen := "0.0.0.0:0"
	if p.cfg.Loopback {
		listen = "127.0.0.1:0"
		se.SetIncludeLoopbackCandidate(true)
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}
	conn, err := net.ListenPacket("udp4", listen)
	if err != nil {
		return nil, fmt.Errorf("peer: ICE socket: %w", err)
	}
	p.udp = &blackhole{PacketConn: conn}
	mux := webrtc.NewICEUDPMux(nil, p.udp) // closes p.udp when closed
	p.mux = mux
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// startMedia creates the PeerConnection with one sendrecv video and one
// sendrecv audio transceiver and sends the offer.
func (p *Peer) startMedia() error {
	api, err := p.newAPI()
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("peer: new peer connection: %w", err)
	}
	p.mu.Lock()
	p.pc = pc
	p.mu.Unlock()
	pc.OnICECandidate(p.onLocalCandidate)
	pc.OnConnectionStateChange(p.onConnectionState)
	pc.OnTrack(p.onTrack)

	stream := "threeway-peer-" + p.cfg.Role
	video, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", stream)
	if err != nil {
		return fmt.Errorf("peer: video track: %w", err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(
		webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", stream)
	if err != nil {
		return fmt.Errorf("peer: audio track: %w", err)
	}
	sendrecv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}
	vt, err := pc.AddTransceiverFromTrack(video, sendrecv)
	if err != nil {
		return fmt.Errorf("peer: add video transceiver: %w", err)
	}
	at, err := pc.AddTransceiverFromTrack(audio, sendrecv)
	if err != nil {
		return fmt.Errorf("peer: add audio transceiver: %w", err)
	}
	p.videoTrack, p.audioTrack = video, audio
	p.goRTCP(vt.Sender(), true)
	p.goRTCP(at.Sender(), false)

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return fmt.Errorf("peer: create offer: %w", err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("peer: set local offer: %w", err)
	}
	return p.sendOffer(offer.SDP)
}

// onConnectionState tracks the PeerConnection's state.
func (p *Peer) onConnectionState(s webrtc.PeerConnectionState) {
	p.mu.Lock()
	p.stats.ConnectionState = s.String()
	p.mu.Unlock()
	p.log.Debug("connection state", "state", s.String())
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.connectedOnce.Do(func() { close(p.connected) })
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		p.fail(fmt.Errorf("%w: state %s", ErrConnection, s))
	}
}

// goRTCP reads RTCP from a sender until the PeerConnection closes, which
// the interceptors need; for video it turns PLI and FIR into a key frame.
func (p *Peer) goRTCP(sender *webrtc.RTPSender, video bool) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			if video {
				p.handleSenderRTCP(pkts)
			}
		}
	}()
}

// blackhole is the ICE socket. Once silenced it drops everything in both
// directions while reporting success, like a dead link. It embeds the
// net.PacketConn interface, not *net.UDPConn, so that pion cannot bypass
// ReadFrom and WriteTo through UDPConn's AddrPort methods.
type blackhole struct {
	net.PacketConn
	silent atomic.Bool
}

func (b *blackhole) silence() { b.silent.Store(true) }

// ReadFrom returns the next packet unless silenced, in which case packets
// are discarded until the socket closes.
func (b *blackhole) ReadFrom(buf []byte) (int, net.Addr, error) {
	for {
		n, addr, err := b.PacketConn.ReadFrom(buf)
		if err != nil || !b.silent.Load() {
			return n, addr, err
		}
	}
}

// WriteTo sends buf unless silenced, in which case it pretends to.
func (b *blackhole) WriteTo(buf []byte, addr net.Addr) (int, error) {
	if b.silent.Load() {
		return len(buf), nil
	}
	return b.PacketConn.WriteTo(buf, addr)
}
