package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// sysmonAwake is the GODEBUG setting that keeps the runtime's sysmon
// thread from sleeping deeply whenever every P is idle.
//
// A server goes idle between packets and frames hundreds of times a
// second, and each time sysmon sleeps deeply until the next syscall or cgo
// call wakes it into polling every 20 µs again, a timer and a context
// switch each. Go has no setting for that; a schedule trace, though, keeps
// sysmon from sleeping deeply so that it can print on time, and while it
// finds nothing to retake it backs off to polling every 10 ms.
//
// The price: the trace is a "SCHED" line on stderr every 24.9 days, the
// longest period there is, the first once the host has been up that long
// (at start-up on an older host); an idle server's sysmon wakes every
// 10 ms instead of sleeping; and a fatal error prints the scheduler's full
// state before its traceback, which needs the scheduler's lock, so a
// runtime throw while holding that lock would hang instead of exiting.
const sysmonAwake = "schedtrace=2147483647"

// keepSysmonAwake re-executes this process (Linux's /proc/self/exe, same
// arguments and PID) with sysmonAwake in GODEBUG, which the runtime reads
// only at start-up. It returns if there is nothing to do (GODEBUG already
// sets schedtrace, the operator's choice), or after telling warn that
// exec failed: the process then goes on as it is.
func keepSysmonAwake(warn io.Writer) {
	env, changed := withSysmonAwake(os.Environ())
	if !changed {
		return
	}
	err := syscall.Exec("/proc/self/exe", os.Args, env)
	fmt.Fprintf(warn, "threeway: going on without GODEBUG=%s: %v\n", sysmonAwake, err)
}

// withSysmonAwake returns env with sysmonAwake added to its GODEBUG, and
// whether it added it. Like the runtime, it reads the first GODEBUG and
// takes setting names as written.
func withSysmonAwake(env []string) ([]string, bool) {
	out := make([]string, 0, len(env)+1)
	var godebug string
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			if !found {
				godebug, found = v, true
			}
			continue
		}
		out = append(out, kv)
	}
	for _, setting := range strings.Split(godebug, ",") {
		if key, _, _ := strings.Cut(setting, "="); key == "schedtrace" {
			return env, false
		}
	}
	if godebug != "" {
		godebug += ","
	}
	return append(out, "GODEBUG="+godebug+sysmonAwake), true
}
