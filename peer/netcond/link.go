package netcond

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Counters count what one direction of a Net did to UDP datagrams.
type Counters struct {
	Passed   int64 // delivered (or handed to the socket, outbound)
	Lost     int64 // to Loss, Burst or RTPLoss
	Overflow int64 // the cap's queue was full
	Outage   int64 // in an outage window
	Blocked  int64 // UDPOff
}

// Dropped is every datagram that did not pass.
func (c Counters) Dropped() int64 {
	return c.Lost + c.Overflow + c.Outage + c.Blocked
}

// link is one direction of a Net: its conditions and the state they
// need (the random source, a burst under way, the cap's queue). mu
// guards every field; start never changes.
type link struct {
	start time.Time

	mu        sync.Mutex
	c         Conditions
	rng       *rand.Rand
	burstLeft int       // datagrams still to lose in the current burst
	busyUntil time.Time // when the cap's queue has sent what it holds
	counts    Counters
}

func newLink(start time.Time, c Conditions, seed, stream uint64) *link {
	return &link{start: start, c: c, rng: rand.New(rand.NewPCG(seed, stream))}
}

func (l *link) set(c Conditions) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.c = c
}

func (l *link) counters() Counters {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts
}

// datagram decides the fate of a UDP datagram arriving at the link at
// now: whether it passes, and if so when it is due at the other end.
func (l *link) datagram(now time.Time, pkt []byte) (due time.Time, pass bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.c
	if c.UDPOff {
		l.counts.Blocked++
		return now, false
	}
	if out, _ := c.inOutage(now.Sub(l.start)); out {
		l.counts.Outage++
		return now, false
	}
	if l.lose(pkt) {
		l.counts.Lost++
		return now, false
	}
	depart := now
	if c.Rate > 0 {
		l.busyUntil = later(l.busyUntil, now)
		if l.busyUntil.Sub(now) > c.queue() {
			l.counts.Overflow++
			return now, false
		}
		l.busyUntil = l.busyUntil.Add(sendTime(len(pkt)+udpOverhead, c.Rate))
		depart = l.busyUntil
	}
	l.counts.Passed++
	return depart.Add(l.delay()), true
}

// lose draws the datagram's random losses: RTPLoss, then a burst (one
// under way, or one starting here), then Loss. l.mu must be held.
func (l *link) lose(pkt []byte) bool {
	c := &l.c
	lost := c.RTPLoss > 0 && isRTP(pkt) && l.rng.Float64() < c.RTPLoss
	if l.burstLeft > 0 {
		l.burstLeft--
		lost = true
	} else if c.Burst.Len > 0 && c.Burst.Prob > 0 && l.rng.Float64() < c.Burst.Prob {
		l.burstLeft = c.Burst.Len - 1
		lost = true
	}
	if c.Loss > 0 && l.rng.Float64() < c.Loss {
		lost = true
	}
	return lost
}

// stream decides when n bytes of a TCP stream written at now are due at
// the other end: after any outage they fall in, their turn at the cap,
// and the delay. TCP loses nothing, so nothing is dropped.
func (l *link) stream(now time.Time, n int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.c
	depart := now
	if _, end := c.inOutage(now.Sub(l.start)); end > now.Sub(l.start) {
		depart = l.start.Add(end)
	}
	if c.Rate > 0 {
		l.busyUntil = later(l.busyUntil, depart).Add(sendTime(n, c.Rate))
		depart = l.busyUntil
	}
	return depart.Add(l.delay())
}

// delay draws one packet's delay. l.mu must be held.
func (l *link) delay() time.Duration {
	d := l.c.Delay
	if l.c.Jitter > 0 {
		d += time.Duration(l.rng.Int64N(int64(l.c.Jitter)))
	}
	return d
}

// isRTP tells RTP from STUN, DTLS and RTCP on a shared socket (RFC 7983:
// first byte 128..191, and RTCP's payload types are 192..223).
func isRTP(pkt []byte) bool {
	return len(pkt) >= 12 && pkt[0] >= 128 && pkt[0] <= 191 && (pkt[1] < 192 || pkt[1] > 223)
}

// sendTime is how long n bytes take at rate bits per second.
func sendTime(n int, rate int64) time.Duration {
	return time.Duration(int64(n) * 8 * int64(time.Second) / rate)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
