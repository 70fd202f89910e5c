package mixer

import (
	"sync"
	"unsafe"

	"github.com/pion/rtp"
)

// maxPacketSize bounds one RTP packet read from the network.
const maxPacketSize = 1500

// pooledPacket keeps an RTP packet together with the bytes its payload
// points into, so both go back to the pool when the frame builder lets go.
type pooledPacket struct {
	rtp.Packet // first field: packetPool.put recovers the pooledPacket from it
	buf        [maxPacketSize]byte
}

// packetPool recycles RTP packets between the network and pion's sample
// builder, which holds them until a frame is complete.
type packetPool struct{ pool sync.Pool }

func (p *packetPool) get() *pooledPacket {
	if pp, ok := p.pool.Get().(*pooledPacket); ok {
		return pp
	}
	return &pooledPacket{}
}

// put takes back a packet that get handed out.
func (p *packetPool) put(pkt *rtp.Packet) {
	pp := (*pooledPacket)(unsafe.Pointer(pkt))
	pp.Packet = rtp.Packet{}
	p.pool.Put(pp)
}

// readPacket reads one RTP packet from r into a pooled packet. Packets that
// do not parse are reported to observe and skipped; only read errors end it.
func (p *packetPool) readPacket(r RTPReader, observe Observer) (*rtp.Packet, error) {
	for {
		pp := p.get()
		n, _, err := r.Read(pp.buf[:])
		if err != nil {
			p.put(&pp.Packet)
			return nil, err
		}
		if err := pp.Unmarshal(pp.buf[:n]); err != nil {
			p.put(&pp.Packet)
			observe.PacketDiscarded()
			continue
		}
		return &pp.Packet, nil
	}
}
