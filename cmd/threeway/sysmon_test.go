package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWithSysmonAwake(t *testing.T) {
	for _, c := range []struct {
		env     []string
		want    string
		changed bool
	}{
		{[]string{"HOME=/root"}, "GODEBUG=" + sysmonAwake, true},
		{[]string{"GODEBUG="}, "GODEBUG=" + sysmonAwake, true},
		{[]string{"GODEBUG=madvdontneed=1"}, "GODEBUG=madvdontneed=1," + sysmonAwake, true},
		{[]string{"GODEBUG=madvdontneed=1,schedtrace=0"}, "GODEBUG=madvdontneed=1,schedtrace=0", false},
		// The runtime takes names as written: " schedtrace" is not schedtrace.
		{[]string{"GODEBUG= schedtrace=500"}, "GODEBUG= schedtrace=500," + sysmonAwake, true},
		// Nor does it read a second GODEBUG.
		{[]string{"GODEBUG=madvdontneed=1", "GODEBUG=schedtrace=0"}, "GODEBUG=madvdontneed=1," + sysmonAwake, true},
	} {
		env, changed := withSysmonAwake(append(slices.Clone(c.env), "HOME=/root", "PATH=/bin"))
		if changed != c.changed || !slices.Contains(env, c.want) {
			t.Errorf("withSysmonAwake(%q) = %q, %v; want %q in it, %v", c.env, env, changed, c.want, c.changed)
		}
		others := slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") })
		if changed && len(others) != len(env)-1 {
			t.Errorf("withSysmonAwake(%q) = %q: more than one GODEBUG", c.env, env)
		}
		if !slices.Contains(others, "PATH=/bin") || !slices.Contains(others, "HOME=/root") {
			t.Errorf("withSysmonAwake(%q) = %q: lost the other variables", c.env, env)
		}
	}
}

// The server's process runs with sysmonAwake, keeping the operator's other
// GODEBUG settings: it executes itself once more, and not again.
func TestKeepSysmonAwakeExecutesOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GODEBUG=") })
	cmd.Env = append(cmd.Env, sysmonChildEnv+"=1", "GODEBUG=madvdontneed=1")
	out, err := cmd.Output() // stdout: the trace may add a line to stderr
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := "GODEBUG=madvdontneed=1," + sysmonAwake
	if !slices.Contains(strings.Split(string(out), "\n"), want) {
		t.Errorf("the process printed %q, want the line %q", out, want)
	}
}

// sysmonChildEnv makes this test binary act as a server starting up:
// keepSysmonAwake, then print the GODEBUG it runs with.
const sysmonChildEnv = "THREEWAY_TEST_SYSMON_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(sysmonChildEnv) != "" {
		keepSysmonAwake(os.Stdout)
		fmt.Println("GODEBUG=" + os.Getenv("GODEBUG"))
		os.Exit(0)
	}
	if args := os.Getenv(serveChildEnv); args != "" {
		os.Exit(serveChild(args))
	}
	// Tests that run the serve command would otherwise re-execute this
	// test binary. Its GODEBUG, whatever it is, now names schedtrace, so
	// keepSysmonAwake leaves it be; the runtime reads it only at start-up.
	godebug := os.Getenv("GODEBUG")
	if godebug != "" {
		godebug = "," + godebug
	}
	os.Setenv("GODEBUG", "schedtrace=0"+godebug)
	os.Exit(m.Run())
}
