package netcond

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseReadsEveryKey(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Conditions
		str  string // String's spelling, if not spec ("-": empty)
	}{
		{"", Conditions{}, ""},
		{"none", Conditions{}, "-"},
		{"loss=5%", Conditions{Loss: 0.05}, ""},
		{"loss=0.5%,delay=20ms,jitter=30ms", Conditions{Loss: 0.005, Delay: 20 * time.Millisecond, Jitter: 30 * time.Millisecond}, ""},
		{"burst=4@2%", Conditions{Burst: Burst{Len: 4, Prob: 0.02}}, ""},
		{"rtploss=10%", Conditions{RTPLoss: 0.1}, ""},
		{"rate=400kbit", Conditions{Rate: 400_000}, ""},
		{"rate=2mbit,queue=150ms", Conditions{Rate: 2_000_000, Queue: 150 * time.Millisecond}, ""},
		{"rate=1.5mbit", Conditions{Rate: 1_500_000}, "rate=1500kbit"},
		{"rate=64001bit", Conditions{Rate: 64_001}, ""},
		{"outage=3s@10s", Conditions{Outages: []Outage{{At: 10 * time.Second, For: 3 * time.Second}}}, ""},
		{"outage=3s@10s,outage=1s@20s", Conditions{Outages: []Outage{{10 * time.Second, 3 * time.Second}, {20 * time.Second, time.Second}}}, ""},
		{"udp=off", Conditions{UDPOff: true}, ""},
		{"udp=off,udp=on", Conditions{}, "-"},
		{"seed=7", Conditions{Seed: 7}, ""},
		// The later value wins: a refinement.
		{" loss=5% , delay=20ms,loss=7%", Conditions{Loss: 0.07, Delay: 20 * time.Millisecond}, "loss=7%,delay=20ms"},
		{"jitter=30ms,loss=5%", Conditions{Loss: 0.05, Jitter: 30 * time.Millisecond}, "loss=5%,jitter=30ms"},
	} {
		got, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.spec, got, tc.want)
		}
		want := tc.str
		switch want {
		case "":
			want = tc.spec
		case "-":
			want = ""
		}
		if s := got.String(); s != want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.spec, s, want)
		}
		back, err := Parse(got.String())
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v back", got.String(), back, err, got)
		}
	}
}

func TestStringRoundTripsOddShares(t *testing.T) {
	for _, share := range []float64{0.07, 0.123, 1.0 / 3, 0.0001, 1} {
		c := Conditions{Loss: share, Burst: Burst{Len: 3, Prob: share}}
		back, err := Parse(c.String())
		if err != nil {
			t.Fatalf("%q: %v", c.String(), err)
		}
		if d := back.Loss - share; d > 1e-6*share || d < -1e-6*share {
			t.Errorf("%v comes back as %v through %q", share, back.Loss, c.String())
		}
		again, _ := Parse(back.String())
		if !reflect.DeepEqual(again, back) {
			t.Errorf("%q is not stable: %+v, then %+v", c.String(), back, again)
		}
	}
}

func TestParseRefusesBadSpecs(t *testing.T) {
	for _, tc := range []struct{ spec, says string }{
		{"loss=5", "percentage"},
		{"loss=150%", "percentage"},
		{"loss=-1%", "percentage"},
		{"loss", "key=value"},
		{"loss=", "key=value"},
		{"los=5%", `unknown key "los"`},
		{"burst=4", "N@P%"},
		{"burst=0@2%", "N@P%"},
		{"burst=4@2", "percentage"},
		{"delay=20", "duration"},
		{"delay=-5ms", "out of range"},
		{"rate=400", "bits per second"},
		{"rate=400kbps", "bits per second"},
		{"rate=0kbit", "bits per second"},
		{"queue=100ms", "without a rate"},
		{"rate=1mbit,queue=0s", "out of range"},
		{"outage=3s", "D@T"},
		{"outage=0s@1s", "out of range"},
		{"outage=3s@x", "duration"},
		{"udp=no", "udp=off"},
		{"seed=-1", "whole number"},
		{"loss=5%,,delay=1ms", "key=value"},
	} {
		c, err := Parse(tc.spec)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", tc.spec, c)
			continue
		}
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Parse(%q): %v; want ErrSpec saying %q", tc.spec, err, tc.says)
		}
	}
}

func TestOutageWindowsJoin(t *testing.T) {
	c := Conditions{Outages: []Outage{{At: time.Second, For: time.Second}, {At: 2 * time.Second, For: time.Second}}}
	for _, tc := range []struct {
		at  time.Duration
		in  bool
		end time.Duration
	}{
		{999 * time.Millisecond, false, 999 * time.Millisecond},
		{time.Second, true, 3 * time.Second},
		{2500 * time.Millisecond, true, 3 * time.Second},
		{3 * time.Second, false, 3 * time.Second},
	} {
		in, end := c.inOutage(tc.at)
		if in != tc.in || end != tc.end {
			t.Errorf("at %v: in %v until %v, want %v until %v", tc.at, in, end, tc.in, tc.end)
		}
	}
}
