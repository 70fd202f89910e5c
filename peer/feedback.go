package peer

import (
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// feedbackCounter is an interceptor beneath pion's own (newAPI registers
// it first) that counts what a leg's PeerConnection puts on the wire: the
// NACKs and key frame requests (PLI, FIR) it sends, and the RTP packets
// its NACK responder resends, which are those whose sequence number is
// not newer than one the stream already sent (the peer offers no RTX, so
// a resend repeats the original's). One is made per leg, for its one
// PeerConnection; the counts are atomic.
type feedbackCounter struct {
	interceptor.NoOp
	nacksSent atomic.Int64
	plisSent  atomic.Int64
	resent    atomic.Int64
}

// NewInterceptor makes the counter its own factory's product.
func (f *feedbackCounter) NewInterceptor(string) (interceptor.Interceptor, error) {
	return f, nil
}

// BindRTCPWriter counts the feedback written.
func (f *feedbackCounter) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	return interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, attrs interceptor.Attributes) (int, error) {
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.TransportLayerNack:
				f.nacksSent.Add(1)
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				f.plisSent.Add(1)
			}
		}
		return w.Write(pkts, attrs)
	})
}

// BindLocalStream counts a sent stream's resent packets.
func (f *feedbackCounter) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var (
		mu      sync.Mutex // the sender and the NACK responder both write
		started bool
		highest uint16
	)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, attrs interceptor.Attributes) (int, error) {
		mu.Lock()
		if started && int16(h.SequenceNumber-highest) <= 0 {
			f.resent.Add(1)
		} else {
			started, highest = true, h.SequenceNumber
		}
		mu.Unlock()
		return w.Write(h, payload, attrs)
	})
}
