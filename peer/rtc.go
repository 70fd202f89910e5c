package peer

import (
	"fmt"
	"io"
	"math/rand/v2"
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
// and ICE restricted to one IPv4 UDP socket that Drop can silence. It
// returns that socket and the mux over it (closing the mux closes both).
func (p *Peer) newAPI() (*webrtc.API, *blackhole, io.Closer, error) {
	m := &webrtc.MediaEngine{}
	feedback := []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"},
		{Type: "nack"}, {Type: "nack", Parameter: "pli"},
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: feedback},
		PayloadType:        payloadTypeVP8,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, nil, fmt.Errorf("peer: register VP8: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: payloadTypeOpus,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, nil, fmt.Errorf("peer: register Opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, nil, nil, fmt.Errorf("peer: register interceptors: %w", err)
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
		return nil, nil, nil, fmt.Errorf("peer: ICE socket: %w", err)
	}
	udp := &blackhole{PacketConn: conn}
	mux := webrtc.NewICEUDPMux(nil, udp) // closes udp when closed
	se.SetICEUDPMux(mux)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se))
	return api, udp, mux, nil
}

// buildLeg creates l's PeerConnection with one sendrecv video and one
// sendrecv audio transceiver, as a browser with a camera and microphone
// does, and sends the offer.
func (p *Peer) buildLeg(l *leg) error {
	api, udp, mux, err := p.newAPI()
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		if cerr := mux.Close(); cerr != nil {
			p.log.Debug("close ICE socket", "err", cerr)
		}
		return fmt.Errorf("peer: new peer connection: %w", err)
	}
	p.mu.Lock()
	l.udp, l.mux, l.pc = udp, mux, pc
	if l.silenced {
		udp.silence()
	}
	p.mu.Unlock()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) { p.onLocalCandidate(l, c) })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { p.onLegState(l, s) })
	pc.OnTrack(func(track *webrtc.TrackRemote, r *webrtc.RTPReceiver) { p.onTrack(l, pc, track, r) })

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
	l.video, l.audio = video, audio
	p.mu.Lock()
	l.mainVideo = vt.Receiver()
	p.mu.Unlock()
	p.goRTCP(l, vt.Sender(), &l.camera)
	p.goRTCP(l, at.Sender(), nil)

	l.negMu.Lock()
	defer l.negMu.Unlock()
	l.gen = 1
	return p.offerLocked(l)
}

// goRTCP reads RTCP from a sender until it stops or the PeerConnection
// closes, which the interceptors need; for video (src set) it turns PLI
// and FIR into a key frame of src.
func (p *Peer) goRTCP(l *leg, sender *webrtc.RTPSender, src *source) {
	p.tasks.spawn(func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			if src != nil {
				p.handleSenderRTCP(l, src, pkts)
			}
		}
	})
}

// blackhole is the ICE socket. Once silenced it drops everything in both
// directions while reporting success, like a dead link. It embeds the
// net.PacketConn interface, not *net.UDPConn, so that pion cannot bypass
// ReadFrom and WriteTo through UDPConn's AddrPort methods.
//
// It can also lose a share of the inbound RTP, as a lossy downlink would
// (SetInboundLoss).
type blackhole struct {
	net.PacketConn
	silent  atomic.Bool
	loss    atomic.Uint32 // inbound RTP lost, in millionths
	lossOut atomic.Uint32 // outbound RTP lost, in millionths
	dropped atomic.Int64  // inbound RTP packets lost so far
}

func (b *blackhole) silence() { b.silent.Store(true) }

// ReadFrom returns the next packet unless silenced, in which case packets
// are discarded until the socket closes, or lost to the loss rate.
func (b *blackhole) ReadFrom(buf []byte) (int, net.Addr, error) {
	for {
		n, addr, err := b.PacketConn.ReadFrom(buf)
		switch {
		case err != nil:
			return n, addr, err
		case b.silent.Load():
		case lose(buf[:n], b.loss.Load()):
			b.dropped.Add(1)
		default:
			return n, addr, err
		}
	}
}

// lose decides whether a packet is lost at rate (in millionths): only RTP
// is (RFC 7983: first byte 128..191, and not RTCP's payload types
// 192..223), so STUN, DTLS and RTCP get through and the connection itself
// stays up.
func lose(pkt []byte, rate uint32) bool {
	if rate == 0 || len(pkt) < 12 || pkt[0] < 128 || pkt[0] > 191 || (pkt[1] >= 192 && pkt[1] <= 223) {
		return false
	}
	return rand.Uint32N(1_000_000) < rate
}

// WriteTo sends buf unless silenced or lost to the outbound loss rate, in
// which case it pretends to.
func (b *blackhole) WriteTo(buf []byte, addr net.Addr) (int, error) {
	if b.silent.Load() || lose(buf, b.lossOut.Load()) {
		return len(buf), nil
	}
	return b.PacketConn.WriteTo(buf, addr)
}
