package netcond

import (
	"math"
	"net"
	"slices"
	"testing"
	"time"
)

func TestLossRateEachWay(t *testing.T) {
	for _, out := range []bool{true, false} {
		p := newPath(t, Conditions{Loss: 0.1, Seed: 1})
		const count = 5000
		got := sendCounted(t, p, out, count)
		lost := 1 - float64(len(got))/count
		in, o := p.n.Counters()
		t.Logf("out %v: lost %.2f%%; counters in %+v, out %+v", out, 100*lost, in, o)
		if lost < 0.085 || lost > 0.115 {
			t.Errorf("out %v: lost %.2f%% of %d datagrams, want 10%% ± 1.5", out, 100*lost, count)
		}
		c := o
		if !out {
			c = in
		}
		if int(c.Lost) != count-len(got) || int(c.Passed) != len(got) {
			t.Errorf("out %v: counters %+v, but %d of %d arrived", out, c, len(got), count)
		}
	}
}

func TestBurstsLoseRunsOfTheirLength(t *testing.T) {
	p := newPath(t, Conditions{Burst: Burst{Len: 4, Prob: 0.02}, Seed: 2})
	const count = 20000
	got := sendCounted(t, p, false, count)
	runs := lossRuns(got, count)
	lost := 1 - float64(len(got))/count
	mean := 0.0
	for _, r := range runs {
		mean += float64(r) / float64(len(runs))
	}
	t.Logf("lost %.2f%% in %d runs, mean length %.2f", 100*lost, len(runs), mean)
	// 0.02·4/(1+0.02·3) = 7.55%.
	if lost < 0.065 || lost > 0.086 {
		t.Errorf("lost %.2f%%, want 7.5%% ± 1", 100*lost)
	}
	if len(runs) == 0 || slices.Min(runs) < 4 || mean > 4.5 {
		t.Errorf("loss runs: shortest %d, mean %.2f; want 4 at the least and about 4 on average", slices.Min(runs), mean)
	}
}

// lossRuns returns the lengths of the runs of sequence numbers missing
// from 0..count-1.
func lossRuns(got []arrival, count int) []int {
	seen := make([]bool, count)
	for _, a := range got {
		seen[a.seq] = true
	}
	var runs []int
	run := 0
	for _, ok := range append(seen, true) {
		if !ok {
			run++
			continue
		}
		if run > 0 {
			runs = append(runs, run)
		}
		run = 0
	}
	return runs
}

// The link draws each datagram's delay uniformly from Delay to
// Delay+Jitter.
func TestDelayAndJitterDistribution(t *testing.T) {
	const delay, jitter = 20 * time.Millisecond, 30 * time.Millisecond
	l := newLink(time.Now(), Conditions{Delay: delay, Jitter: jitter}, 3, 1)
	var buckets [3]int
	mean := 0.0
	const count = 10000
	for range count {
		now := time.Now()
		due, pass := l.datagram(now, make([]byte, 100))
		d := due.Sub(now)
		if !pass || d < delay || d >= delay+jitter {
			t.Fatalf("delay %v (passed %v), want in [20 ms, 50 ms)", d, pass)
		}
		buckets[(d-delay)/(10*time.Millisecond)]++
		mean += float64(d) / float64(time.Millisecond) / count
	}
	t.Logf("mean %.2f ms, thirds %v", mean, buckets)
	if math.Abs(mean-35) > 0.5 {
		t.Errorf("mean delay %.2f ms, want 35", mean)
	}
	for _, n := range buckets {
		if math.Abs(float64(n)-count/3) > count/30 {
			t.Errorf("delays by thirds of the jitter %v, want about a third each", buckets)
		}
	}
}

// Delivered at their own due times, datagrams 2 ms apart with 30 ms of
// jitter overtake each other; none comes early.
func TestDelayAndJitterReorder(t *testing.T) {
	const delay, jitter = 20 * time.Millisecond, 30 * time.Millisecond
	p := newPath(t, Conditions{Delay: delay, Jitter: jitter, Seed: 3})
	from, to := p.ends(true)
	r := receive(to)
	const count = 200
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for seq := range count {
		send(t, from, to, seq, 100)
		<-tick.C
	}
	got := r.wait(count, 5*time.Second)
	if len(got) != count {
		t.Fatalf("%d of %d arrived", len(got), count)
	}
	var delays []float64
	reordered, highest := 0, -1
	for _, a := range got {
		delays = append(delays, float64(a.at.Sub(a.sent))/float64(time.Millisecond))
		if a.seq < highest {
			reordered++
		}
		highest = max(highest, a.seq)
	}
	slices.Sort(delays)
	lo, p50 := delays[0], delays[count/2]
	t.Logf("delay min %.1f, p50 %.1f, max %.1f ms; %d of %d reordered", lo, p50, delays[count-1], reordered, count)
	// The timer may be late on a busy machine, never early.
	if lo < 19.5 || p50 < 30 || p50 > 45 {
		t.Errorf("delays from %.1f ms, p50 %.1f; want from 20, p50 about 35", lo, p50)
	}
	if reordered < count/4 {
		t.Errorf("%d of %d arrived after a later one, want reordering from the jitter", reordered, count)
	}
}

func TestRateCapsThroughputAndQueueDrops(t *testing.T) {
	const rate = 400_000
	for _, queue := range []time.Duration{0, 100 * time.Millisecond} {
		p := newPath(t, Conditions{Rate: rate, Queue: queue})
		from, to := p.ends(false)
		r := receive(to)
		// 1172 bytes and 28 of header: 1200 on the wire, 9.6 kbit, so 24
		// ms each at 400 kbit/s. Sent every 12 ms: twice the rate.
		const size, count = 1172, 60
		tick := time.NewTicker(12 * time.Millisecond)
		for seq := range count {
			send(t, from, to, seq, size)
			<-tick.C
		}
		tick.Stop()
		in, _ := p.n.Counters()
		got := r.wait(int(in.Passed), 3*time.Second)
		first, last := got[0], got[len(got)-1]
		kbps := float64((len(got)-1)*(size+udpOverhead)*8) / last.at.Sub(first.at).Seconds() / 1000
		worst := time.Duration(0)
		for _, a := range got {
			worst = max(worst, a.at.Sub(a.sent))
		}
		want := queue
		if want == 0 {
			want = DefaultQueue
		}
		t.Logf("queue %v: %d of %d through at %.0f kbit/s, longest wait %v; %+v", want, len(got), count, kbps, worst, in)
		if kbps < 360 || kbps > 440 {
			t.Errorf("queue %v: %.0f kbit/s through a 400 kbit/s cap", want, kbps)
		}
		if in.Overflow == 0 || len(got) > count*3/4 {
			t.Errorf("queue %v: %d of %d through at twice the rate, %d overflowed: the queue must drop", want, len(got), count, in.Overflow)
		}
		// The queue holds at most its depth of sending, plus the packet
		// being sent, plus the receiver's wake-up: up to 55 ms late
		// beside other test packages. A queue that did not drop would
		// hold the last packet about 700 ms.
		if worst > want+24*time.Millisecond+60*time.Millisecond || worst < want-25*time.Millisecond {
			t.Errorf("queue %v: the longest wait was %v", want, worst)
		}
	}
}

func TestOutageDropsItsWindowOnly(t *testing.T) {
	p := newPath(t, Conditions{Outages: []Outage{{At: 200 * time.Millisecond, For: 300 * time.Millisecond}}})
	from, to := p.ends(true)
	r := receive(to)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	sentAt := map[int]time.Duration{}
	for seq := 0; time.Since(p.n.start) < 700*time.Millisecond; seq++ {
		sentAt[seq] = time.Since(p.n.start)
		send(t, from, to, seq, 100)
		<-tick.C
	}
	_, out := p.n.Counters()
	got := r.wait(int(out.Passed), 3*time.Second)
	arrived := map[int]bool{}
	for _, a := range got {
		arrived[a.seq] = true
	}
	// A send time read before the link's own clock may be off by as long
	// as the sender is descheduled: allow 10 ms at the window's edges.
	edge := 10 * time.Millisecond
	for seq, at := range sentAt {
		inside := at >= 200*time.Millisecond+edge && at < 500*time.Millisecond-edge
		outside := at < 200*time.Millisecond-edge || at >= 500*time.Millisecond+edge
		if inside && arrived[seq] || outside && !arrived[seq] {
			t.Errorf("datagram %d sent at %v: arrived %v", seq, at, arrived[seq])
		}
	}
	if out.Outage < 40 {
		t.Errorf("%d datagrams dropped in a 300 ms outage, sent every 5 ms", out.Outage)
	}
}

func TestSameSeedSameLosses(t *testing.T) {
	var runs [2][]int
	for i := range runs {
		p := newPath(t, Conditions{Loss: 0.2, Burst: Burst{Len: 3, Prob: 0.05}, Seed: 42})
		for _, a := range sendCounted(t, p, true, 500) {
			runs[i] = append(runs[i], a.seq)
		}
	}
	if !slices.Equal(runs[0], runs[1]) {
		t.Error("two Nets with one seed lost different datagrams")
	}
}

func TestUDPOffAndSilenceDropEverything(t *testing.T) {
	p := newPath(t, Conditions{UDPOff: true})
	for _, out := range []bool{true, false} {
		from, to := p.ends(out)
		for seq := range 20 {
			send(t, from, to, seq, 100)
		}
	}
	in, out := p.seen(t, false, 20), p.seen(t, true, 20)
	if in.Blocked != 20 || out.Blocked != 20 || in.Passed+out.Passed != 0 {
		t.Errorf("udp=off: in %+v, out %+v", in, out)
	}

	p.n.Set(Conditions{}, Conditions{})
	got := sendCounted(t, p, true, 10)
	if len(got) != 10 {
		t.Fatalf("after udp=on %d of 10 arrived", len(got))
	}
	p.n.Silence(true)
	from, to := p.ends(true)
	send(t, from, to, 10, 100)
	from, to = p.ends(false)
	send(t, from, to, 11, 100)
	if err := p.through.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, _, err := p.through.ReadFrom(make([]byte, 100)); err == nil || !err.(net.Error).Timeout() {
		t.Errorf("a silenced socket read %d bytes, %v; want a timeout", n, err)
	}
	if _, err := p.through.WriteTo([]byte("still open"), p.plain.LocalAddr()); err != nil {
		t.Errorf("a silenced socket refuses writes: %v", err)
	}
	// The silence ends: datagrams pass again.
	p.n.Silence(false)
	if err := p.through.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	send(t, p.plain, p.through, 12, 100)
	if n, _, err := p.through.ReadFrom(make([]byte, 100)); err != nil || n != 100 {
		t.Errorf("after the silence: read %d bytes, %v", n, err)
	}
}

// RTPLoss loses RTP only: STUN, DTLS and RTCP get through.
func TestRTPLossSparesTheConnection(t *testing.T) {
	l := newLink(time.Now(), Conditions{RTPLoss: 0.5}, 4, 1)
	rtp := []byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	marked := []byte{0x80, 96 | 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1} // RTP with the marker bit
	rtcp := []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0}
	stun := []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0}
	dtls := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for name, pkt := range map[string][]byte{"RTP": rtp, "marked RTP": marked, "RTCP": rtcp, "STUN": stun, "DTLS": dtls} {
		lost := 0
		for range 1000 {
			if _, pass := l.datagram(time.Now(), pkt); !pass {
				lost++
			}
		}
		media := name == "RTP" || name == "marked RTP"
		if media && (lost < 420 || lost > 580) || !media && lost != 0 {
			t.Errorf("%s: %d of 1000 lost to rtploss=50%%", name, lost)
		}
	}
}
