package netcond

import (
	"strconv"
	"strings"
	"time"
)

// DefaultQueue is the queue depth of a bandwidth cap when Queue is zero:
// 200 ms of sending at the rate, a shallow home router's buffer. A
// shallower one (the 100 ms some use) cannot hold one key frame of a
// 640x360 picture at 400 kbit/s, so every key frame would be cut short.
const DefaultQueue = 200 * time.Millisecond

// udpOverhead is the IPv4 and UDP header a datagram costs on the wire,
// which a bandwidth cap counts.
const udpOverhead = 28

// Conditions are what a network path does to the packets that cross it.
// A Net applies them to each direction on its own: Delay 20 ms adds 40 ms
// to a round trip. The zero value is a perfect path.
type Conditions struct {
	// Loss is the share of datagrams lost at random, 0..1.
	Loss float64
	// Burst loses runs of consecutive datagrams.
	Burst Burst
	// RTPLoss is the share of RTP datagrams lost at random, 0..1, on top
	// of Loss: STUN, DTLS and RTCP always get through, so a connection
	// stays up while its media suffers.
	RTPLoss float64
	// Delay is added to every packet's trip, plus a uniformly random
	// share of Jitter.
	Delay, Jitter time.Duration
	// Rate caps the bandwidth in bits per second; 0 is no cap.
	Rate int64
	// Queue is how much sending time at Rate the queue before the cap
	// holds before it drops (drop-tail); 0 is DefaultQueue.
	Queue time.Duration
	// Outages are windows in which every datagram is dropped and TCP
	// stalls, from the Net's start.
	Outages []Outage
	// UDPOff drops every UDP datagram, as a firewall that lets only TCP
	// through does.
	UDPOff bool
	// Seed seeds the random choices when the Net is made (0: a random
	// seed); later Sets keep the sequence going.
	Seed uint64
}

// Burst loses Len datagrams in a row, starting at any datagram with
// probability Prob (0..1).
type Burst struct {
	Len  int
	Prob float64
}

// Outage is a window with no connectivity: from At after the Net's start,
// for For.
type Outage struct {
	At, For time.Duration
}

// IsZero reports whether c is a perfect path.
func (c Conditions) IsZero() bool {
	return c.Loss == 0 && c.Burst == (Burst{}) && c.RTPLoss == 0 && c.Delay == 0 && c.Jitter == 0 &&
		c.Rate == 0 && c.Queue == 0 && len(c.Outages) == 0 && !c.UDPOff && c.Seed == 0
}

// queue is the queue depth in effect.
func (c Conditions) queue() time.Duration {
	if c.Queue > 0 {
		return c.Queue
	}
	return DefaultQueue
}

// inOutage reports whether t after the start is in an outage window, and
// if so when the last window covering it (or joining it) ends.
func (c Conditions) inOutage(t time.Duration) (bool, time.Duration) {
	in, end := false, t
	for changed := true; changed; {
		changed = false
		for _, o := range c.Outages {
			if end >= o.At && end < o.At+o.For {
				in, end, changed = true, o.At+o.For, true
			}
		}
	}
	return in, end
}

// String is the spec Parse reads back into c: its conditions in a fixed
// order, comma-separated ("" for a perfect path). Shares print with six
// significant digits.
func (c Conditions) String() string {
	var parts []string
	add := func(key, value string) { parts = append(parts, key+"="+value) }
	if c.Loss != 0 {
		add("loss", percent(c.Loss))
	}
	if c.Burst != (Burst{}) {
		add("burst", strconv.Itoa(c.Burst.Len)+"@"+percent(c.Burst.Prob))
	}
	if c.RTPLoss != 0 {
		add("rtploss", percent(c.RTPLoss))
	}
	if c.Delay != 0 {
		add("delay", c.Delay.String())
	}
	if c.Jitter != 0 {
		add("jitter", c.Jitter.String())
	}
	if c.Rate != 0 {
		add("rate", bitrate(c.Rate))
	}
	if c.Queue != 0 {
		add("queue", c.Queue.String())
	}
	for _, o := range c.Outages {
		add("outage", o.For.String()+"@"+o.At.String())
	}
	if c.UDPOff {
		add("udp", "off")
	}
	if c.Seed != 0 {
		add("seed", strconv.FormatUint(c.Seed, 10))
	}
	return strings.Join(parts, ",")
}

func percent(share float64) string {
	return strconv.FormatFloat(100*share, 'g', 6, 64) + "%"
}

// bitrate writes bits per second in the largest unit that keeps it whole.
func bitrate(bps int64) string {
	switch {
	case bps%1_000_000 == 0:
		return strconv.FormatInt(bps/1_000_000, 10) + "mbit"
	case bps%1000 == 0:
		return strconv.FormatInt(bps/1000, 10) + "kbit"
	}
	return strconv.FormatInt(bps, 10) + "bit"
}
