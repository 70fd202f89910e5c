package mixer

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/threeway-mcu/threeway/codec"
)

// lossyPath carries one party's camera stream to its source as a lossy
// network does, and plays the sender's side of the repairs: a
// transmission of a packet is lost when drop says so; a lost one is sent
// again after every NACK interval (pion's generator asks every 100
// ms until the packet comes) up to rtxTries times, and past that it is
// lost for good. The sender answers a key frame request with its first
// frame sent a round trip later. Time is the path's own: it moves a frame
// at a time, and it is the source's clock.
type lossyPath struct {
	src   *source
	clip  [][][]byte         // the pictures as a camera encodes them, in RTP packets
	keys  [][][]byte         // the same pictures, each a key frame
	drop  func(try int) bool // whether a packet's try-th transmission is lost
	start time.Time
	now   time.Time

	frame     int       // frames sent
	seq       uint16    // the next packet's sequence number
	keyAsked  time.Time // a key frame request not answered yet; zero if none
	keyframes int       // key frames sent on request
	requests  int       // key frame requests the source sent
	sent      int       // packets sent (once each, however many transmissions)
	inFlight  []flight  // packets on their way, by arrival time
	spare     [][]byte  // buffers of packets that arrived
}

// flight is one transmission of a packet that will arrive.
type flight struct {
	at   time.Time
	data []byte
}

const (
	pathRTT        = 100 * time.Millisecond
	nackInterval   = 100 * time.Millisecond // pion's NACK generator
	rtxTries       = 2                      // retransmissions in a lost-for-good bound of 300 ms
	pathFrameCount = benchFPS * benchLoopSecs
)

// newLossyPath feeds src the pictures of clip (and keys, their key frame
// versions) through a path that loses the transmissions drop says.
func newLossyPath(src *source, clip, keys [][][]byte, drop func(try int) bool) *lossyPath {
	p := &lossyPath{src: src, clip: clip, keys: keys, drop: drop, start: time.Unix(1_700_000_000, 0)}
	p.now = p.start
	src.now = func() time.Time { return p.now }
	src.requestKeyframe = func() {
		p.requests++
		if p.keyAsked.IsZero() {
			p.keyAsked = p.now
		}
	}
	return p
}

// randomLoss loses a share of transmissions at random, drawn from seed.
func randomLoss(share float64, seed uint64) func(int) bool {
	rng := rand.New(rand.NewPCG(seed, 1))
	return func(int) bool { return rng.Float64() < share }
}

// everyOther loses the first transmission of every other packet, and no
// retransmission: half the sequence numbers come a NACK interval late.
func everyOther() func(int) bool {
	n := 0
	return func(try int) bool {
		if try > 0 {
			return false
		}
		n++
		return n%2 == 0
	}
}

// encodeCamera encodes benchLoopSecs of a moving pattern, distinct per
// seed, as a camera would (one key frame, then inter frames), or, with
// keys, each picture as a key frame: what the sender sends when asked for
// one. Picture i's centre is a block of luma 50 + 10*(i%20) (frameOf).
func encodeCamera(tb testing.TB, seed int, keys bool) [][][]byte {
	tb.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{
		Width: benchInW, Height: benchInH, FPS: benchFPS, BitrateKbps: benchInputKbps,
		KeyframeInterval: 2 * pathFrameCount,
	})
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	var frames [][][]byte
	for i := range pathFrameCount {
		drawMovingPattern(enc.Input(), seed, i)
		enc.Input().FillRect(benchInW/2-60, benchInH/2-40, 120, 80, byte(50+10*(i%20)), 128, 128)
		data, _, err := enc.Encode(nil, keys || i == 0)
		if err != nil {
			tb.Fatal(err)
		}
		frames = append(frames, packetize(tb, data))
	}
	return frames
}

// step sends the next frame, moves the path's time on by one frame
// interval, and delivers to the source every packet that has arrived by
// then.
func (p *lossyPath) step() {
	p.send()
	p.frame++
	p.now = p.start.Add(time.Duration(p.frame) * time.Second / benchFPS)
	p.deliver()
}

// send puts the next frame's packets on the path: a key frame if one was
// asked for a round trip ago.
func (p *lossyPath) send() {
	i := p.frame % pathFrameCount
	packets := p.clip[i]
	if !p.keyAsked.IsZero() && !p.now.Before(p.keyAsked.Add(pathRTT)) {
		packets, p.keyAsked = p.keys[i], time.Time{}
		p.keyframes++
	}
	ts := uint32(p.frame) * 90000 / benchFPS
	for _, raw := range packets {
		p.sent++
		for try := range rtxTries + 1 {
			if p.drop(try) {
				continue
			}
			p.fly(p.now.Add(time.Duration(try)*nackInterval), raw, p.seq, ts)
			break
		}
		p.seq++
	}
}

// fly puts a copy of raw, numbered seq and stamped ts, on its way to
// arrive at at.
func (p *lossyPath) fly(at time.Time, raw []byte, seq uint16, ts uint32) {
	var buf []byte
	if n := len(p.spare); n > 0 {
		buf, p.spare = p.spare[n-1][:0], p.spare[:n-1]
	}
	buf = append(buf, raw...)
	binary.BigEndian.PutUint16(buf[2:], seq)
	binary.BigEndian.PutUint32(buf[4:], ts)
	i, _ := slices.BinarySearchFunc(p.inFlight, at, func(f flight, at time.Time) int {
		if f.at.After(at) {
			return 1
		}
		return -1 // after every packet due at the same time: they keep their order
	})
	p.inFlight = slices.Insert(p.inFlight, i, flight{at, buf})
}

// deliver pushes every packet due by now into the source, in the order
// they arrive.
func (p *lossyPath) deliver() {
	n := 0
	for _, f := range p.inFlight {
		if f.at.After(p.now) {
			break
		}
		pp := p.src.packets.get()
		if err := pp.Unmarshal(pp.buf[:copy(pp.buf[:], f.data)]); err != nil {
			panic(err)
		}
		p.src.push(&pp.Packet)
		p.spare = append(p.spare, f.data)
		n++
	}
	p.inFlight = slices.Delete(p.inFlight, 0, n)
	p.src.mu.Lock()
	p.src.release(p.now) // the playout goroutine's timer, on the path's time
	p.src.mu.Unlock()
}

// packetize splits a VP8 frame into marshalled RTP packets as a browser
// would (sequence numbers and timestamps are the path's to set).
func packetize(tb testing.TB, frame []byte) [][]byte {
	tb.Helper()
	packetizer := rtp.NewPacketizer(1200, 96, 1000, &codecs.VP8Payloader{}, rtp.NewRandomSequencer(), 90000)
	var packets [][]byte
	for _, pkt := range packetizer.Packetize(frame, 90000/benchFPS) {
		raw, err := pkt.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		packets = append(packets, raw)
	}
	return packets
}
