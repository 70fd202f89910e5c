package mixer

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/layout"
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

// newTestFrameBuilder is a VP8 frame builder whose clock the test moves.
func newTestFrameBuilder(pool *packetPool) (*frameBuilder, *time.Time) {
	now := time.Unix(1_700_000_000, 0)
	return newFrameBuilder(&codecs.VP8Packet{}, pool, lastOfVideoFrame, startsVP8Keyframe,
		func() time.Time { return now }), &now
}

// Frames that come in order, of one packet or several, leave the moment
// their last packet is in.
func TestFrameBuilderReleasesInOrderFramesAtOnce(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	seq := uint16(65530) // across the wrap
	for f := byte(1); f <= 9; f++ {
		n := 1 + int(f)%4
		for i := range n {
			b.push(vp8Packet(&pool, seq, f, i, n))
			seq++
			s := b.pop()
			switch {
			case i < n-1 && s != nil:
				t.Fatalf("frame %d popped before its last packet", f)
			case i == n-1 && s == nil:
				t.Fatalf("frame %d not released when its last packet arrived", f)
			case i == n-1 && !bytes.Equal(s.Data, bytes.Repeat([]byte{f, f}, n)):
				t.Fatalf("frame %d = %v, want %v", f, s.Data, bytes.Repeat([]byte{f, f}, n))
			}
		}
	}
}

// A sender that never marks a frame's last packet neither makes the
// builder hold its packets without end nor loses its frames: each leaves
// once the next frame's first packet shows where it ended.
func TestFrameBuilderBoundsUnmarkedFrames(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	var got []byte
	seq := uint16(100)
	for f := byte(1); f <= 20; f++ {
		for i := range 3 {
			pkt := vp8Packet(&pool, seq, f, i, 3)
			pkt.Marker = false
			b.push(pkt)
			seq++
			if len(b.frame) > int(maxFramePackets) {
				t.Fatalf("frame %d: %d packets held for one frame", f, len(b.frame))
			}
		}
		for s := b.pop(); s != nil; s = b.pop() {
			if !bytes.Equal(s.Data, bytes.Repeat([]byte{s.Data[0], s.Data[0]}, 3)) {
				t.Fatalf("frame %d = %v, want three parts", s.Data[0], s.Data)
			}
			got = append(got, s.Data[0])
		}
	}
	if len(got) < 19 {
		t.Fatalf("frames %v released of 20 unmarked ones, want all but the last", got)
	}
	for i, f := range got {
		if f != byte(i+1) {
			t.Fatalf("frames %v, want 1, 2, 3... in order", got)
		}
	}
	b, _ = newTestFrameBuilder(&pool)
	for range 2 * int(maxFramePackets) { // one picture's packets, without end
		pkt := vp8Packet(&pool, seq, 21, 1, 3)
		pkt.Marker = false
		b.push(pkt)
		seq++
		if len(b.frame) > int(maxFramePackets) {
			t.Fatalf("%d packets of one unmarked picture held, want at most %d", len(b.frame), maxFramePackets)
		}
	}
}

// A frame whose end a sender forgot to mark leaves once the next frame
// shows where it ended, and that next frame, marked, leaves at its last
// packet, as every frame after it does.
func TestFrameBuilderRecoversFromAnUnmarkedFrame(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	seq := uint16(300)
	var out []byte
	for f := byte(1); f <= 6; f++ {
		for i := range 3 {
			pkt := vp8Packet(&pool, seq, f, i, 3)
			pkt.Marker = pkt.Marker && f != 2
			b.push(pkt)
			seq++
		}
		frames, _ := popAll(b)
		out = append(out, frames...)
		if f != 2 && (len(out) == 0 || out[len(out)-1] != f) {
			t.Fatalf("frame %d did not leave at its last packet (out: %v)", f, out)
		}
	}
	if want := []byte{1, 2, 3, 4, 5, 6}; !bytes.Equal(out, want) {
		t.Errorf("frames out %v, want %v", out, want)
	}
}

// A frame whose first packets were lost before the stream reached us
// cannot be decoded: it is not released, its packets are reported
// dropped when its end shows it has no start, and the next frame leaves
// as usual.
func TestFrameBuilderDropsAFrameMissingItsStart(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	b.push(vp8Packet(&pool, 10, 1, 1, 3)) // parts 2 and 3 of frame 1
	b.push(vp8Packet(&pool, 11, 1, 2, 3))
	if frames, dropped := popAll(b); len(frames) != 0 || dropped != 2 {
		t.Fatalf("frame 1 without its start: frames %v out, %d packets reported dropped, want none out and 2", frames, dropped)
	}
	b.push(vp8Packet(&pool, 12, 2, 0, 2))
	b.push(vp8Packet(&pool, 13, 2, 1, 2))
	if frames, dropped := popAll(b); !bytes.Equal(frames, []byte{2}) || dropped != 0 {
		t.Errorf("frames %v out, %d more dropped, want frame 2 and nothing more", frames, dropped)
	}
}

// popAll is what the last push completed: the frames (by their first
// byte) and the packets reported dropped.
func popAll(b *frameBuilder) (frames []byte, dropped int) {
	for s := b.pop(); s != nil; s = b.pop() {
		if len(s.Data) > 0 {
			frames = append(frames, s.Data[0])
		}
		dropped += int(s.PrevDroppedPackets)
	}
	return frames, dropped
}

// Padding between frames, as Chrome sends to probe bandwidth, is neither
// part of a frame nor loss: every frame still leaves at its last packet.
func TestFrameBuilderSkipsPadding(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	seq := uint16(7)
	for f := byte(1); f <= 6; f++ {
		for range int(f) % 3 * 5 { // 0, 5 or 10 padding packets
			pad := vp8Packet(&pool, seq, f-1, 0, 1)
			pad.Marker, pad.Payload, pad.Padding, pad.PaddingSize = false, pad.Payload[:0], true, 255
			b.push(pad)
			seq++
		}
		for i := range 2 {
			b.push(vp8Packet(&pool, seq, f, i, 2))
			seq++
		}
		s := b.pop()
		switch {
		case s == nil:
			t.Fatalf("frame %d not released at its last packet", f)
		case s.Data[0] != f || s.PrevDroppedPackets != 0:
			t.Fatalf("frame %d: got frame %d, %d packets dropped before it", f, s.Data[0], s.PrevDroppedPackets)
		}
	}
}

func TestFrameBuilderWaitsForAHoleThenCatchesUp(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	var got []byte
	drain := func() {
		f, _ := popAll(b)
		got = append(got, f...)
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

// Frames of several packets, all arriving, report no dropped packets (a
// source takes those for loss and waits for a key frame); a packet lost
// for good is reported once the packets after it have waited lostAfter,
// and from then on frames leave at their last packet again, nothing more
// dropped.
func TestFrameBuilderCountsOnlyRealLoss(t *testing.T) {
	var pool packetPool
	b, now := newTestFrameBuilder(&pool)
	seq := uint16(65000)
	var frames []byte
	dropped := 0
	frame := func(f byte, n int, lose int) {
		for i := range n {
			if i != lose {
				b.push(vp8Packet(&pool, seq, f, i, n))
			}
			seq++
			out, d := popAll(b)
			frames, dropped = append(frames, out...), dropped+d
		}
		*now = now.Add(time.Second / 15)
	}
	for f := byte(1); f <= 40; f++ {
		frame(f, 1+int(f)%5, -1) // 1 to 5 packets a frame, none lost
	}
	for i, f := range frames {
		if f != byte(i+1) {
			t.Fatalf("frames out %v: not 1, 2, 3... in order", frames)
		}
	}
	if dropped != 0 || len(frames) != 40 {
		t.Fatalf("%d frames of 40 out (%v), %d packets reported dropped with none lost", len(frames), frames, dropped)
	}
	lostAt := *now
	frame(41, 3, 1) // the middle packet never comes
	for f := byte(42); f <= 90 && dropped == 0; f++ {
		frame(f, 3, -1)
	}
	if dropped == 0 {
		t.Fatal("a packet lost for good was never reported")
	}
	if waited := now.Sub(lostAt); waited > lostAfter+2*time.Second/15 {
		t.Errorf("a packet lost for good was reported after %v, want lostAfter (%v) and a frame", waited, lostAfter)
	}
	reported := dropped
	for f := byte(91); f <= 110; f++ {
		frame(f, 3, -1)
		if frames[len(frames)-1] != f {
			t.Fatalf("once the loss was reported, frame %d did not leave at its last packet (the last out: %d)", f, frames[len(frames)-1])
		}
	}
	if dropped != reported {
		t.Errorf("once the loss was reported, 20 whole frames reported %d more packets dropped", dropped-reported)
	}
}

// A camera's stream, most of its frames several packets long, is decoded
// frame after frame: nothing taken for loss, no wait for a key frame.
// (Flushing frames of several packets through pion's builder had it report
// their own packets as dropped: a source decoded 3 frames a second of 15.)
func TestSourceDecodesEveryFrameOfACameraStream(t *testing.T) {
	cb := newCallBench(t, []layout.Spec{{Parties: benchParties, Mode: layout.Equal}})
	cb.second(t)
	cb.second(t)
	for i, s := range cb.sources {
		multi := 0
		for _, pkts := range cb.clips[i].frames[:2*benchFPS] {
			if len(pkts) > 1 {
				multi++
			}
		}
		if multi < benchFPS {
			t.Fatalf("%s: only %d of %d frames span several packets: the test's premise fails", s.id, multi, 2*benchFPS)
		}
		if s.picture.seq != 2*benchFPS || s.waitingForKey {
			t.Errorf("%s: %d of %d frames decoded in 2 s, waiting for a key frame: %v", s.id, s.picture.seq, 2*benchFPS, s.waitingForKey)
		}
	}
}

// vp8KeyPackets is key frame f in n packets, its first carrying a key
// frame's header (RFC 6386, 9.1).
func vp8KeyPackets(pool *packetPool, seq uint16, f byte, n int) []*rtp.Packet {
	var pkts []*rtp.Packet
	for i := range n {
		pkt := vp8Packet(pool, seq+uint16(i), f, i, n)
		if i == 0 {
			pkt.Payload = append(pkt.Payload[:1], 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01)
		}
		pkts = append(pkts, pkt)
	}
	return pkts
}

// frameIDs is what the last push completed, by frame number (the
// timestamp vp8Packet gave it), and the packets reported dropped.
func frameIDs(b *frameBuilder) (frames []int, dropped int) {
	for s := b.pop(); s != nil; s = b.pop() {
		if len(s.Data) > 0 {
			frames = append(frames, int(s.PacketTimestamp/6000))
		}
		dropped += int(s.PrevDroppedPackets)
	}
	return frames, dropped
}

// A whole key frame after a hole needs nothing before it: it leaves at
// once, the hole and the frames between given up without waiting, and a
// retransmission that comes after is dropped, not given out of order.
func TestFrameBuilderKeyframeOvertakesAHole(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	b.push(vp8Packet(&pool, 1, 1, 0, 1))
	b.push(vp8Packet(&pool, 3, 2, 1, 2)) // 2 lost: frame 2 waits for it
	b.push(vp8Packet(&pool, 4, 3, 0, 1))
	key := vp8KeyPackets(&pool, 5, 4, 3)
	b.push(key[2])
	b.push(key[0])
	if frames, _ := frameIDs(b); len(frames) != 1 || frames[0] != 1 {
		t.Fatalf("frames %v out with the key frame's middle packet missing, want only frame 1", frames)
	}
	b.push(key[1])
	frames, dropped := frameIDs(b)
	if !slices.Equal(frames, []int{4}) || dropped != 3 {
		t.Fatalf("once the key frame is whole: frames %v out, %d packets dropped; want the key frame and frames 2 and 3's 3", frames, dropped)
	}
	b.push(vp8Packet(&pool, 2, 2, 0, 2)) // the retransmission, too late
	b.push(vp8Packet(&pool, 8, 5, 0, 1))
	if frames, dropped := frameIDs(b); !slices.Equal(frames, []int{5}) || dropped != 0 {
		t.Errorf("after a late retransmission: frames %v out, %d dropped; want frame 5 alone", frames, dropped)
	}
}

// The frames after a hole wait for it, however many, until it is lost
// for good: then they leave at once, the broken frame dropped.
func TestFrameBuilderGivesAHoleUpAfterLostAfter(t *testing.T) {
	var pool packetPool
	b, now := newTestFrameBuilder(&pool)
	b.push(vp8Packet(&pool, 10, 1, 0, 2)) // 11, frame 1's end, never comes
	var out []int
	for f := 2; f <= 6; f++ {
		if f > 2 {
			*now = now.Add(lostAfter / 4)
		}
		b.push(vp8Packet(&pool, uint16(10+f), byte(f), 0, 1))
		frames, dropped := frameIDs(b)
		out = append(out, frames...)
		if f < 6 && (len(frames) != 0 || dropped != 0) {
			t.Fatalf("%v after the hole: frames %v out, %d dropped; want them waiting", time.Duration(f-2)*lostAfter/4, frames, dropped)
		}
		if f == 6 && dropped != 2 {
			t.Errorf("at lostAfter %d packets reported dropped, want frame 1's 2", dropped)
		}
	}
	if !slices.Equal(out, []int{2, 3, 4, 5, 6}) {
		t.Errorf("frames %v out, want 2 to 6 once the hole is given up", out)
	}
}

// A packet further ahead than the frame builder keeps gives the oldest
// hole up at once, the frames after it going on; a sender that starts
// its sequence numbers again far behind is followed.
func TestFrameBuilderFollowsJumps(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	b.push(vp8Packet(&pool, 100, 1, 0, 1))
	b.push(vp8Packet(&pool, 102, 2, 0, 1)) // 101 missing: frame 2 waits
	frameIDs(b)
	b.push(vp8Packet(&pool, 101+reorderSlots+1, 3, 0, 1))
	if frames, dropped := frameIDs(b); !slices.Equal(frames, []int{2}) || dropped != 1 {
		t.Fatalf("a packet %d past the hole: frames %v out, %d dropped; want frame 2, and the hole", reorderSlots+1, frames, dropped)
	}
	b.push(vp8Packet(&pool, 60000, 4, 0, 1)) // started again
	b.push(vp8Packet(&pool, 60001, 5, 0, 1))
	if frames, _ := frameIDs(b); !slices.Equal(frames, []int{4, 5}) {
		t.Errorf("after the sender started again: frames %v out, want 4 and 5", frames)
	}
}

// A hole spanning more than staleHole of media (an outage) is given up as
// soon as the first packet after it arrives, and a late retransmission
// from inside it is not shown: the tile would be seconds behind.
func TestFrameBuilderGivesAnOutageUpAtOnce(t *testing.T) {
	var pool packetPool
	b, _ := newTestFrameBuilder(&pool)
	b.push(vp8Packet(&pool, 1, 1, 0, 1))
	frameIDs(b)
	const after = 1 + 1 + int(staleHole/(time.Second/15)) // frames 2 to after-1 lost
	b.push(vp8Packet(&pool, uint16(after), byte(after), 0, 1))
	frames, dropped := frameIDs(b)
	if !slices.Equal(frames, []int{after}) || dropped != after-2 {
		t.Fatalf("first packet %v after the outage: frames %v out, %d dropped; want frame %d at once and %d dropped",
			staleHole, frames, dropped, after, after-2)
	}
	b.push(vp8Packet(&pool, 2, 2, 0, 1)) // a retransmission from inside the outage
	b.push(vp8Packet(&pool, uint16(after+1), byte(after+1), 0, 1))
	if frames, _ := frameIDs(b); !slices.Equal(frames, []int{after + 1}) {
		t.Errorf("after a late retransmission: frames %v out, want only %d", frames, after+1)
	}
}
