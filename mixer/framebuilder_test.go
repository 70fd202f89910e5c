package mixer

import (
	"bytes"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// vp8Packet is one RTP packet of frame f: part i of n, payload byte f.
func vp8Packet(pool *packetPool, seq uint16, f byte, i, n int) *rtp.Packet {
	pp := pool.get()
	descriptor := byte(0x00)
	if i == 0 {
		descriptor = 0x10 // S: start of a partition
	}
	pp.Packet = rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(f) * 6000, Marker: i == n-1, PayloadType: 96},
		Payload: append(pp.buf[:0], descriptor, f, f),
	}
	return &pp.Packet
}

func TestFrameBuilderReleasesInOrderFramesAtOnce(t *testing.T) {
	var pool packetPool
	b := newFrameBuilder(videoMaxLate, &codecs.VP8Packet{}, 90000, &pool, lastOfVideoFrame)
	seq := uint16(65530) // across the wrap
	for f := byte(1); f <= 5; f++ {
		for i := range 3 {
			b.push(vp8Packet(&pool, seq, f, i, 3))
			seq++
			if s := b.pop(); i < 2 && s != nil {
				t.Fatalf("frame %d popped before its last packet", f)
			} else if i == 2 {
				if s == nil {
					t.Fatalf("frame %d not released when its last packet arrived", f)
				}
				if want := bytes.Repeat([]byte{f, f}, 3); !bytes.Equal(s.Data, want) {
					t.Fatalf("frame %d = %v, want %v", f, s.Data, want)
				}
			}
		}
	}
}

func TestFrameBuilderWaitsForAHoleThenCatchesUp(t *testing.T) {
	var pool packetPool
	b := newFrameBuilder(videoMaxLate, &codecs.VP8Packet{}, 90000, &pool, lastOfVideoFrame)
	var got []byte
	drain := func() {
		for s := b.pop(); s != nil; s = b.pop() {
			got = append(got, s.Data[0])
		}
	}
	push := func(seq uint16, f byte, i, n int) {
		b.push(vp8Packet(&pool, seq, f, i, n))
		drain()
	}
	push(1, 1, 0, 2)
	push(2, 1, 1, 2) // frame 1 complete, released at once
	push(3, 2, 0, 3)
	push(5, 2, 2, 3) // packet 4 lost: frame 2 must wait for it
	push(6, 3, 0, 2)
	push(7, 3, 1, 2)
	if len(got) != 1 {
		t.Fatalf("frames released with a hole pending: %v, want [1]", got)
	}
	push(4, 2, 1, 3) // the retransmission fills the hole
	push(8, 4, 0, 2)
	push(9, 4, 1, 2)
	push(10, 5, 0, 2)
	push(11, 5, 1, 2) // caught up: released at once again
	if want := []byte{1, 2, 3, 4, 5}; !bytes.Equal(got, want) {
		t.Fatalf("frames released %v, want %v (nothing lost, in order, the last without delay)", got, want)
	}
}
