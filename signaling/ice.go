package signaling

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// NoTCP as ICEParams.TCPPort turns ICE-TCP off.
const NoTCP = -1

// ICEParams says where the server gathers candidates and which sockets
// carry the media of every PeerConnection.
type ICEParams struct {
	// Interfaces, when set, are the only network interfaces used, e.g.
	// []string{"lo"} for tests. Loopback candidates are included when "lo"
	// is listed, and mDNS is off.
	Interfaces []string
	// PortMin and PortMax, when either is set, give each PeerConnection
	// UDP sockets of its own in that range (zero: no bound) instead of
	// the shared UDPPort.
	PortMin, PortMax uint16
	// UDPPort is the one UDP port all media shares (pion's ICE UDP mux),
	// bound on every IPv4 address of the interfaces; 0 picks a free port
	// (one per address).
	UDPPort int
	// TCPPort is where ICE-TCP listens, a fallback for parties whose UDP
	// is blocked; 0 picks a free port, NoTCP turns it off. It listens on
	// the interfaces' one IPv4 address, or on all if they have several.
	TCPPort int
	// PublicIPs, when set, replace the addresses of the server's host
	// candidates: the server sits behind a 1:1 NAT that forwards its
	// media ports from these addresses. "PUBLIC/PRIVATE" replaces only
	// the private address; a lone address replaces every one.
	PublicIPs []string
}

// iceSockets are the sockets every PeerConnection of a server shares:
// the UDP port's mux (nil with per-connection ports) and the ICE-TCP
// listener's (nil when off).
type iceSockets struct {
	net transport.Net
	udp ice.UDPMux
	tcp ice.TCPMux
}

// openICESockets binds the shared UDP port and the ICE-TCP port as p
// asks.
func openICESockets(p ICEParams) (*iceSockets, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	s := &iceSockets{net: n}
	if p.PortMin == 0 && p.PortMax == 0 {
		udp, err := s.listenUDP(p)
		if err != nil {
			return nil, fmt.Errorf("udp port %d: %w", p.UDPPort, err)
		}
		s.udp = udp
	}
	if p.TCPPort != NoTCP {
		tcp, err := s.listenTCP(p)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("tcp port %d: %w", p.TCPPort, err)
		}
		s.tcp = tcp
	}
	return s, nil
}

// listenUDP binds the UDP port on every IPv4 address of the interfaces.
func (s *iceSockets) listenUDP(p ICEParams) (ice.UDPMux, error) {
	opts := []ice.UDPMuxFromPortOption{
		ice.UDPMuxFromPortWithNet(s.net),
		ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4),
	}
	if len(p.Interfaces) > 0 {
		names := slices.Clone(p.Interfaces)
		opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(func(name string) bool { return slices.Contains(names, name) }))
		if slices.Contains(names, "lo") {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback())
		}
	}
	mux, err := ice.NewMultiUDPMuxFromPort(p.UDPPort, opts...)
	if err != nil {
		return nil, err
	}
	if len(mux.GetListenAddresses()) == 0 {
		mux.Close()
		return nil, errors.New("no IPv4 address on the media interfaces (loopback only when named among them, as lo)")
	}
	return mux, nil
}

// listenTCP opens the ICE-TCP listener.
func (s *iceSockets) listenTCP(p ICEParams) (ice.TCPMux, error) {
	addr := &net.TCPAddr{IP: net.IPv4zero, Port: p.TCPPort}
	if ips := s.interfaceIPv4s(p.Interfaces); len(ips) == 1 {
		addr.IP = ips[0]
	}
	ln, err := s.net.ListenTCP("tcp4", addr)
	if err != nil {
		return nil, err
	}
	return webrtc.NewICETCPMux(nil, ln, 8), nil
}

// interfaceIPv4s lists the IPv4 addresses of the named interfaces (none
// for no names).
func (s *iceSockets) interfaceIPv4s(names []string) []net.IP {
	var ips []net.IP
	ifaces, err := s.net.Interfaces()
	if err != nil {
		return nil
	}
	for _, iface := range ifaces {
		if !slices.Contains(names, iface.Name) {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				ips = append(ips, ipn.IP.To4())
			}
		}
	}
	return ips
}

// publicIPRules has the host candidates carry the public addresses of a
// 1:1 NAT instead of their own.
func publicIPRules(ips []string) []webrtc.ICEAddressRewriteRule {
	var rules []webrtc.ICEAddressRewriteRule
	var everywhere []string
	for _, ip := range ips {
		public, private, pinned := strings.Cut(ip, "/")
		if !pinned {
			everywhere = append(everywhere, public)
			continue
		}
		rules = append(rules, hostRule([]string{public}, private))
	}
	if len(everywhere) > 0 {
		rules = append(rules, hostRule(everywhere, ""))
	}
	return rules
}

func hostRule(public []string, local string) webrtc.ICEAddressRewriteRule {
	return webrtc.ICEAddressRewriteRule{External: public, Local: local,
		AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}
}

// apply has a PeerConnection's settings use the shared sockets. Each
// PeerConnection lists the interfaces anew, as they may have changed
// since the server started.
func (s *iceSockets) apply(e *webrtc.SettingEngine) {
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if s.udp != nil {
		e.SetICEUDPMux(s.udp)
	}
	if s.tcp != nil {
		e.SetICETCPMux(s.tcp)
		types = append(types, webrtc.NetworkTypeTCP4)
	}
	e.SetNetworkTypes(types)
}

// MediaAddrs are where the server takes media: the shared UDP port's
// addresses (none with per-connection ports) and the ICE-TCP listener's
// (nil when off).
func (srv *Server) MediaAddrs() (udp []net.Addr, tcp net.Addr) {
	return srv.ice.UDPAddrs(), srv.ice.TCPAddr()
}

// UDPAddrs are the addresses of the shared UDP port (none with
// per-connection ports).
func (s *iceSockets) UDPAddrs() []net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.GetListenAddresses()
}

// TCPAddr is the ICE-TCP listener's address, or nil when ICE-TCP is off.
func (s *iceSockets) TCPAddr() net.Addr {
	if m, ok := s.tcp.(interface{ LocalAddr() net.Addr }); ok {
		return m.LocalAddr()
	}
	return nil
}

// close closes the shared sockets; PeerConnections still using them fail.
func (s *iceSockets) close() {
	if s.udp != nil {
		_ = s.udp.Close()
	}
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
}
