package signaling

import (
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/threeway-mcu/threeway/call"
)

// fuzzServer is a server for fuzz targets: media on loopback, no logs.
func fuzzServer(tb testing.TB) *Server {
	tb.Helper()
	srv, err := NewServer(ServerParams{
		ICE:    ICEParams{Interfaces: []string{"lo"}},
		Calls:  call.Params{Directory: call.DefaultDirectory()},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close(tb.Context()) })
	return srv
}

// fuzzSession is a session with no socket, joined to a new call as the
// customer. A goroutine of the test's stands in for its run loop: it runs
// what do hands it, and the actions pion posts, one at a time as the loop
// would, and takes what the session queues for its client. end hangs up
// and returns every message queued.
func fuzzSession(tb testing.TB, srv *Server) (s *session, do func(func()), end func() []json.RawMessage) {
	tb.Helper()
	s = newSession(srv, nil)
	s.limit = rate.NewLimiter(rate.Inf, 0)
	var (
		sent []json.RawMessage
		work = make(chan func())
		done = make(chan struct{})
	)
	keep := func(msg json.RawMessage) {
		if msg == nil { // the newest call.state
			msg = s.takeState()
		}
		sent = append(sent, msg)
	}
	go func() {
		defer close(done)
		for {
			select {
			case msg := <-s.outbox:
				keep(msg)
			case act := <-s.actions:
				act()
			case w, ok := <-work:
				if !ok {
					return
				}
				w()
			}
		}
	}()
	do = func(f func()) {
		finished := make(chan struct{})
		work <- func() { f(); close(finished) }
		<-finished
	}
	id, err := srv.center.CreateCall("Ann", "alice")
	if err != nil {
		tb.Fatal(err)
	}
	token, err := srv.tokens.callToken(id, "customer", "")
	if err != nil {
		tb.Fatal(err)
	}
	join, _ := json.Marshal(map[string]string{"type": "join", "call": id, "role": "customer", "name": "Ann", "token": token})
	do(func() { s.handle(join) })
	return s, do, func() []json.RawMessage {
		do(func() {
			s.leave(call.ReasonHangup)
			s.signOut()
			close(s.done)
		})
		close(work)
		<-done
		for {
			select {
			case msg := <-s.outbox:
				keep(msg)
			default:
				return sent
			}
		}
	}
}

// documentedCodes are the error codes PROTOCOL.md lists.
func documentedCodes(tb testing.TB) map[string]bool {
	tb.Helper()
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		tb.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "## Error codes")
	codes := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(first, -1) {
			codes[m[1]] = true
		}
	}
	if len(codes) < 20 {
		tb.Fatalf("read %d error codes from PROTOCOL.md, want its table", len(codes))
	}
	return codes
}

// Whatever a joined party sends, the server answers with messages of the
// protocol, refusing with a documented code: no panic, no hang.
func FuzzClientMessage(f *testing.F) {
	for _, seed := range []string{
		`{"type":"video.set","on":false}`, `{"type":"audio.set","on":"yes"}`,
		`{"type":"layout.set","mode":"maximize","party":"agent"}`, `{"type":"layout.set","mode":"equal"}`,
		`{"type":"layout.set","mode":"maximize","party":7}`, `{"type":"share.start"}`, `{"type":"share.stop"}`,
		`{"type":"help.request","mode":"queue","queue":"billing"}`, `{"type":"help.request","mode":"agent","agent":"bob","request":"r1"}`,
		`{"type":"help.cancel","request":"r1"}`, `{"type":"help.accept","request":"x"}`, `{"type":"drop","party":"third"}`,
		`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}}`,
		`{"type":"offer","sdp":"v=0"}`, `{"type":"join","call":"x","role":"customer","token":"a.b.c"}`,
		`{"type":"agent.signin","token":""}`, `{"type":"presence.set","state":"away"}`, `{"type":"hangup"}`,
		`{"type":"answer","sdp":""}`, `{"type":"nope"}`, `[]`, `{}`, `"x"`, `{"type":null}`, `{"type":"video.set","on":true,"request":{}}`,
	} {
		f.Add([]byte(seed))
	}
	srv := fuzzServer(f)
	codes := documentedCodes(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, do, end := fuzzSession(t, srv)
		do(func() { s.handle(data) })
		for _, raw := range end() {
			var msg struct {
				Type string `json:"type"`
				Code string `json:"code"`
			}
			if err := json.Unmarshal(raw, &msg); err != nil || msg.Type == "" {
				t.Fatalf("the server sent %q, not a protocol message", raw)
			}
			if msg.Type == "error" && !codes[msg.Code] {
				t.Fatalf("error code %q is not in PROTOCOL.md (%s)", msg.Code, raw)
			}
		}
	})
}

// fuzzOffer is a browser-like offer: camera, microphone and screen.
func fuzzOffer(tb testing.TB) string {
	tb.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind); err != nil {
			tb.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return offer.SDP
}

// Whatever SDP a party offers, the server answers it or refuses it with
// negotiation_failed or invalid_field: no panic, no hang.
func FuzzOffer(f *testing.F) {
	offer := fuzzOffer(f)
	f.Add(offer)
	f.Add(strings.ReplaceAll(offer, "VP8", "H264"))
	f.Add(strings.ReplaceAll(offer, "a=ice-ufrag", "a=x-ufrag"))
	f.Add(strings.ReplaceAll(offer, "m=video", "m=application"))
	f.Add(strings.Replace(offer, "a=fingerprint:sha-256", "a=fingerprint:md5", 1))
	f.Add("v=0\r\n")
	f.Add("")
	srv := fuzzServer(f)
	f.Fuzz(func(t *testing.T, sdp string) {
		s, do, end := fuzzSession(t, srv)
		var perr *ProtocolError
		do(func() {
			if l := s.currentLeg(); l != nil {
				perr = s.onOffer(l, sdp)
			} else {
				perr = protoErr(CodeInternal, "the fuzz session did not join")
			}
		})
		end()
		if perr != nil && perr.Code != CodeNegotiationFailed && perr.Code != CodeInvalidField {
			t.Fatalf("offer refused with %v, want negotiation_failed or invalid_field", perr)
		}
	})
}
