package main

import (
	"runtime"
	"testing"

	"github.com/threeway-mcu/threeway/mixer"
)

// The server runs with one P more than the video CPU slots, however often
// it starts in a process, unless the operator set GOMAXPROCS.
func TestSpareP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	t.Setenv("GOMAXPROCS", "")
	spareP()
	spareP()
	if got, want := runtime.GOMAXPROCS(0), mixer.CPUSlots()+1; got != want {
		t.Errorf("GOMAXPROCS %d after two starts, want %d (the %d slots and one)", got, want, mixer.CPUSlots())
	}
	t.Setenv("GOMAXPROCS", "5")
	runtime.GOMAXPROCS(5)
	spareP()
	if got := runtime.GOMAXPROCS(0); got != 5 {
		t.Errorf("GOMAXPROCS %d, want the operator's 5", got)
	}
}
