package main

import (
	"syscall"
	"testing"
)

// Go raised the soft open file limit to the hard one as the process
// started, so the server's sockets can use all the system allows.
func TestFileLimitIsRaisedToTheHardLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur != lim.Max {
		t.Errorf("soft file limit %d, hard %d: want them equal", lim.Cur, lim.Max)
	}
}

// --max-sockets defaults to half of the file limit less a reserve, so
// that health, API and ICE-TCP keep descriptors when sockets pile up.
func TestMaxSocketsLeaveAReserve(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		want  int
	}{{1024, 384}, {65536, 32640}, {100, 16}} {
		if got := maxSocketsFor(c.limit); got != c.want {
			t.Errorf("file limit %d: %d sockets, want %d", c.limit, got, c.want)
		}
	}
	if n, err := socketLimit(0); err != nil || n < 16 {
		t.Errorf("--max-sockets 0: %d (%v), want one from the file limit", n, err)
	}
	if n, err := socketLimit(7); err != nil || n != 7 {
		t.Errorf("--max-sockets 7: %d (%v)", n, err)
	}
	if _, err := socketLimit(-1); err == nil {
		t.Error("--max-sockets -1 accepted")
	}
}
