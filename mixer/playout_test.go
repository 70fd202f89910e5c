package mixer

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

const frameTS = 90000 / benchFPS // one frame's RTP time

var frameInterval = time.Second / benchFPS

// On a clean path every frame is due as it comes: no delay is added.
func TestPlayoutAddsNothingOnACleanPath(t *testing.T) {
	var p playoutSchedule
	start := time.Unix(1_700_000_000, 0)
	for i := range 100 {
		at := start.Add(time.Duration(i) * frameInterval)
		if due := p.due(at, uint32(1000+i*frameTS)); due.Sub(at) > playoutSlack {
			t.Fatalf("frame %d, on time, is due %v after it came", i, due.Sub(at))
		}
	}
}

// A source's first frames come late, behind the connection's set-up:
// once the warm-up is over, the frames after them, on time, are due as
// they come, not held behind the first ones' lateness.
func TestPlayoutForgetsALateStart(t *testing.T) {
	var p playoutSchedule
	start := time.Unix(1_700_000_000, 0)
	warmup := int(time.Second / frameInterval) // as long as playoutWarmup
	for i := range warmup + 100 {
		at := start.Add(time.Duration(i) * frameInterval)
		if i < 3 {
			at = start.Add(170 * time.Millisecond) // three frames in a burst
		}
		due := p.due(at, uint32(i*frameTS))
		if i > warmup && due.Sub(at) > playoutSlack {
			t.Fatalf("frame %d, on time after a late start, is due %v after it came", i, due.Sub(at))
		}
	}
}

// Frames that come bunched are due a frame interval apart, as their
// timestamps say; the delay rises to cover the late ones, and comes down
// slowly once they are out of the window.
func TestPlayoutSpacesBunchedFrames(t *testing.T) {
	var p playoutSchedule
	start := time.Unix(1_700_000_000, 0)
	arrive := func(i int, late time.Duration) time.Time {
		return p.due(start.Add(time.Duration(i)*frameInterval+late), uint32(i*frameTS))
	}
	for i := range 30 {
		arrive(i, 0)
	}
	// Every fifth frame waits 100 ms for a retransmission; the one after
	// it comes at the same time.
	var dues []time.Time
	for i := 30; i < 90; i++ {
		late := time.Duration(0)
		if i%5 == 0 {
			late = 100 * time.Millisecond
		} else if i%5 == 1 {
			late = 100*time.Millisecond - frameInterval
		}
		dues = append(dues, arrive(i, late))
	}
	for i := 30; i < len(dues); i++ { // once the delay covers the late frames
		if gap := dues[i].Sub(dues[i-1]); gap < frameInterval-playoutDrain || gap > frameInterval {
			t.Fatalf("frames %d and %d are due %v apart, want about %v", 30+i-1, 30+i, gap, frameInterval)
		}
	}
	if p.delay < 100*time.Millisecond || p.delay > 100*time.Millisecond+playoutSlack {
		t.Errorf("the delay is %v with every fifth frame 100 ms late, want 100 ms", p.delay)
	}
	for i := 90; i < 90+playoutWindow; i++ { // the late frames leave the window
		arrive(i, 0)
	}
	drained := 100*time.Millisecond - p.delay
	if want := (playoutWindow - playoutWindow/5) * playoutDrain; drained <= 0 || drained > want {
		t.Errorf("the delay came down by %v in %d clean frames, want some, at most %v", drained, playoutWindow, want)
	}
}

// A frame later than maxPlayoutDelay behind the fastest does not hold the
// others back by more than that.
func TestPlayoutDelayIsBounded(t *testing.T) {
	var p playoutSchedule
	start := time.Unix(1_700_000_000, 0)
	for i := range 40 {
		late := time.Duration(0)
		if i%3 == 0 {
			late = 900 * time.Millisecond
		}
		p.due(start.Add(time.Duration(i)*frameInterval+late), uint32(i*frameTS))
	}
	if p.delay > maxPlayoutDelay {
		t.Errorf("the delay is %v, want at most %v", p.delay, maxPlayoutDelay)
	}
}

// A sender whose timestamps start again (a jump of minutes) is followed
// at once, not held for minutes.
func TestPlayoutFollowsATimestampJump(t *testing.T) {
	var p playoutSchedule
	start := time.Unix(1_700_000_000, 0)
	for i := range 20 {
		p.due(start.Add(time.Duration(i)*frameInterval), uint32(i*frameTS))
	}
	at := start.Add(20 * frameInterval)
	if due := p.due(at, uint32(20*frameTS+90000*300)); due.Sub(at) > playoutSlack {
		t.Errorf("after a timestamp jump of 5 minutes a frame is due %v after it came, want at once", due.Sub(at))
	}
}

// Through a source: a camera's packets reach it with up to 30 ms of
// jitter each (reordered), and every tenth frame waits 100 ms more for a
// retransmission; a view ticking at the frame rate finds a new picture
// at nearly every tick, although about a tenth of its ticks see two
// frames or none come in.
func TestJitteredFramesReachEveryTick(t *testing.T) {
	s, clock := newTestSource(t)
	rng := rand.New(rand.NewPCG(3, 1))
	late := func(frame, packet int) time.Duration {
		d := time.Duration(rng.IntN(30)) * time.Millisecond
		if frame%10 == 5 && packet == 0 {
			d += 100 * time.Millisecond
		}
		return d
	}
	moved, ticks, bunched := playThrough(t, s, clock, late, 20*time.Millisecond)
	t.Logf("%d of %d ticks found a new picture; %d saw two frames' ends come or none", moved, ticks, bunched)
	if bunched < ticks/10 {
		t.Fatalf("only %d of %d ticks saw frames bunched: the test's premise fails", bunched, ticks)
	}
	if moved < ticks*97/100 {
		t.Errorf("%d of %d ticks found a new picture, want at least 97%%", moved, ticks)
	}
}

// A camera whose frames come right at the views' ticks, a few
// milliseconds either side, as a sender on the same clock may: pictures
// played out clear of the ticks reach the views one a tick, where as they
// came two would often fall between the same two ticks.
func TestFramesAtTheTicksReachEveryTick(t *testing.T) {
	s, clock := newTestSource(t)
	s.grid = frameGrid{epoch: *clock, period: frameInterval}
	rng := rand.New(rand.NewPCG(5, 1))
	offsets := map[int]time.Duration{}
	late := func(frame, _ int) time.Duration {
		if _, ok := offsets[frame]; !ok {
			offsets[frame] = time.Duration(rng.IntN(7)-3) * time.Millisecond
		}
		return offsets[frame]
	}
	moved, ticks, _ := playThrough(t, s, clock, late, 0)
	t.Logf("%d of %d ticks found a new picture", moved, ticks)
	if moved < ticks*97/100 {
		t.Errorf("%d of %d ticks found a new picture, want at least 97%%", moved, ticks)
	}
}

// playThrough plays a 5 s camera clip into s, frame i sent i frame
// intervals after the start and each packet arriving late(i, packet)
// after that, while a view ticks phase into each frame interval; it
// counts, after the playout's warm-up and a second, the ticks that found a new picture and
// those that saw the ends of two frames or none come.
func playThrough(t *testing.T, s *source, clock *time.Time, late func(frame, packet int) time.Duration,
	phase time.Duration) (moved, ticks, bunched int) {
	t.Helper()
	s.picture.decoder.TimeCPU()
	clip := encodeCamera(t, 3, false)
	start := *clock
	type arrival struct {
		at   time.Time
		data []byte
	}
	var arrivals []arrival
	seq := uint16(0)
	for i, packets := range clip {
		sent := start.Add(time.Duration(i) * frameInterval)
		for j, raw := range packets {
			data := slices.Clone(raw)
			binary.BigEndian.PutUint16(data[2:], seq)
			binary.BigEndian.PutUint32(data[4:], uint32(i*frameTS))
			seq++
			arrivals = append(arrivals, arrival{sent.Add(late(i, j)), data})
		}
	}
	slices.SortStableFunc(arrivals, func(a, b arrival) int { return a.at.Compare(b.at) })

	// Time moves a millisecond at a time.
	next, tick, lastSeq, framesSinceTick := 0, start.Add(phase), uint64(0), 0
	end := start.Add(time.Duration(len(clip)) * frameInterval)
	for now := start; now.Before(end); now = now.Add(time.Millisecond) {
		*clock = now
		for ; next < len(arrivals) && !arrivals[next].at.After(now); next++ {
			pp := s.packets.get()
			if err := pp.Unmarshal(pp.buf[:copy(pp.buf[:], arrivals[next].data)]); err != nil {
				t.Fatal(err)
			}
			if pp.Marker {
				framesSinceTick++
			}
			s.push(&pp.Packet)
		}
		s.mu.Lock()
		s.release(now) // the playout goroutine, on this test's time
		s.mu.Unlock()
		if now.Before(tick) {
			continue
		}
		tick = tick.Add(frameInterval)
		s.picture.mu.Lock()
		s.picture.drawn = s.picture.seq // as a view drawing it would
		s.picture.mu.Unlock()
		if now.Sub(start) < playoutWarmup+time.Second { // the delay settles
			lastSeq, framesSinceTick = s.picture.seq, 0
			continue
		}
		ticks++
		if s.picture.seq != lastSeq {
			moved++
		}

		if framesSinceTick != 1 {
			bunched++
		}
		lastSeq, framesSinceTick = s.picture.seq, 0
	}
	return moved, ticks, bunched
}
