package netcond

import (
	"net"
	"testing"
)

// BenchmarkInbound is the cost of a datagram read through a Net with no
// conditions, against a plain socket's (Plain).
func BenchmarkInbound(b *testing.B) {
	for _, through := range []bool{false, true} {
		name := "Plain"
		if through {
			name = "Net"
		}
		b.Run(name, func(b *testing.B) {
			n, err := New(Conditions{})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			listen := net.ListenPacket
			if through {
				listen = n.ListenPacket
			}
			to, err := listen("udp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer to.Close()
			from, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer from.Close()
			pkt, buf := make([]byte, 1200), make([]byte, 1500)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := from.WriteTo(pkt, to.LocalAddr()); err != nil {
					b.Fatal(err)
				}
				if _, _, err := to.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
