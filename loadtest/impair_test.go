package loadtest

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

func TestParseImpairRefinesInOrder(t *testing.T) {
	got, err := ParseImpair([]string{"all:delay=20ms,loss=1%", "customer:loss=5%,jitter=30ms", "third:none",
		"third:rate=400kbit", "agent:outage=1s@5s", "all:outage=2s@9s"})
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Millisecond
	want := map[string]netcond.Conditions{
		"customer": {Loss: 0.05, Delay: 20 * ms, Jitter: 30 * ms, Outages: []netcond.Outage{{At: 9 * time.Second, For: 2 * time.Second}}},
		"agent": {Loss: 0.01, Delay: 20 * ms, Outages: []netcond.Outage{{At: 5 * time.Second, For: time.Second},
			{At: 9 * time.Second, For: 2 * time.Second}}},
		"third": {Rate: 400_000, Outages: []netcond.Outage{{At: 9 * time.Second, For: 2 * time.Second}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if only, err := ParseImpair([]string{"customer:loss=5%"}); err != nil || len(only) != 1 {
		t.Errorf("one role's flag: %+v, %v; the others are absent", only, err)
	}
	if none, err := ParseImpair(nil); err != nil || len(none) != 0 {
		t.Errorf("no flags: %+v, %v", none, err)
	}
}

func TestParseImpairNamesTheBadFlag(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		says  string
	}{
		{[]string{"boss:loss=5%"}, `--impair "boss:loss=5%"`},
		{[]string{"loss=5%"}, "ROLE:SPEC"},
		{[]string{"customer:loss=5"}, "--impair customer:loss=5, for the customer"},
		{[]string{"all:queue=1s", "agent:rate=1mbit"}, "--impair all:queue=1s, for the customer: netcond: bad spec: queue=1s without a rate"},
	} {
		_, err := ParseImpair(tc.flags)
		if !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%v: %v; want ErrParams saying %q", tc.flags, err, tc.says)
		}
	}
}

func TestParseSender(t *testing.T) {
	if s, err := ParseSender("1280x720@30"); err != nil || s != (Sender{1280, 720, 30}) {
		t.Errorf("1280x720@30: %+v, %v", s, err)
	}
	if s, err := ParseSender(""); err != nil || s != (Sender{}) {
		t.Errorf("empty: %+v, %v", s, err)
	}
	for _, bad := range []string{"1280x720", "1281x720@30", "1280x720@0", "big", "1280x720@90"} {
		if _, err := ParseSender(bad); !errors.Is(err, ErrParams) || !strings.Contains(err.Error(), "--sender") {
			t.Errorf("%q: %v, want an ErrParams naming --sender", bad, err)
		}
	}
}
