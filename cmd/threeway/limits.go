package main

import (
	"fmt"
	"syscall"
)

// fdReserve is the file descriptors kept from WebSockets, for /healthz,
// /api, the page, ICE-TCP connections and the process's own files.
const fdReserve = 256

// maxSocketsFor is the default --max-sockets for a file limit: half of
// what the reserve leaves, since a party on ICE-TCP holds a second
// descriptor; never under 16.
func maxSocketsFor(fileLimit uint64) int {
	if fileLimit <= 2*fdReserve {
		return 16
	}
	return int(min((fileLimit-fdReserve)/2, 1<<20))
}

// fileLimit is the process's open file limit. Go raises the soft limit
// to the hard one as a program starts (since Go 1.19); this reads what
// that came to.
func fileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("open file limit: %w", err)
	}
	return lim.Cur, nil
}

// socketLimit resolves --max-sockets: 0 derives it from the file limit.
func socketLimit(flag int) (int, error) {
	if flag < 0 {
		return 0, fmt.Errorf("--max-sockets %d: want 0 (from the open file limit) or more", flag)
	}
	if flag > 0 {
		return flag, nil
	}
	n, err := fileLimit()
	if err != nil {
		return 0, err
	}
	return maxSocketsFor(n), nil
}
