package peer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// iceSocket is a leg's one UDP socket for ICE and pion's mux over it. Its
// fields are set by newICESocket and never change; closeOnce guards
// closeErr.
type iceSocket struct {
	udp       *blackhole
	mux       ice.UDPMux // closing it closes udp
	closeOnce sync.Once
	closeErr  error
}

func newICESocket(conn net.PacketConn) *iceSocket {
	udp := &blackhole{PacketConn: conn}
	return &iceSocket{udp: udp, mux: webrtc.NewICEUDPMux(nil, udp)}
}

// close closes the socket once and returns the first close's error.
func (s *iceSocket) close() error {
	s.closeOnce.Do(func() {
		if err := s.mux.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = fmt.Errorf("peer: close ICE socket: %w", err)
		}
	})
	return s.closeErr
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
