package signaling_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
)

// speaking has a peer's microphone play the speech schedule: a sentence
// in its role's turn, silence otherwise.
func speaking(c *peer.Config) { c.Audio = peer.AudioSpeech }

// People talking in turn through the server: in a turn each of the
// others hears the speaker and the speaker hears nothing (mix-minus). With
// DTX (the default) the server decodes only the voice that speaks and
// sends the speaker DTX instead of an encoded silence; with NoAudioDTX
// it does all the work, and the parties hear the same.
func TestSpeechInTurnsAndSilenceCostsNothing(t *testing.T) {
	for _, dtx := range []bool{true, false} {
		t.Run(fmt.Sprintf("dtx=%v", dtx), func(t *testing.T) {
			ts := startServer(t, func(p *signaling.ServerParams) {
				p.Metrics = metrics.New()
				p.NoAudioDTX = !dtx
			})
			c := ts.createCall(t, "Ann", "alice")
			peers := map[string]*peer.Peer{
				"customer": ts.join(t, c.Call, "customer", c.Customer.Token, speaking),
				"agent":    ts.join(t, c.Call, "agent", c.Agent.Token, speaking),
			}
			bob := ts.console(t, "bob", speaking)
			if err := peers["agent"].Send(map[string]string{"type": "help.request", "mode": "agent", "agent": "bob"}); err != nil {
				t.Fatal(err)
			}
			offer, err := bob.WaitFor(ctxFor(t, 10*time.Second), "help.offer", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := bob.Accept(ctxFor(t, 20*time.Second), field(offer, "request")); err != nil {
				t.Fatal(err)
			}
			peers["third"] = bob

			if err := waitFor(10*time.Second, func() error {
				for role, p := range peers {
					if p.Counters().AudioFrames == 0 {
						return fmt.Errorf("%s hears nothing", role)
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			speaker := waitForSentence(t, time.Now())
			for role, p := range peers {
				heard := p.Stats().HeardDBFS
				t.Logf("%s's turn: %s hears %.1f dBFS", speaker, role, heard)
				if role == speaker && heard > -60 {
					t.Errorf("%s hears %.1f dBFS in its own turn, want nothing", role, heard)
				}
				if role != speaker && heard < -45 {
					t.Errorf("%s hears %.1f dBFS in %s's turn, want the speech", role, heard, speaker)
				}
			}
			m := scrape(t, ts)
			work := func(kind string) float64 { return m[`threeway_audio_frames_total{work="`+kind+`"}`] }
			t.Logf("audio frames: decoded %.0f, quiet %.0f, encoded %.0f, dtx %.0f",
				work("decoded"), work("quiet"), work("encoded"), work("dtx"))
			if dtx && (work("dtx") == 0 || work("quiet") == 0) {
				t.Error("with DTX, silent mixes were encoded or silent voices decoded")
			}
			if !dtx && (work("dtx") != 0 || work("quiet") != 0) {
				t.Error("without DTX, silence was skipped")
			}
		})
	}
}

// waitForSentence waits until a speaker has been saying its sentence
// for long enough for everyone to hear it (the last 600 ms, all after
// from, when audio flowed), and returns its role.
func waitForSentence(t *testing.T, from time.Time) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		now := time.Now()
		if now.Sub(from) < 1500*time.Millisecond { // a second of the call's audio settling
			time.Sleep(50 * time.Millisecond)
			continue
		}
		speaker, speaking := peer.SpeechAt(now.Add(-600 * time.Millisecond))
		if still, ok := peer.SpeechAt(now); speaking && ok && still == speaker {
			return speaker
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no sentence was spoken in 15 s")
	return ""
}

// A browser asked for DTX sends it: Chromium's fake microphone beeps
// 20 ms every half second, and between beeps the page sends far fewer
// than the 50 packets a second of sound, which the server takes for
// silence and does not decode.
func TestBrowserSendsDTXInSilence(t *testing.T) {
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(p *signaling.ServerParams) { p.Metrics = metrics.New() })
	c := ts.createCall(t, "Chromium", "alice")
	customer := openTab(t, browser, c.Customer.URL)
	click(t, customer, "#joinButton")
	ts.join(t, c.Call, "agent", c.Agent.Token)
	pageHolds(t, customer, 20*time.Second, `threeway.state !== null && threeway.state.parties.length === 2`)
	sent := func() int {
		t.Helper()
		var n int
		if err := waitFor(10*time.Second, func() error {
			got, err := chromedp.Run(customer, chromedp.Evaluate[int](`threeway.outboundAudio().then(s => s ? s.packets : -1)`, chromedp.EvalAwaitPromise))
			if err != nil || got <= 0 {
				return fmt.Errorf("the page's microphone sent %d packets (%v)", got, err)
			}
			n = got
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first, start := sent(), time.Now()
	time.Sleep(3 * time.Second)
	rate := float64(sent()-first) / time.Since(start).Seconds()
	quiet := scrape(t, ts)[`threeway_audio_frames_total{work="quiet"}`]
	t.Logf("the page sends %.1f audio packets a second; the server left %.0f undecoded", rate, quiet)
	if rate > 40 {
		t.Errorf("the page sends %.1f audio packets a second, want DTX (well under 50)", rate)
	}
	if quiet == 0 {
		t.Error("the server decoded all of the page's silence")
	}
}
