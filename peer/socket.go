package peer

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// iceSocket is a leg's network: a netcond.Net that applies the leg's
// conditions (Config.Network, SetNetwork, SetInboundLoss, Drop), its one
// UDP socket for ICE and pion's mux over it. pion makes nothing else
// through the Net but what it dials: ICE-TCP, which it dials outside the
// Net and is pointed at the Net's forwarders (forwardTCP). Its fields are
// set by newICESocket and never change; closeOnce guards closeErr.
type iceSocket struct {
	net       *netcond.Net
	mux       ice.UDPMux // closing it closes the UDP socket
	closeOnce sync.Once
	closeErr  error
}

// newICESocket opens the leg's network with conditions c, its start the
// leg's, and its UDP socket on listen.
func newICESocket(c netcond.Conditions, listen string) (*iceSocket, error) {
	n, err := netcond.New(c)
	if err != nil {
		return nil, fmt.Errorf("peer: network: %w", err)
	}
	conn, err := n.ListenPacket("udp4", listen)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("peer: ICE socket: %w", err), n.Close())
	}
	return &iceSocket{net: n, mux: webrtc.NewICEUDPMux(nil, conn)}, nil
}

// close closes the socket and the Net once and returns the first close's
// error.
func (s *iceSocket) close() error {
	s.closeOnce.Do(func() {
		err := s.mux.Close()
		if err != nil && !errors.Is(err, net.ErrClosed) {
			err = fmt.Errorf("peer: close ICE socket: %w", err)
		} else {
			err = nil
		}
		s.closeErr = errors.Join(err, s.net.Close())
	})
	return s.closeErr
}

// forwardTCP points a server's passive ICE-TCP candidate (an SDP
// candidate attribute's value, with or without "candidate:") at a
// forwarder through the leg's Net, so that the TCP connection pion dials
// for it crosses the leg's conditions. Any other candidate is returned as
// it is.
func (s *iceSocket) forwardTCP(attr string) (string, error) {
	prefix := ""
	if strings.HasPrefix(attr, "candidate:") {
		prefix = "candidate:"
	}
	// One that does not parse is pion's to refuse when it is added.
	c, perr := ice.UnmarshalCandidate(strings.TrimPrefix(attr, prefix))
	if perr != nil || c.NetworkType() != ice.NetworkTypeTCP4 || c.TCPType() != ice.TCPTypePassive {
		return attr, nil
	}
	local, err := s.net.ForwardTCP(&net.TCPAddr{IP: net.ParseIP(c.Address()), Port: c.Port()})
	if err != nil {
		return attr, fmt.Errorf("peer: forward ICE-TCP to %s:%d: %w", c.Address(), c.Port(), err)
	}
	fwd, err := ice.NewCandidateHost(&ice.CandidateHostConfig{
		Network: "tcp", Address: local.IP.String(), Port: local.Port, Component: c.Component(),
		Priority: c.Priority(), Foundation: c.Foundation(), TCPType: ice.TCPTypePassive,
	})
	if err != nil {
		return attr, fmt.Errorf("peer: forward ICE-TCP: %w", err)
	}
	return prefix + fwd.Marshal(), nil
}

// forwardSDP applies forwardTCP to an SDP's candidate attributes.
func (s *iceSocket) forwardSDP(sdp string) (string, error) {
	lines := strings.Split(sdp, "\r\n")
	for i, line := range lines {
		attr, ok := strings.CutPrefix(line, "a=")
		if !ok || !strings.HasPrefix(attr, "candidate:") {
			continue
		}
		fwd, err := s.forwardTCP(attr)
		if err != nil {
			return sdp, err
		}
		lines[i] = "a=" + fwd
	}
	return strings.Join(lines, "\r\n"), nil
}
