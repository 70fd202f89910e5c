package mixer

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"
)

// audioWork counts AudioFrame calls by kind.
type audioWork struct {
	NopObserver
	mu    sync.Mutex
	count map[string]int
}

func (w *audioWork) AudioFrame(kind string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == nil {
		w.count = map[string]int{}
	}
	w.count[kind]++
}

// People talking in turn, with DTX and audio levels as browsers send
// them: while one speaks, the other two are sent the speech and the
// speaker nothing but a DTX frame every 400 ms (mix-minus still holds);
// silent voices are not decoded and silent mixes not encoded, so a call
// decodes about one voice and encodes about one mix while anyone speaks,
// and nothing in the pauses.
func TestSpeechInTurnIsMixedAndSilenceCostsNothing(t *testing.T) {
	work := &audioWork{}
	sb := newSpeechBench(t, work, true)
	ticks := len(sb.loops[benchParties[0]])
	for range ticks {
		sb.step()
	}
	turn := ticks / len(benchParties)
	for i, speaker := range benchParties {
		// The middle of the speaker's sentence, past the jitter buffer's
		// delay and before its end.
		from, to := i*turn+25, i*turn+200
		for _, id := range benchParties {
			sent := sb.sinks[id].sent[from:to]
			sound := strings.Count(string(sent), "s")
			if id == speaker && sound > 0 {
				t.Errorf("%s was sent %d frames of sound in its own turn, want none: %s", id, sound, sent)
			}
			// The sentence has a pause of 300 ms between its halves.
			if id != speaker && sound < (to-from)*3/4 {
				t.Errorf("%s was sent %d frames of sound of %d in %s's turn: %s", id, sound, to-from, speaker, sent)
			}
			if id == speaker {
				if dtx := strings.Count(string(sent), "d"); dtx < (to-from)/20-1 || dtx > (to-from)/20+1 {
					t.Errorf("%s got %d DTX frames in %d silent ticks, want one per 400 ms", id, dtx, to-from)
				}
			}
		}
	}
	voiceTicks := ticks * len(benchParties)
	t.Logf("of %d voice and listener ticks: %v", voiceTicks, work.count)
	if d := work.count[AudioDecoded]; d > voiceTicks*35/100 {
		t.Errorf("%d of %d voice frames decoded, want at most 35%%: one speaker at a time", d, voiceTicks)
	}
	if work.count[AudioQuiet] == 0 {
		t.Error("no packet was taken for silence")
	}
	if e := work.count[AudioEncoded]; e > ticks*95/100 || e < ticks/5 {
		t.Errorf("%d mixes encoded in %d ticks, want about one a tick while anyone speaks", e, ticks)
	}
}

// OpusOutput keeps sequence numbers unbroken across the time DTX skips,
// moves RTP time on by it, and marks a talkspurt's first packet.
func TestOpusOutputSkipsTimeNotSequenceNumbers(t *testing.T) {
	var got []rtp.Packet
	out := NewOpusOutput(rtpFunc(func(p *rtp.Packet) error {
		got = append(got, rtp.Packet{Header: p.Header.Clone(), Payload: append([]byte(nil), p.Payload...)})
		return nil
	}))
	frame := mediaSample([]byte{0x78, 1, 2, 3})
	_ = out.WriteSample(frame)
	_ = out.WriteSample(frame)
	for range 19 {
		out.Skip(mixPeriod)
	}
	_ = out.WriteSample(frame)
	if len(got) != 3 {
		t.Fatalf("%d packets sent, want 3", len(got))
	}
	if got[1].SequenceNumber != got[0].SequenceNumber+1 || got[2].SequenceNumber != got[1].SequenceNumber+1 {
		t.Errorf("sequence numbers %d %d %d, want consecutive", got[0].SequenceNumber, got[1].SequenceNumber, got[2].SequenceNumber)
	}
	if d := got[2].Timestamp - got[1].Timestamp; d != 20*960 {
		t.Errorf("RTP time across 19 skipped frames moved %d, want %d", d, 20*960)
	}
	if !got[0].Marker || got[1].Marker || !got[2].Marker {
		t.Errorf("markers %v %v %v, want the first and the one after the silence", got[0].Marker, got[1].Marker, got[2].Marker)
	}
}

// A voice's DTX frames and packets its sender's level marks as silence
// are not decoded, and the frames DTX does not send are not concealed.
func TestQuietPacketsAreNotDecoded(t *testing.T) {
	work := &audioWork{}
	v, err := newVoice("customer", VoiceFormat{Codec: Opus, LevelExtension: 1}, work, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	speech := opusStream(t, 10, false)
	quiet := func(level byte) *rtp.Packet {
		p := &rtp.Packet{Payload: speech[0]}
		if err := p.Header.SetExtension(1, []byte{level}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		pkt   *rtp.Packet
		quiet bool
	}{
		{"DTX frame", &rtp.Packet{Payload: []byte{0xf8}}, true},
		{"-60 dBov, no voice", quiet(60), true},
		{"-60 dBov, voice flagged", quiet(0x80 | 60), false},
		{"-30 dBov, no voice", quiet(30), false},
		{"no level", &rtp.Packet{Payload: speech[1]}, false},
	} {
		if got := v.levelSaysQuiet(tc.pkt) || v.codec.isDTX(tc.pkt.Payload); got != tc.quiet {
			t.Errorf("%s: quiet %v, want %v", tc.name, got, tc.quiet)
		}
	}
	// Frames 0-3 speech, 4 a DTX frame, 5-24 not sent, 25-34 speech:
	// sequence numbers 0-14, each packet arriving on its frame's tick.
	sent := map[int]uint16{}
	for f := range 35 {
		switch {
		case f < 5:
			sent[f] = uint16(f)
		case f >= 25:
			sent[f] = uint16(f - 20)
		}
	}
	speech = opusStream(t, 35, false)
	packet := make([]byte, maxOpusPacket)
	for f := range 35 {
		if seq, ok := sent[f]; ok {
			data := speech[f]
			if f == 4 {
				data = []byte{0xf8}
			}
			v.buffer(seq, uint32(f)*960, tickTime(f), data)
		}
		v.next(packet)
	}
	if v.made.concealed != 0 || v.made.quiet != 1 {
		t.Errorf("made %+v, want one quiet frame and none concealed", v.made)
	}
	if d := work.count[AudioDecoded]; d < 11 || d > 14 {
		t.Errorf("%d frames decoded (%+v), want the speech's, all but the last in the jitter buffer", d, v.made)
	}
}

type rtpFunc func(*rtp.Packet) error

func (f rtpFunc) WriteRTP(p *rtp.Packet) error { return f(p) }

func mediaSample(data []byte) media.Sample { return media.Sample{Data: data, Duration: mixPeriod} }

// A listener's mix carries FEC for its reported loss (at least
// mixFECLoss) for fecHold after its last report of loss, then none.
func TestFECFollowsReportedLoss(t *testing.T) {
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name    string
		percent int
		at      time.Time
		want    int
	}{
		{"never reported", 0, time.Time{}, 0},
		{"2% just now", 2, t0, mixFECLoss},
		{"30% just now", 30, t0, 30},
		{"30% long ago", 30, t0.Add(-fecHold - time.Second), 0},
	} {
		l := &listener{lossPercent: tc.percent, lossAt: tc.at}
		if got := l.fecWanted(t0); got != tc.want {
			t.Errorf("%s: FEC for %d%%, want %d%%", tc.name, got, tc.want)
		}
	}
}
