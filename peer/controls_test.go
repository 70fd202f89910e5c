package peer

import (
	"errors"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// joinEcho joins the stand-in as role and waits until the echo of its own
// picture is read.
func joinEcho(t *testing.T, s *echoServer, role string) *Peer {
	t.Helper()
	return joinEchoOn(t, s, role, netcond.Conditions{})
}

// joinEchoOn is joinEcho on a network with conditions c from the start.
func joinEchoOn(t *testing.T, s *echoServer, role string, c netcond.Conditions) *Peer {
	t.Helper()
	p, err := Join(ctxFor(t, 15*time.Second), Config{URL: s.url, Call: "c", Role: role, Loopback: true, Network: c, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	waitStats(t, p, 10*time.Second, func(s Stats) bool { return reads(s, role) })
	return p
}

// Video off sends nothing on the camera track; back on, the stream goes on
// with the next sequence number, RTP time that covers the pause, and a key
// frame. Audio off and on likewise stops and resumes the audio.
func TestVideoAndAudioOffOn(t *testing.T) {
	s := newEchoServer(t, nil)
	p := joinEcho(t, s, "customer")

	if err := p.SetVideo(false); err != nil {
		t.Fatal(err)
	}
	if !s.waitFor(5*time.Second, func() bool { return s.countReceived("video.set") == 1 }) {
		t.Fatal("server got no video.set")
	}
	<-time.After(100 * time.Millisecond) // a frame in flight may still land
	s.mu.Lock()
	packets := s.cameraPackets
	s.mu.Unlock()
	sent := p.Stats().FramesSent
	<-time.After(600 * time.Millisecond)
	s.mu.Lock()
	if s.cameraPackets != packets {
		t.Errorf("camera packets while off: %d more", s.cameraPackets-packets)
	}
	s.mu.Unlock()
	if st := p.Stats(); st.FramesSent != sent {
		t.Errorf("frames sent while off: %d more", st.FramesSent-sent)
	}

	if err := p.SetVideo(true); err != nil {
		t.Fatal(err)
	}
	if !s.waitFor(5*time.Second, func() bool { return len(s.gaps) == 1 }) {
		t.Fatalf("the camera did not resume: gaps %+v, %d packets, last %v ago", s.gaps, s.cameraPackets, time.Since(s.cameraLast))
	}
	s.mu.Lock()
	g := s.gaps[0]
	var ons []bool
	for _, m := range s.fromClients {
		if m.Type == "video.set" {
			var v struct{ On bool }
			_ = Message{Raw: m.Raw}.Decode(&v)
			ons = append(ons, v.On)
		}
	}
	s.mu.Unlock()
	if len(ons) != 2 || ons[0] || !ons[1] {
		t.Errorf("video.set messages: %v", ons)
	}
	if g.seqDelta != 1 {
		t.Errorf("sequence numbers jump by %d over the pause", g.seqDelta)
	}
	rtpTime := time.Duration(g.tsDelta) * time.Second / 90000
	if d := rtpTime - g.wall; d < -150*time.Millisecond || d > 150*time.Millisecond {
		t.Errorf("RTP time over the pause %v, wall time %v", rtpTime, g.wall)
	}
	if !g.key {
		t.Error("the first frame after the pause is not a key frame")
	}
	frames := p.Stats().FramesDecoded
	waitStats(t, p, 5*time.Second, func(s Stats) bool { return s.FramesDecoded > frames+10 && reads(s, "customer") })

	if err := p.SetAudio(false); err != nil {
		t.Fatal(err)
	}
	<-time.After(100 * time.Millisecond)
	audio := p.Stats().AudioFramesSent
	<-time.After(300 * time.Millisecond)
	if st := p.Stats(); st.AudioFramesSent != audio {
		t.Errorf("audio frames sent while off: %d more", st.AudioFramesSent-audio)
	}
	if err := p.SetAudio(true); err != nil {
		t.Fatal(err)
	}
	waitStats(t, p, 5*time.Second, func(s Stats) bool { return s.AudioFramesSent > audio+10 })
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

// A share refused by the server returns its error; an accepted one adds a
// screen track in its own stream whose pattern reads as "screen", and
// stopping removes it. The server stopping a share stops the track too,
// and sharing again works.
func TestShare(t *testing.T) {
	s := newEchoServer(t, nil)
	p := joinEcho(t, s, "agent")

	s.note(func() { s.shareRefuse = "video_not_enabled_for_all" })
	err := p.StartShare(ctxFor(t, 5*time.Second))
	if serr, ok := err.(*ServerError); !ok || serr.Code != "video_not_enabled_for_all" {
		t.Fatalf("refused share: %v", err)
	}
	s.mu.Lock()
	if s.offers != 1 {
		t.Errorf("a refused share renegotiated: %d offers", s.offers)
	}
	s.shareRefuse = ""
	s.mu.Unlock()

	share := func(round int) {
		t.Helper()
		if err := p.StartShare(ctxFor(t, 10*time.Second)); err != nil {
			t.Fatalf("share %d: %v", round, err)
		}
		s.mu.Lock()
		offers := s.offers
		s.mu.Unlock()
		if offers != 2*round {
			t.Errorf("share %d: %d offers answered", round, offers)
		}
		if !s.waitFor(10*time.Second, func() bool { return len(s.screenNumbers) > 10 }) {
			t.Fatalf("share %d: the server reads no screen pattern (%d packets, tracks %v)", round, s.screenPackets, s.screenTracks)
		}
		s.mu.Lock()
		if len(s.screenTracks) != round || s.screenTracks[round-1] != "threeway-peer-agent-screen" {
			t.Errorf("share %d: screen tracks %v", round, s.screenTracks)
		}
		s.screenNumbers = nil
		s.mu.Unlock()
		if st := p.Stats(); st.ScreenFramesSent == 0 {
			t.Errorf("share %d: stats %+v", round, st)
		}
	}
	stopped := func(what string) {
		t.Helper()
		s.mu.Lock()
		last := s.screenPackets
		s.mu.Unlock()
		<-time.After(400 * time.Millisecond)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.screenPackets > last {
			t.Errorf("%s: screen packets still arrive", what)
		}
	}

	share(1)
	if err := p.StopShare(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatalf("stop share: %v", err)
	}
	s.mu.Lock()
	if s.offers != 3 {
		t.Errorf("stop share: %d offers answered, want 3", s.offers)
	}
	s.mu.Unlock()
	stopped("after StopShare")
	err = p.StopShare(ctxFor(t, 5*time.Second))
	if serr, ok := err.(*ServerError); !ok || serr.Code != "not_sharing" {
		t.Errorf("stop without a share: %v", err)
	}

	// Again, with a new transceiver; then the server ends it.
	share(2)
	s.stopShare("video_not_enabled_for_all")
	if !s.waitFor(5*time.Second, func() bool { return s.offers == 5 }) {
		t.Errorf("the peer did not renegotiate after share.stopped: %d offers", s.offers)
	}
	stopped("after share.stopped")
	frames := p.Stats().FramesDecoded
	waitStats(t, p, 5*time.Second, func(s Stats) bool { return s.FramesDecoded > frames+10 && reads(s, "agent") })
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

// A share needs a live leg: after the server ends it, there is none.
func TestShareAfterLeft(t *testing.T) {
	s := newEchoServer(t, nil)
	p := joinEcho(t, s, "third")
	s.endLeg("call_ended")
	if _, err := p.WaitFor(ctxFor(t, 5*time.Second), "left", nil); err != nil {
		t.Fatal(err)
	}
	if err := p.StartShare(ctxFor(t, 5*time.Second)); !errors.Is(err, ErrNotInCall) {
		t.Errorf("share without a leg: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}

// A first share encodes its loop before it takes the negotiation lock,
// so that the server's candidates, which the read loop adds under that
// lock, never wait for an encode.
func TestFirstShareEncodesOutsideNegotiation(t *testing.T) {
	s := newEchoServer(t, nil)
	k := loopKey{pattern: ScreenKey, width: 1280, height: 720, fps: 30, bitrateKbps: oneOffBitrate()}
	p, err := Join(ctxFor(t, 15*time.Second), Config{URL: s.url, Call: "c", Role: "agent", Loopback: true,
		Logger: testLogger(t), Width: k.width, Height: k.height, FPS: k.fps, VideoBitrateKbps: k.bitrateKbps})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	defer p.Close()
	l := p.liveLeg()
	encoding := func() bool {
		loops.mu.Lock()
		defer loops.mu.Unlock()
		e := loops.video[k]
		return e != nil && len(e.lock) == 1
	}
	shared := make(chan error, 1)
	go func() { shared <- p.StartShare(ctxFor(t, 20*time.Second)) }()
	deadline := time.Now().Add(10 * time.Second)
	for !encoding() {
		if time.Now().After(deadline) {
			t.Fatal("the screen loop's encode never started")
		}
		time.Sleep(time.Millisecond)
	}
	free := false
	for !free && encoding() {
		if free = l.neg.mu.TryLock(); free {
			l.neg.mu.Unlock()
		}
		time.Sleep(time.Millisecond)
	}
	if !free {
		t.Error("the negotiation lock was held throughout the screen loop's encode")
	}
	if err := <-shared; err != nil {
		t.Fatalf("share: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	checkNoPeerGoroutines(t)
}
