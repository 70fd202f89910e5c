package main

import (
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/threeway-mcu/threeway/codec"
)

// The server runs with one P more than the video CPU slots, however often
// it starts in a process, unless the operator set GOMAXPROCS.
func TestSpareP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	spareP(videoSlots())
	spareP(videoSlots())
	if got, want := runtime.GOMAXPROCS(0), startProcs+1; got != want {
		t.Errorf("GOMAXPROCS %d after two starts, want %d (the %d slots and one)", got, want, startProcs)
	}
	t.Setenv("GOMAXPROCS", "5")
	runtime.GOMAXPROCS(5)
	spareP(videoSlots())
	if got := runtime.GOMAXPROCS(0); got != 5 {
		t.Errorf("GOMAXPROCS %d, want the operator's 5", got)
	}
}

// Two goroutines that hand a picture back and forth, one of them encoding
// it in libvpx each time, as mediabench's do, share one scheduler time
// slice; once it is 10 ms old, sysmon preempts it at every tick: by taking
// the P of the thread inside libvpx, or, between encodes, with a signal,
// which is what a test can count. Starting a fresh slice before each
// encode must stop that.
func TestFreshTimeSliceStopsSysmonPreempting(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation changes how goroutines are scheduled")
	}
	if strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1") {
		t.Skip("GODEBUG asyncpreemptoff=1: the runtime sends no preemption signals to count")
	}
	// Alternated, so that a spell of load elsewhere on the machine, which
	// stretches encodes past 10 ms on their own, falls on both. Load that
	// lasts (other test packages running beside this one) adds as many
	// signals to both and can hide the difference: up to three tries
	// each get the chance to show it, which a freshTimeSlice that does
	// nothing never would.
	var without, with int
	for try := 1; try <= 3; try++ {
		without, with = 0, 0
		for range 2 {
			without += preemptionsDuringHandOffs(t, func() {})
			with += preemptionsDuringHandOffs(t, freshTimeSlice)
		}
		t.Logf("try %d: preemption signals in 2x%d hand-offs: %d without a fresh slice, %d with", try, handOffs, without, with)
		if without >= 8 && 2*with <= without {
			return
		}
	}
	if without < 8 {
		t.Fatalf("%d preemption signals without a fresh slice: the hand-offs no longer share a slice, so freshTimeSlice has nothing to do", without)
	}
	t.Errorf("%d preemption signals with a fresh slice before each encode, %d without, in the last of three tries", with, without)
}

// handOffs is enough for a shared slice to pass 10 ms many times over,
// with encodes short enough (about a millisecond) that a loaded machine
// seldom stretches one alone past it.
const handOffs = 200

// preemptionsDuringHandOffs counts the SIGURGs (the runtime's preemption
// signal; ones that arrive together count once, so this is a floor) the
// process gets while a goroutine encodes handOffs 640x360 frames, each
// handed to it and back over unbuffered channels, calling beforeEncode
// first.
func preemptionsDuringHandOffs(t *testing.T, beforeEncode func()) int {
	t.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: 640, Height: 360, FPS: 15, BitrateKbps: 600})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()

	signals := make(chan os.Signal, 1024)
	signal.Notify(signals, syscall.SIGURG)
	defer signal.Stop(signals)

	turn, done := make(chan int), make(chan struct{})
	go func() {
		out := make([]byte, 0, 1<<20)
		for k := range turn {
			paintMovingBars(enc.Input(), k)
			beforeEncode()
			var err error
			if out, _, err = enc.Encode(out[:0], false); err != nil {
				t.Error(err)
			}
			done <- struct{}{}
		}
	}()
	for k := range handOffs {
		turn <- k
		<-done
	}
	close(turn)
	signal.Stop(signals)
	return len(signals)
}

// paintMovingBars draws vertical bars shifted by k pixels, so that every
// frame costs the encoder real work.
func paintMovingBars(f *codec.Frame, k int) {
	for y := range f.Height {
		row := f.Y[y*f.Width : (y+1)*f.Width]
		for x := range row {
			row[x] = byte((x + k*7 + y/8) * 3)
		}
	}
}
