package sip

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/mixer"
)

func sendRTP(t *testing.T, from *net.UDPConn, to *net.UDPAddr, pt uint8, seq uint16, payload []byte) {
	t.Helper()
	raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, SSRC: 7}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := from.WriteToUDP(raw, to); err != nil {
		t.Fatal(err)
	}
}

// The leg passes the phone's voice on; DTMF and comfort noise keep it
// alive unplayed; another payload type, garbage and packets from a host
// the answer did not name are dropped, counted. What it sends is the mix
// as RTP of the chosen payload type, 20 ms a packet, to where the phone
// sends from.
func TestRTPLegFiltersWhatThePhoneSends(t *testing.T) {
	var discarded atomic.Int32
	leg, err := listenRTP(net.IPv4(127, 0, 0, 1), PortRange{Min: 20000, Max: 29999}, func() { discarded.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer leg.close()
	phone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	// The answer named the phone's host but another port: the leg learns
	// the port from the phone's packets.
	leg.start(answer{remote: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, codec: mixer.PCMA, pt: ptPCMA})

	voice := make([]byte, codec.G711FrameBytes)
	sendRTP(t, stranger, leg.addr(), ptPCMA, 1, voice)
	sendRTP(t, phone, leg.addr(), ptTelephoneEvent, 2, []byte{1, 0, 0, 160})
	sendRTP(t, phone, leg.addr(), ptComfortNoise, 3, []byte{40})
	sendRTP(t, phone, leg.addr(), 96, 4, voice)
	if _, err := phone.WriteToUDP([]byte("not rtp"), leg.addr()); err != nil {
		t.Fatal(err)
	}
	sendRTP(t, phone, leg.addr(), ptPCMA, 5, voice)

	buf := make([]byte, 1500)
	n, _, err := leg.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var got rtp.Packet
	if err := got.Unmarshal(buf[:n]); err != nil || got.SequenceNumber != 5 {
		t.Fatalf("read packet %d (%v), want the voice packet 5", got.SequenceNumber, err)
	}
	if d := discarded.Load(); d != 3 {
		t.Errorf("%d packets discarded, want 3 (stranger, payload type 96, garbage)", d)
	}

	if err := leg.WriteSample(media.Sample{Data: voice, Duration: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	_ = phone.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, _, err = phone.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("the phone got nothing: %v", err)
	}
	if err := got.Unmarshal(buf[:n]); err != nil || got.PayloadType != ptPCMA || len(got.Payload) != codec.G711FrameBytes {
		t.Errorf("the phone got payload type %d with %d bytes (%v), want PCMA, 160", got.PayloadType, len(got.Payload), err)
	}
}
