package sip

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
)

// PortRange is the UDP ports the phone legs' RTP may use, both ends
// included.
type PortRange struct{ Min, Max int }

// DefaultPorts is the RTP port range when none is given.
var DefaultPorts = PortRange{Min: 16384, Max: 32767}

// rtpMTU bounds a packet the leg sends; 20 ms of G.711 is 172 bytes.
const rtpMTU = 1200

// rtpLeg is a phone's RTP: one UDP socket, the phone's voice read from it
// for the mixer (mixer.RTPReader) and the mix written to it
// (mixer.SampleWriter) in the codec the answer chose. Packets from any
// host but the one the answer named are dropped; the phone's port is
// learnt from its packets (symmetric RTP), since a NAT may change it.
type rtpLeg struct {
	conn      *net.UDPConn
	discarded func()

	mu         sync.Mutex // the packetizer and the destination, on the mix clock
	answer     answer
	packetizer rtp.Packetizer
	started    bool

	heard atomic.Int64 // unix nanoseconds of the last packet from the phone
}

// listenRTP opens a leg's socket on ip, at a random even port of ports.
func listenRTP(ip net.IP, ports PortRange, discarded func()) (*rtpLeg, error) {
	span := (ports.Max - ports.Min) / 2
	var err error
	for range 64 {
		port := ports.Min + 2*rand.IntN(span+1)
		var conn *net.UDPConn
		if conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port}); err == nil {
			return &rtpLeg{conn: conn, discarded: discarded}, nil
		}
	}
	return nil, fmt.Errorf("no free RTP port in %d-%d on %s: %w", ports.Min, ports.Max, ip, err)
}

func (l *rtpLeg) addr() *net.UDPAddr { return l.conn.LocalAddr().(*net.UDPAddr) }

// start sends to and hears from where a says, in its codec.
func (l *rtpLeg) start(a answer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answer = a
	l.packetizer = rtp.NewPacketizer(rtpMTU, a.pt, rand.Uint32(), &codecs.G711Payloader{},
		rtp.NewRandomSequencer(), codec.NarrowbandRate)
	l.started = true
	l.heard.Store(time.Now().UnixNano())
}

// Read returns the phone's next voice packet. DTMF and comfort noise keep
// the leg alive unplayed; anything else is dropped, counted.
func (l *rtpLeg) Read(b []byte) (int, interceptor.Attributes, error) {
	var h rtp.Header
	for {
		n, from, err := l.conn.ReadFromUDP(b)
		if err != nil {
			return 0, nil, err
		}
		l.mu.Lock()
		a, ok := l.answer, l.started && from.IP.Equal(l.answer.remote.IP)
		if ok && from.Port != a.remote.Port {
			l.answer.remote = from
		}
		l.mu.Unlock()
		if _, err := h.Unmarshal(b[:n]); err != nil || !ok || h.Version != 2 {
			l.discarded()
			continue
		}
		switch {
		case h.PayloadType == a.pt:
			l.heard.Store(time.Now().UnixNano())
			return n, nil, nil
		case quiet(h.PayloadType):
			l.heard.Store(time.Now().UnixNano())
		default:
			l.discarded()
		}
	}
}

// WriteSample sends one 20 ms G.711 frame of the mix to the phone.
func (l *rtpLeg) WriteSample(s media.Sample) error {
	l.mu.Lock()
	if !l.started {
		l.mu.Unlock()
		return errNotStarted
	}
	packets := l.packetizer.Packetize(s.Data, uint32(len(s.Data)))
	to := l.answer.remote
	l.mu.Unlock()
	for _, p := range packets {
		raw, err := p.Marshal()
		if err != nil {
			return err
		}
		if _, err := l.conn.WriteToUDP(raw, to); err != nil {
			return err
		}
	}
	return nil
}

var errNotStarted = errors.New("rtp leg: no answer yet")

// silentFor is how long the phone has sent nothing.
func (l *rtpLeg) silentFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, l.heard.Load()))
}

func (l *rtpLeg) close() error { return l.conn.Close() }
