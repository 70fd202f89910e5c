package peer

import (
	"context"
	"log/slog"
	"math"
	"testing"
)

// Audio decoded only when asked for gives the tone levels continuous
// decoding does, whether asked after every packet or after many more than
// are kept; a loss before a packet is concealed, not a failure.
func TestToneLevelsDecodedOnDemand(t *testing.T) {
	tone, err := loops.audioLoopFor(context.Background(), ToneHz("third"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, a *analyser) {
		t.Helper()
		levels := a.toneLevels()
		own := levels["third"]
		if math.Abs(own+12) > 1.5 {
			t.Errorf("%s: own tone %.1f dBFS, want about -12; levels %v", name, own, levels)
		}
		for _, other := range []string{"customer", "agent"} {
			if own-levels[other] < 30 {
				t.Errorf("%s: %s tone %.1f dBFS beside %.1f", name, other, levels[other], own)
			}
		}
	}
	polled, rare := newAnalyser(slog.New(slog.DiscardHandler)), newAnalyser(slog.New(slog.DiscardHandler))
	for i := range 4 * audioLoopFrames {
		pkt := heardPacket{data: tone.packets[i%audioLoopFrames]}
		if i == 70 {
			pkt.dropped = 1
		}
		polled.heard.push(pkt)
		rare.heard.push(pkt)
		if i >= 2*audioLoopFrames {
			polled.toneLevels()
		}
	}
	check("polled after every packet", polled)
	if polled.listen.decoded != polled.heard.total {
		t.Errorf("polled: decoded up to %d of %d", polled.listen.decoded, polled.heard.total)
	}
	check("asked once after 4 s", rare)
	if rare.listen.dec == nil {
		t.Error("the decoder did not survive for the next call")
	}
	levels := rare.toneLevels()
	if again := rare.toneLevels(); again["third"] != levels["third"] {
		t.Error("levels for the same audio changed")
	}
	rare.stop()
	rare.heard.push(heardPacket{data: tone.packets[0]})
	rare.toneLevels()
	if rare.listen.dec != nil {
		t.Error("an ended leg kept its decoder")
	}
}
