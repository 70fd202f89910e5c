package main

import (
	"io"
	"strings"
	"testing"
)

// A bad --impair is refused before any call starts: the server named
// here does not exist, so reaching it would fail otherwise.
func TestLoadtestRefusesBadImpair(t *testing.T) {
	for _, tt := range []struct {
		impair []string
		says   string
	}{
		{[]string{"boss:loss=5%"}, "ROLE one of customer, agent, third or all"},
		{[]string{"customer"}, "ROLE:SPEC"},
		{[]string{"customer:loss=5"}, "percentage"},
		{[]string{"all:delay=20ms", "third:rate=fast"}, "third:rate=fast"},
	} {
		cmd := rootCommand()
		args := []string{"loadtest", "--server", "http://127.0.0.1:1", "--duration", "1s"}
		for _, f := range tt.impair {
			args = append(args, "--impair", f)
		}
		cmd.SetArgs(args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "--impair") || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("--impair %v: %v; want an error naming --impair and saying %q", tt.impair, err, tt.says)
		}
	}
}
