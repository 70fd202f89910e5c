package peer

import (
	"cmp"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/codec"
)

// Packets of an encoder with in-band FEC on carry LBRR; without, none do.
// libopus codes LBRR only for frames its voice activity detector calls
// active, which a steady tone stops being after about 0.7 s; a role's
// voice swings like speech, so well after warm-up, in the loop a peer
// sends, most packets still carry it.
func TestOpusLBRRSeesInbandFEC(t *testing.T) {
	for _, fec := range []int{0, opusFECLossPercent} {
		enc, err := codec.NewOpusEncoder(opusBitrate)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.SetInbandFEC(fec); err != nil {
			t.Fatal(err)
		}
		tone := newToneGen(ToneHz("agent"))
		pcm := make([]int16, codec.FrameSamples)
		var buf []byte
		with := 0
		const warm, frames = 100, 50
		for i := range warm + frames {
			tone.fill(pcm)
			if buf, err = enc.Encode(pcm, buf); err != nil {
				t.Fatal(err)
			}
			if i >= warm && opusLBRR(buf) {
				with++
			}
		}
		enc.Close()
		t.Logf("fec %d%%: %d of %d packets after warm-up carry LBRR", fec, with, frames)
		if fec == 0 && with != 0 || fec > 0 && with < frames/2 {
			t.Errorf("fec %d%%: %d of %d packets carry LBRR", fec, with, frames)
		}
	}
	loop, err := encodeAudioLoop(ToneHz("agent"))
	if err != nil {
		t.Fatal(err)
	}
	with := 0
	for _, pkt := range loop.packets {
		if opusLBRR(pkt) {
			with++
		}
	}
	if with < len(loop.packets)/2 {
		t.Errorf("%d of the sent loop's %d packets carry LBRR", with, len(loop.packets))
	}
}

// playoutOf feeds a playout 20 ms frames 0..n-1 in the order they
// arrive, frame k at at(k) unless lost(k), with FEC if fec.
func playoutOf(n int, at func(k int) time.Duration, lost func(k int) bool, fec bool) *playout {
	var frames []int
	for k := range n {
		if !lost(k) {
			frames = append(frames, k)
		}
	}
	slices.SortStableFunc(frames, func(a, b int) int { return cmp.Compare(at(a), at(b)) })
	var p playout
	t0 := time.Unix(1000, 0)
	for _, k := range frames {
		p.packet(uint16(k), uint32(5000+k*playoutFrameTick), t0.Add(at(k)), fec)
	}
	return &p
}

// A sender in DTX sends no packet for a while, with its sequence numbers
// unbroken: nothing is concealed, and the silent frames are not due;
// losing the first packet after the silence is still a loss.
func TestPlayoutTakesDTXForSilenceNotLoss(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name            string
		lostAfter       bool // the first packet after the silence is lost
		late            time.Duration
		concealed, want int
	}{
		{"silence", false, 0, 0, 80},
		{"silence, resuming 30 ms late", false, 30 * time.Millisecond, 0, 80},
		{"silence, first packet after lost", true, 0, 1, 80},
	} {
		var p playout
		seq := uint16(100)
		for k := range 101 {
			if k >= 30 && k < 50 {
				continue // DTX: not sent
			}
			at := t0.Add(time.Duration(k) * playoutFrame)
			if k >= 50 {
				at = at.Add(tc.late)
			}
			if !(tc.lostAfter && k == 50) {
				p.packet(seq, uint32(5000+k*playoutFrameTick), at, false)
			}
			seq++
		}
		if p.concealed != tc.concealed || p.due < tc.want-2 || p.due > tc.want {
			t.Errorf("%s: %d of %d frames due concealed, want %d of about %d", tc.name, p.concealed, p.due, tc.concealed, tc.want)
		}
	}
}

func TestPlayoutConcealsWhatArrivesTooLate(t *testing.T) {
	onTime := func(k int) time.Duration { return time.Duration(k) * playoutFrame }
	none := func(int) bool { return false }
	for _, tc := range []struct {
		name      string
		at        func(int) time.Duration
		lost      func(int) bool
		fec       bool
		concealed int
		rebuilt   int
	}{
		{"perfect", onTime, none, false, 0, 0},
		{"every tenth lost", onTime, func(k int) bool { return k%10 == 5 }, false, 10, 0},
		// The next packet's FEC rebuilds a single loss, not a pair's first.
		{"every tenth lost, FEC", onTime, func(k int) bool { return k%10 == 5 }, true, 0, 10},
		{"pairs lost, FEC", onTime, func(k int) bool { return k%10 == 5 || k%10 == 6 }, true, 10, 10},
		// 50 ms of jitter is inside the 60 ms delay; 80 ms is not.
		{"jitter 50 ms", func(k int) time.Duration { return onTime(k) + time.Duration(k%2)*50*time.Millisecond }, none, false, 0, 0},
		{"late by 80 ms", func(k int) time.Duration {
			if k%10 == 3 {
				return onTime(k) + 80*time.Millisecond
			}
			return onTime(k)
		}, none, false, 10, 0},
		// A frame late for itself is rebuilt from its successor's FEC if
		// that came in time.
		{"late by 80 ms, FEC", func(k int) time.Duration {
			if k%10 == 3 {
				return onTime(k) + 80*time.Millisecond
			}
			return onTime(k)
		}, none, true, 0, 10},
		// A 1 s outage: 50 frames, the last rebuilt from the first after.
		{"outage", onTime, func(k int) bool { return k >= 40 && k < 90 }, true, 49, 1},
	} {
		p := playoutOf(101, tc.at, tc.lost, tc.fec)
		// Frame 100 is about the last to arrive: the frames that play
		// up to then are judged.
		if p.due < 98 || p.due > 99 {
			t.Errorf("%s: %d frames judged of 101", tc.name, p.due)
		}
		if p.concealed != tc.concealed || p.rebuilt != tc.rebuilt {
			t.Errorf("%s: %d concealed and %d rebuilt, want %d and %d", tc.name, p.concealed, p.rebuilt, tc.concealed, tc.rebuilt)
		}
	}
}

// The fastest path sets the schedule: a stream whose first packet came
// late does not make every later one look early and others late.
func TestPlayoutFollowsTheEarliestArrival(t *testing.T) {
	p := playoutOf(200, func(k int) time.Duration {
		d := time.Duration(k) * playoutFrame
		if k == 0 {
			d += 40 * time.Millisecond
		}
		return d + time.Duration(math.Sin(float64(k))*25)*time.Millisecond + 25*time.Millisecond
	}, func(int) bool { return false }, false)
	if p.concealed != 0 {
		t.Errorf("%d of %d concealed with 50 ms of jitter under a 60 ms delay", p.concealed, p.due)
	}
}

// A sender whose clock falls behind (its RTP time runs 20 ms slow every
// tenth frame, as a ticker that drops ticks) costs a concealed frame for
// each 20 ms it falls beyond the buffer's 60 ms, not every frame after.
func TestPlayoutFollowsASlowSender(t *testing.T) {
	p := playoutOf(100, func(k int) time.Duration {
		return time.Duration(k+k/10) * playoutFrame
	}, func(int) bool { return false }, false)
	// 9 lags of 20 ms; the buffer takes the first 3.
	if p.concealed != 6 {
		t.Errorf("%d of %d concealed with a sender 180 ms behind, want 6", p.concealed, p.due)
	}
}
