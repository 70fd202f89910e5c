package peer

import (
	"net"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// useTCP gives the stand-in an ICE-TCP port on loopback, for a configure
// function of newEchoServer.
func (s *echoServer) useTCP() {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		s.t.Fatal(err)
	}
	s.tcp = webrtc.NewICETCPMux(nil, l, 8)
	s.t.Cleanup(func() { _ = s.tcp.Close() })
}

// echoLatency is how long ago the frame number the last picture shows in
// role's tile was sent, as the peer measured it.
func echoLatency(t *testing.T, p *Peer, role string) time.Duration {
	t.Helper()
	tile := p.Stats().Tiles[role]
	if tile.FrameNumber < 0 {
		t.Fatalf("%s's tile shows no number", role)
	}
	sent, ok1 := p.SentAt(uint16(tile.FrameNumber))
	got, ok2 := p.ReceivedAt(role, uint16(tile.FrameNumber))
	if !ok1 || !ok2 {
		t.Fatalf("frame %d: sent %v, received %v", tile.FrameNumber, ok1, ok2)
	}
	return got.Sub(sent)
}

// A party's delay shows in the latency it measures through the echo (out
// and back: twice the one-way delay), and an outage of its network, from
// the leg's start, freezes its picture and its tile, while the audio it
// would have heard is concealed; then everything resumes.
func TestNetworkDelayAndOutage(t *testing.T) {
	s := newEchoServer(t, nil)
	const delay = 40 * time.Millisecond
	outage := netcond.Outage{At: 2500 * time.Millisecond, For: 800 * time.Millisecond}
	p, err := Join(ctxFor(t, 15*time.Second), Config{URL: s.url, Call: "c", Role: "agent", Loopback: true,
		Network: netcond.Conditions{Delay: delay, Outages: []netcond.Outage{outage}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	defer p.Close()
	joined := time.Now() // a little after the leg's start
	waitStats(t, p, 5*time.Second, func(s Stats) bool { return s.FramesDecoded >= 10 && reads(s, "agent") })
	if lat := echoLatency(t, p, "agent"); lat < 2*delay || lat > 2*delay+150*time.Millisecond {
		t.Errorf("echo latency %v with %v each way", lat, delay)
	}
	before := p.Stats()
	if before.Freezes != 0 || time.Since(joined) > outage.At {
		t.Fatalf("before the outage (%v in): %d freezes", time.Since(joined), before.Freezes)
	}
	// Wait out the outage, then for pictures and audio to come back.
	<-time.After(time.Until(joined.Add(outage.At + outage.For)))
	end := p.Stats()
	after := waitStats(t, p, 5*time.Second, func(s Stats) bool {
		return s.FramesDecoded >= end.FramesDecoded+10 && s.AudioFramesDue >= end.AudioFramesDue+25
	})
	concealed := after.AudioFramesConcealed - before.AudioFramesConcealed
	t.Logf("after the outage: %d freezes, agent tile %+v, %d of %d audio frames concealed",
		after.Freezes, after.TileUpdates["agent"], concealed, after.AudioFramesDue-before.AudioFramesDue)
	if after.Freezes != 1 || after.TileUpdates["agent"].Freezes != 1 {
		t.Errorf("an 800 ms outage: %d picture freezes and tile %+v, want one of each", after.Freezes, after.TileUpdates["agent"])
	}
	// 800 ms is 40 frames; the echo's round trip loses up to 2·40 ms
	// more at the edges.
	if concealed < 38 || concealed > 60 {
		t.Errorf("%d audio frames concealed in an 800 ms outage, want about 40", concealed)
	}
	if lat := echoLatency(t, p, "agent"); lat > 2*delay+150*time.Millisecond {
		t.Errorf("echo latency %v after the outage", lat)
	}
}

// Loss set on a live leg loses datagrams each way at its rate: what the
// peer received is repaired by its NACKs, what it sent by its
// retransmissions; audio, which nothing repairs, is concealed about as
// often as a frame is lost either way.
func TestSetNetworkLossIsRepaired(t *testing.T) {
	s := newEchoServer(t, nil)
	// A seeded network draws the same losses for the same datagrams after
	// loss is set, so the share lost is not left to chance.
	p := joinEchoOn(t, s, "customer", netcond.Conditions{Seed: 9})
	base := p.Stats()
	in0, _ := p.currentLeg().socket().net.Counters()
	if base.NACKsSent+base.NACKsReceived+base.Retransmissions+base.InboundDropped != 0 {
		t.Fatalf("a clean network: %+v", base)
	}
	const loss = 0.05
	p.SetNetwork(netcond.Conditions{Loss: loss})
	start := time.Now()
	st := waitStats(t, p, 15*time.Second, func(s Stats) bool {
		return s.AudioFramesDue >= base.AudioFramesDue+250 && s.Retransmissions > 0 && s.NACKsSent > 0
	})
	fps := float64(st.FramesDecoded-base.FramesDecoded) / time.Since(start).Seconds()
	in, _ := p.currentLeg().socket().net.Counters()
	lost, passed := in.Dropped()-in0.Dropped(), in.Passed-in0.Passed
	dropped := float64(lost) / float64(passed+lost)
	audioLost := st.AudioPacketsLost - base.AudioPacketsLost
	audioLoss := float64(audioLost) / float64(audioLost+st.AudioPackets-base.AudioPackets)
	concealed := float64(st.AudioFramesConcealed-base.AudioFramesConcealed) / float64(st.AudioFramesDue-base.AudioFramesDue)
	rebuilt := st.AudioFramesRebuilt - base.AudioFramesRebuilt
	t.Logf("%.1f fps; dropped %.1f%% inbound (%d); NACKs %d sent, %d received; %d resent; audio %.1f%% lost, %.1f%% concealed, %d frames rebuilt",
		fps, 100*dropped, st.InboundDropped, st.NACKsSent, st.NACKsReceived, st.Retransmissions, 100*audioLoss, 100*concealed, rebuilt)
	if dropped < 0.02 || dropped > 0.085 || int64(st.InboundDropped) != in.Dropped() {
		t.Errorf("dropped %.1f%% of the inbound datagrams at 5%% loss (%d of %d; Stats says %d in all, the network %d)",
			100*dropped, lost, passed+lost, st.InboundDropped, in.Dropped())
	}
	if st.NACKsReceived == 0 {
		t.Error("the stand-in never NACKed what the peer's uplink lost")
	}
	// Lost on the way out or back: 1-0.95² ≈ 9.75%, of which the next
	// packet's FEC rebuilds most (the voice loop carries it).
	if audioLoss < 0.045 || audioLoss > 0.16 || rebuilt == 0 || concealed > 0.16 {
		t.Errorf("audio %.1f%% lost, %.1f%% concealed and %d frames rebuilt with 5%% loss each way",
			100*audioLoss, 100*concealed, rebuilt)
	}
	if fps < 0.6*DefaultFPS {
		t.Errorf("%.1f fps with NACKs repairing 5%% loss", fps)
	}

	// Back to a clean network: nothing more is dropped.
	p.SetNetwork(netcond.Conditions{})
	dropped0 := p.Stats().InboundDropped
	waitStats(t, p, 5*time.Second, func(s Stats) bool { return s.AudioFramesDue >= st.AudioFramesDue+50 })
	if d := p.Stats().InboundDropped - dropped0; d != 0 {
		t.Errorf("%d datagrams dropped on a clean network", d)
	}
}

// With UDP blocked the peer connects over ICE-TCP to a server that offers
// it, through its network's forwarder (its delay shows in the latency),
// and receives its full frame rate.
func TestUDPOffConnectsOverTCP(t *testing.T) {
	s := newEchoServer(t, func(s *echoServer) { s.useTCP() })
	const delay = 30 * time.Millisecond
	p, err := Join(ctxFor(t, 15*time.Second), Config{URL: s.url, Call: "c", Role: "third", Loopback: true,
		Network: netcond.Conditions{UDPOff: true, Delay: delay}, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	defer p.Close()
	st := waitStats(t, p, 10*time.Second, func(s Stats) bool { return s.FramesDecoded >= 5 && reads(s, "third") })
	start, n := time.Now(), st.FramesDecoded
	st = waitStats(t, p, 5*time.Second, func(s Stats) bool { return time.Since(start) >= 2*time.Second })
	fps := float64(st.FramesDecoded-n) / time.Since(start).Seconds()
	sock := p.currentLeg().socket()
	in, out := sock.net.Counters()
	t.Logf("over TCP: %.1f fps; UDP blocked %d in, %d out", fps, in.Blocked, out.Blocked)
	if out.Blocked == 0 || in.Passed+out.Passed != 0 {
		t.Errorf("UDP: in %+v, out %+v; want every datagram blocked", in, out)
	}
	if fps < 0.8*DefaultFPS {
		t.Errorf("%.1f fps over TCP", fps)
	}
	if lat := echoLatency(t, p, "third"); lat < 2*delay {
		t.Errorf("echo latency %v with %v each way: TCP went around the network's conditions", lat, delay)
	}
}
