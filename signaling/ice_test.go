package signaling

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// hostCandidates gathers the candidates a server PeerConnection with
// sockets and p would offer, as "protocol address:port" strings.
func hostCandidates(t *testing.T, p ICEParams, sockets *iceSockets) []string {
	t.Helper()
	api, _, err := newAPI(apiParams{ice: p, sockets: sockets})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		t.Fatal("candidates not gathered in 5 s")
	}
	var out []string
	for _, line := range strings.Split(pc.LocalDescription().SDP, "\r\n") {
		// a=candidate:FOUNDATION COMPONENT PROTOCOL PRIORITY ADDRESS PORT typ host ...
		if f := strings.Fields(line); len(f) >= 8 && strings.HasPrefix(f[0], "a=candidate:") {
			out = append(out, strings.ToLower(f[2])+" "+f[4]+":"+f[5])
		}
	}
	slices.Sort(out)
	return slices.Compact(out) // pion lists each for RTP and RTCP
}

func openTestSockets(t *testing.T, p ICEParams) *iceSockets {
	t.Helper()
	s, err := openICESockets(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// Every PeerConnection offers the same two host candidates: the server's
// one UDP port and its one ICE-TCP port.
func TestPeerConnectionsShareOneUDPAndOneTCPPort(t *testing.T) {
	p := ICEParams{Interfaces: []string{"lo"}}
	sockets := openTestSockets(t, p)
	udp := sockets.UDPAddrs()
	if len(udp) != 1 {
		t.Fatalf("UDP port bound on %v, want 127.0.0.1 alone", udp)
	}
	want := []string{"tcp " + sockets.TCPAddr().String(), "udp " + udp[0].String()}
	for i := range 2 {
		if got := hostCandidates(t, p, sockets); !slices.Equal(got, want) {
			t.Errorf("PeerConnection %d offers %v, want %v", i, got, want)
		}
	}
}

// With --udp-ports each PeerConnection has a UDP port of its own in the
// range, as before the shared port; without ICE-TCP no TCP candidate is
// offered.
func TestPortRangeGivesEachPeerConnectionItsOwnPort(t *testing.T) {
	p := ICEParams{Interfaces: []string{"lo"}, PortMin: 42000, PortMax: 42999, TCPPort: NoTCP}
	sockets := openTestSockets(t, p)
	if addrs, tcp := sockets.UDPAddrs(), sockets.TCPAddr(); len(addrs) != 0 || tcp != nil {
		t.Fatalf("shared sockets %v and %v opened with a port range and no ICE-TCP", addrs, tcp)
	}
	seen := map[string]bool{}
	for range 2 {
		got := hostCandidates(t, p, sockets)
		if len(got) != 1 || !strings.HasPrefix(got[0], "udp 127.0.0.1:42") {
			t.Fatalf("offers %v, want one UDP candidate on 127.0.0.1 in 42000-42999", got)
		}
		seen[got[0]] = true
	}
	if len(seen) != 2 {
		t.Errorf("two PeerConnections share the candidate %v, want a port each", seen)
	}
}

// Behind a 1:1 NAT the host candidates carry the public address, the
// private one nowhere.
func TestPublicIPReplacesTheHostAddress(t *testing.T) {
	for _, public := range []string{"203.0.113.7", "203.0.113.7/127.0.0.1"} {
		p := ICEParams{Interfaces: []string{"lo"}, PublicIPs: []string{public}}
		sockets := openTestSockets(t, p)
		got := hostCandidates(t, p, sockets)
		if len(got) != 2 {
			t.Errorf("--public-ip %s: candidates %v, want a UDP and a TCP one", public, got)
		}
		for _, c := range got {
			if !strings.Contains(c, " 203.0.113.7:") {
				t.Errorf("--public-ip %s: candidate %s does not carry the public address", public, c)
			}
		}
	}
}
