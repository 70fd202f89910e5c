package signaling

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Opus in-band FEC is negotiated both ways: a browser's offer asks for it
// (useinbandfec=1, which pion's default codecs carry as Chrome's do), and
// the server's answer grants it, so that each side may send FEC and the
// other decodes it. The answer also asks the browser for DTX and agrees
// on the audio level extension, so silence is not sent nor decoded.
func TestOpusInbandFECIsNegotiated(t *testing.T) {
	var browserEngine webrtc.MediaEngine
	if err := browserEngine.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	level := webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI} // Chrome offers it
	if err := browserEngine.RegisterHeaderExtension(level, webrtc.RTPCodecTypeAudio); err != nil {
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
	offer.SDP = withOpusDTX(offer.SDP) // as onOffer does
	if err := server.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := server.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.SetLocalDescription(answer); err != nil {
		t.Fatal(err) // pion takes only its own answer, unchanged
	}
	for who, sdp := range map[string]string{"the offer": offer.SDP, "the answer": answer.SDP} {
		if fmtp := opusFmtpOf(sdp); !strings.Contains(fmtp, "useinbandfec=1") {
			t.Errorf("%s's Opus parameters are %q, want useinbandfec=1", who, fmtp)
		}
	}
	if fmtp := opusFmtpOf(answer.SDP); !strings.Contains(fmtp, "usedtx=1") {
		t.Errorf("the answer's Opus parameters are %q, want usedtx=1: the browser would send in silence", fmtp)
	}
	if !strings.Contains(answer.SDP, sdp.AudioLevelURI) {
		t.Errorf("the answer has no audio level extension:\n%s", answer.SDP)
	}
}

// opusFmtpOf is the fmtp line of the Opus payload type in sdp.
func opusFmtpOf(sdp string) string {
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
