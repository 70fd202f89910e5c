package codec

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rssBytes is this process's resident set.
func rssBytes(t *testing.T) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm:", err)
	}
	pages, err := strconv.Atoi(strings.Fields(string(data))[1])
	if err != nil {
		t.Fatal(err)
	}
	return pages * os.Getpagesize()
}

// Calls come and go: encoders opened and closed on many threads, as a
// server's views are, leave the process no bigger once ReleaseMemory ran.
func TestClosedEncodersGiveTheirMemoryBack(t *testing.T) {
	TuneMalloc()
	const rounds, threads = 3, 8
	work := func() {
		var wg sync.WaitGroup
		for range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread() // a thread of its own, as cgo calls get
				defer runtime.UnlockOSThread()
				enc := newTestEncoder(t, 1280, 720, 15, 1200)
				for i := range 3 {
					drawPattern(enc.Input(), i)
					if _, _, err := enc.Encode(nil, i == 0); err != nil {
						t.Error(err)
					}
				}
				enc.Close()
			}()
		}
		wg.Wait()
		ReleaseMemory()
	}
	work()               // the first round sizes the heaps
	debug.FreeOSMemory() // only C memory is in question
	before := rssBytes(t)
	for range rounds {
		work()
	}
	debug.FreeOSMemory()
	grown := rssBytes(t) - before
	t.Logf("after %d more rounds of %d encoders: %+d MB resident", rounds, threads, grown>>20)
	if grown > 32<<20 {
		t.Errorf("closed encoders left %d MB behind, want under 32", grown>>20)
	}
}
