package sip

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/mixer"
)

func sdpOf(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// The answer's audio decides codec, payload type and where RTP goes.
func TestParseAnswer(t *testing.T) {
	session := []string{"v=0", "o=gw 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0"}
	tests := []struct {
		name  string
		media []string
		want  answer
		err   bool
	}{
		{"PCMU", []string{"m=audio 4000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000"},
			answer{remote: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 4000}, codec: mixer.PCMU, pt: 0}, false},
		{"PCMA first", []string{"m=audio 4002 RTP/AVP 8 0"},
			answer{remote: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 4002}, codec: mixer.PCMA, pt: 8}, false},
		{"media-level address", []string{"m=audio 4004 RTP/AVP 0", "c=IN IP4 10.0.0.9"},
			answer{remote: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 4004}, codec: mixer.PCMU, pt: 0}, false},
		{"named by rtpmap", []string{"m=audio 4006 RTP/AVP 96", "a=rtpmap:96 PCMA/8000"},
			answer{remote: &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 4006}, codec: mixer.PCMA, pt: 96}, false},
		{"no G.711", []string{"m=audio 4008 RTP/AVP 18", "a=rtpmap:18 G729/8000"}, answer{}, true},
		{"audio refused", []string{"m=audio 0 RTP/AVP 0"}, answer{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAnswer(sdpOf(append(append([]string{}, session...), tt.media...)...))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if tt.err {
				return
			}
			if got.codec != tt.want.codec || got.pt != tt.want.pt || got.remote.String() != tt.want.remote.String() {
				t.Errorf("answer = %v %d %v, want %v %d %v", got.codec, got.pt, got.remote, tt.want.codec, tt.want.pt, tt.want.remote)
			}
		})
	}
	if _, err := parseAnswer([]byte("not sdp")); err == nil {
		t.Error("garbage parsed as an answer")
	}
}

// Our offer is what parseAnswer accepts: PCMU first, on the leg's port.
func TestOfferOffersG711AndTelephoneEvent(t *testing.T) {
	body, err := offer(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 20000})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"m=audio 20000 RTP/AVP 0 8 101", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=ptime:20", "c=IN IP4 127.0.0.1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("offer lacks %q:\n%s", want, body)
		}
	}
	a, err := parseAnswer(body)
	if err != nil || a.codec != mixer.PCMU {
		t.Errorf("the offer read as an answer: %v %v", a.codec, err)
	}
}

// Final responses map to help.failed's reasons; no response at all is a
// gateway error.
func TestFailureReasons(t *testing.T) {
	for code, want := range map[int]string{486: call.DialBusy, 600: call.DialBusy, 404: call.DialNotFound, 484: call.DialNotFound,
		408: call.DialNoAnswer, 480: call.DialNoAnswer, 603: call.DialRejected, 403: call.DialGatewayError, 503: call.DialGatewayError} {
		res := sipmsg.NewResponse(code, "")
		if got := failure(&sipgo.ErrDialogResponse{Res: res}); got != want {
			t.Errorf("%d: %q, want %q", code, got, want)
		}
	}
	if got := failure(errors.New("transaction timed out")); got != call.DialGatewayError {
		t.Errorf("no response: %q, want gateway_error", got)
	}
}

func TestSessionTimerOf(t *testing.T) {
	for value, want := range map[string]sessionTimer{
		"":                    {},
		"1800;refresher=uac":  {interval: 1800 * time.Second, byUs: true},
		"90; refresher = uas": {interval: 90 * time.Second},
		"600":                 {interval: 600 * time.Second},
		"1;refresher=uac":     {interval: minSessionInterval, byUs: true},
		"soon;refresher=uac":  {},
	} {
		res := sipmsg.NewResponse(200, "OK")
		if value != "" {
			res.AppendHeader(sipmsg.NewHeader("Session-Expires", value))
		}
		if got := sessionTimerOf(res); got != want {
			t.Errorf("Session-Expires %q: %+v, want %+v", value, got, want)
		}
	}
}

func TestConfigChecks(t *testing.T) {
	for _, cfg := range []Config{
		{Gateway: "nohost"},
		{Gateway: "127.0.0.1:5060", Ports: PortRange{Min: 100, Max: 200}},
		{Gateway: "127.0.0.1:5060", Ports: PortRange{Min: 30000, Max: 30000}},
		{Gateway: "127.0.0.1:5060", From: "sip:"},
	} {
		if d, err := New(cfg); err == nil {
			d.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
	d, err := New(Config{Gateway: "127.0.0.1:5060", Listen: "127.0.0.1:0", From: "sip:cc@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.from.User != "cc" || d.from.Host != "example.com" || d.Addr().Port == 0 {
		t.Errorf("from %v at %v", d.from, d.Addr())
	}
	if err := d.Dial("call", "dial", "+15550100"); err == nil {
		t.Error("a dialer not started dialled")
	}
}
