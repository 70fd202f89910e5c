package signaling

import (
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// Opus in-band FEC is negotiated both ways: a browser's offer asks for it
// (useinbandfec=1, which pion's default codecs carry as Chrome's do), and
// the server's answer grants it, so that each side may send FEC and the
// other decodes it. (Pion answers with the offer's parameters for the
// codec it matched, so the server's Opus must match a browser's.)
func TestOpusInbandFECIsNegotiated(t *testing.T) {
	var browserEngine webrtc.MediaEngine
	if err := browserEngine.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	browser, err := webrtc.NewAPI(webrtc.WithMediaEngine(&browserEngine)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer browser.Close()
	if _, err := browser.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	offer, err := browser.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	api, _, err := newAPI(apiParams{ice: ICEParams{Interfaces: []string{"lo"}}, sockets: &iceSockets{}})
	if err != nil {
		t.Fatal(err)
	}
	server, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if err := server.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for who, sdp := range map[string]string{"the offer": offer.SDP, "the answer": answer.SDP} {
		if fmtp := opusFmtp(sdp); !strings.Contains(fmtp, "useinbandfec=1") {
			t.Errorf("%s's Opus parameters are %q, want useinbandfec=1", who, fmtp)
		}
	}
}

// opusFmtp is the fmtp line of the Opus payload type in sdp.
func opusFmtp(sdp string) string {
	var pt string
	for line := range strings.Lines(sdp) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "a=rtpmap:"); ok && strings.Contains(rest, "opus/48000") {
			pt, _, _ = strings.Cut(rest, " ")
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "a=fmtp:"+pt+" "); ok && pt != "" {
			return rest
		}
	}
	return ""
}
