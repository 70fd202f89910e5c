package signaling_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zaf/g711"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/signaling"
	"github.com/threeway-mcu/threeway/signaling/sip"
)

// phone is sipp playing a phone on 127.0.0.1, behind a gateway that is
// the phone itself: a scenario from testdata/sip says what it answers.
type phone struct {
	addr string // its SIP address, the server's --sip-gateway
	out  bytes.Buffer
	done chan error // sipp's exit: nil when its scenario passed
}

// startPhone runs sipp with scenario and extra flags. Its working
// directory holds tone.ulaw, the 990 Hz tone (the peers' third-party
// tone) its scenarios play.
func startPhone(t *testing.T, scenario string, extra ...string) *phone {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is needed (Debian's sip-tester; make test installs it): ", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tone.ulaw"), ulawTone(peer.ToneHz("third"), 2*time.Second), 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := filepath.Abs(filepath.Join("..", "testdata", "sip", scenario))
	if err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	p := &phone{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan error, 1)}
	// No -mp: sipp takes the first free pair of even ports from 6000 (it
	// binds -mp+2 too), so phones of parallel tests do not collide.
	args := append([]string{"-sf", sf, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mi", "127.0.0.1", "-ci", "127.0.0.1", "-m", "1", "-nostdin",
		"-timeout", "60s", "-timeout_error"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// finished waits for sipp to end and reports whether its scenario
// passed.
func (p *phone) finished(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			return fmt.Errorf("sipp: %v\n%s", err, lastLines(p.out.String(), 25))
		}
		return nil
	case <-time.After(within):
		return errors.New("sipp is still running")
	}
}

func lastLines(s string, n int) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}

// ulawTone is a quarter-scale sine of hz as raw µ-law, 8 kHz.
func ulawTone(hz float64, d time.Duration) []byte {
	pcm := make([]byte, 2*int(d.Seconds()*8000))
	for i := range len(pcm) / 2 {
		s := int16(8192 * math.Sin(2*math.Pi*hz*float64(i)/8000))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(s))
	}
	return g711.EncodeUlaw(pcm)
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sipServer is a server that dials numbers through gateway.
func sipServer(t *testing.T, gateway string, mod ...func(*sip.Config)) (*testServer, *sip.Dialer) {
	t.Helper()
	cfg := sip.Config{Gateway: gateway, Listen: "127.0.0.1:0", Ports: sip.PortRange{Min: 20000, Max: 29999},
		Logger: testLogger()}
	for _, m := range mod {
		m(&cfg)
	}
	d, err := sip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(p *signaling.ServerParams) {
		p.Metrics = metrics.New()
		p.Calls.Dialer = d
		p.Calls.HelpTimeout = 10 * time.Second
	})
	d.Start(ts.Center(), ts.Server)
	t.Cleanup(func() { _ = d.Close() })
	return ts, d
}

// answeredPhone is a two-party call into which the agent has dialled a
// phone, sipp playing scenario, and the phone is seated: it returns the
// moment it was.
func answeredPhone(t *testing.T, scenario string, mod ...func(*sip.Config)) (*phone, *sip.Dialer, map[string]*peer.Peer, time.Time) {
	t.Helper()
	ph := startPhone(t, scenario)
	ts, d := sipServer(t, ph.addr, mod...)
	_, peers := ts.twoParty(t)
	since := time.Now()
	dialNumber(t, peers["agent"], "+15550100")
	thirdParty(t, peers["customer"], true, since)
	return ph, d, peers, time.Now()
}

// dialNumber has the agent ask for help from number.
func dialNumber(t *testing.T, agent *peer.Peer, number string) {
	t.Helper()
	if err := agent.Send(map[string]string{"type": "help.request", "mode": "number", "number": number}); err != nil {
		t.Fatal(err)
	}
}

// helpFailed waits for p's help.failed and returns its reason.
func helpFailed(t *testing.T, p *peer.Peer, within time.Duration) string {
	t.Helper()
	m, err := p.WaitFor(ctxFor(t, within), "help.failed", nil)
	if err != nil {
		t.Fatalf("no help.failed: %v", err)
	}
	return field(m, "reason")
}

// thirdParty waits for a call.state at p whose third party is (or, with
// present false, is not) there, and returns its name.
func thirdParty(t *testing.T, p *peer.Peer, present bool, since time.Time) string {
	t.Helper()
	var name string
	_, err := p.WaitFor(ctxFor(t, 10*time.Second), "call.state", func(m peer.Message) bool {
		var st struct {
			Parties []struct {
				Role  string `json:"role"`
				Name  string `json:"name"`
				Phone bool   `json:"phone"`
				Video bool   `json:"video"`
			} `json:"parties"`
		}
		if !m.At.After(since) || m.Decode(&st) != nil {
			return false
		}
		for _, party := range st.Parties {
			if party.Role == "third" {
				name = party.Name
				return present && party.Phone && !party.Video
			}
		}
		return !present
	})
	if err != nil {
		t.Fatalf("no call.state with the phone %s: %v", map[bool]string{true: "in", false: "gone"}[present], err)
	}
	return name
}

// The phone answers and plays its tone: the customer and the agent hear
// it, the phone shows as its masked number without video, and it counts
// as a party in /metrics. Maximizing is
// refused while it is in, as for any party without video.
func TestPhoneAnswersAndBothHearIt(t *testing.T) {
	ph := startPhone(t, "answer_tone.xml")
	ts, _ := sipServer(t, ph.addr)
	_, peers := ts.twoParty(t)
	since := time.Now()
	// This phone answers right after its 180, so whether the agent sees
	// `ringing` first is a race; TestCancelWhileRinging checks it on a
	// phone that keeps ringing.
	dialNumber(t, peers["agent"], "+49 30 1234 0100")
	if name := thirdParty(t, peers["customer"], true, since); name != "+49 •••• 0100" {
		t.Errorf("the phone shows as %q, want its masked number", name)
	}
	for _, role := range []string{"customer", "agent"} {
		others := []string{"customer", "agent", "third"}
		if err := waitFor(10*time.Second, hearsNow(peers[role], role, without(others, role))); err != nil {
			t.Error(err)
		}
	}
	if got := scrape(t, ts)[`threeway_parties{role="third"}`]; got != 1 {
		t.Errorf("threeway_parties{role=third} = %v, want 1", got)
	}
	since = time.Now()
	if err := peers["agent"].Send(map[string]string{"type": "layout.set", "mode": "maximize", "party": "customer"}); err != nil {
		t.Fatal(err)
	}
	if code := errorCode(t, peers["agent"], since); code != "video_not_enabled_for_all" {
		t.Errorf("maximize with a phone in the call: %q, want video_not_enabled_for_all", code)
	}
	// Dropping the phone sends its BYE, which ends sipp's scenario.
	if err := peers["agent"].Send(map[string]string{"type": "party.drop", "party": "third"}); err != nil {
		t.Fatal(err)
	}
	if err := ph.finished(t, 10*time.Second); err != nil {
		t.Errorf("the dropped phone was not hung up: %v", err)
	}
}

func without(all []string, one string) []string {
	var rest []string
	for _, s := range all {
		if s != one {
			rest = append(rest, s)
		}
	}
	return rest
}

// The phone hears the other two: it echoes what it receives (sipp's
// -rtp_echo), so the customer and the agent each hear their own tone
// come back through it, which mix-minus alone would never send them.
func TestPhoneHearsTheOtherTwo(t *testing.T) {
	ph := startPhone(t, "answer_echo.xml", "-rtp_echo")
	ts, _ := sipServer(t, ph.addr)
	_, peers := ts.twoParty(t)
	for role, other := range map[string]string{"customer": "agent", "agent": "customer"} {
		if err := waitFor(10*time.Second, hearsNow(peers[role], role, []string{other})); err != nil {
			t.Fatalf("before the phone: %v", err)
		}
	}
	since := time.Now()
	dialNumber(t, peers["agent"], "+15550100")
	thirdParty(t, peers["customer"], true, since)
	for _, role := range []string{"customer", "agent"} {
		// No own role: its own tone must be heard too, over fresh audio.
		fresh := hearsNow(peers[role], "", []string{"customer", "agent"})
		if err := waitFor(10*time.Second, fresh); err != nil {
			t.Errorf("%s, through the phone's echo: %v", role, err)
		}
		t.Logf("%s hears %v", role, peers[role].Stats().ToneDBFS)
	}
}

// A number that does not answer fails the request with the reason its
// final response (or its silence) gives, the phone's scenario ends as
// it should (the CANCEL of a number that rang out included), and no leg
// remains.
func TestDialFailures(t *testing.T) {
	tests := []struct {
		scenario string
		want     string
	}{
		{"busy.xml", "busy"},
		{"not_found.xml", "not_found"},
		{"no_answer.xml", "no_answer"}, // rings until the help timeout: CANCEL
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			ph := startPhone(t, tt.scenario)
			ts, d := sipServer(t, ph.addr)
			_, peers := ts.twoParty(t)
			dialNumber(t, peers["agent"], "+15550100")
			if got := helpFailed(t, peers["agent"], 20*time.Second); got != tt.want {
				t.Errorf("help.failed %q, want %q", got, tt.want)
			}
			if err := ph.finished(t, 10*time.Second); err != nil {
				t.Error(err)
			}
			if err := waitFor(5*time.Second, func() error { return legsLeft(d) }); err != nil {
				t.Error(err)
			}
		})
	}
}

// A gateway that says nothing fails the request with gateway_error
// within seconds, not at the help timeout.
func TestUnreachableGatewayFailsFast(t *testing.T) {
	ts, _ := sipServer(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(freeUDPPort(t))))
	_, peers := ts.twoParty(t)
	start := time.Now()
	dialNumber(t, peers["agent"], "+15550100")
	if got := helpFailed(t, peers["agent"], 9*time.Second); got != "gateway_error" {
		t.Errorf("help.failed %q, want gateway_error", got)
	}
	t.Logf("failed after %v", time.Since(start).Round(time.Millisecond))
}

func legsLeft(d *sip.Dialer) error {
	if n := d.Legs(); n != 0 {
		return fmt.Errorf("%d SIP legs remain", n)
	}
	return nil
}

// A gateway that asks for digest credentials (401, or 407 as a proxy)
// gets them: with the right password the phone answers; with a wrong one
// it refuses (403), which reaches the agent as gateway_error.
func TestDigestAuthentication(t *testing.T) {
	for _, tt := range []struct {
		scenario, password string
		answered           bool
	}{{"auth.xml", "s3cret", true}, {"auth.xml", "wrong", false}, {"proxy_auth.xml", "s3cret", true}} {
		t.Run(tt.scenario+"/"+tt.password, func(t *testing.T) {
			t.Parallel()
			ph := startPhone(t, tt.scenario)
			ts, _ := sipServer(t, ph.addr, func(c *sip.Config) { c.User, c.Password = "agent", tt.password })
			_, peers := ts.twoParty(t)
			since := time.Now()
			dialNumber(t, peers["agent"], "+15550100")
			if !tt.answered {
				if got := helpFailed(t, peers["agent"], 10*time.Second); got != "gateway_error" {
					t.Errorf("help.failed %q, want gateway_error", got)
				}
				if ph.finished(t, 10*time.Second) == nil {
					t.Error("sipp accepted the wrong password")
				}
				return
			}
			thirdParty(t, peers["agent"], true, since)
			if err := peers["agent"].Send(map[string]string{"type": "party.drop", "party": "third"}); err != nil {
				t.Fatal(err)
			}
			if err := ph.finished(t, 10*time.Second); err != nil {
				t.Error(err)
			}
		})
	}
}

// The phone hangs up (its BYE): the customer and the agent are told the
// new call.state and go on hearing each other, and its leg is gone.
func TestPhoneHangsUp(t *testing.T) {
	ph, d, peers, joined := answeredPhone(t, "hangup.xml")
	if err := ph.finished(t, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{"customer", "agent"} {
		thirdParty(t, peers[role], false, joined)
	}
	for role, other := range map[string]string{"customer": "agent", "agent": "customer"} {
		if err := waitFor(10*time.Second, hearsNow(peers[role], role, []string{other}, "third")); err != nil {
			t.Error(err)
		}
	}
	if err := waitFor(5*time.Second, func() error { return legsLeft(d) }); err != nil {
		t.Error(err)
	}
}

// The agent cancels while the phone rings: the phone gets the CANCEL
// (sipp's scenario passes only then) and no leg remains.
func TestCancelWhileRinging(t *testing.T) {
	ph := startPhone(t, "no_answer.xml")
	ts, d := sipServer(t, ph.addr)
	_, peers := ts.twoParty(t)
	dialNumber(t, peers["agent"], "+15550100")
	m, err := peers["agent"].WaitFor(ctxFor(t, 10*time.Second), "help.progress", func(m peer.Message) bool {
		return field(m, "state") == "ringing"
	})
	if err != nil {
		t.Fatalf("the phone did not ring: %v", err)
	}
	if err := peers["agent"].Send(map[string]string{"type": "help.cancel", "request": field(m, "request")}); err != nil {
		t.Fatal(err)
	}
	if got := helpFailed(t, peers["agent"], 5*time.Second); got != "cancelled" {
		t.Errorf("help.failed %q, want cancelled", got)
	}
	if err := ph.finished(t, 10*time.Second); err != nil {
		t.Errorf("the phone got no CANCEL: %v", err)
	}
	if err := waitFor(5*time.Second, func() error { return legsLeft(d) }); err != nil {
		t.Error(err)
	}
}

// A number outside the dial plan is refused before anything is sent:
// the gateway's socket receives not a packet.
func TestNumberOutsideTheDialPlanSendsNoInvite(t *testing.T) {
	gw, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ts, _ := sipServer(t, gw.LocalAddr().String())
	_, peers := ts.twoParty(t)
	for _, number := range []string{"+1900", "0900 123 456 789 0123"} {
		since := time.Now()
		dialNumber(t, peers["agent"], number)
		if code := errorCode(t, peers["agent"], since); code != "number_not_allowed" {
			t.Errorf("%s: %q, want number_not_allowed", number, code)
		}
	}
	_ = gw.SetReadDeadline(time.Now().Add(time.Second))
	if n, _, err := gw.ReadFrom(make([]byte, 1500)); err == nil {
		t.Errorf("the gateway received %d bytes", n)
	}
}

// Without a gateway a number is refused at once.
func TestNumberWithoutAGatewayIsRefused(t *testing.T) {
	ts := startServer(t)
	_, peers := ts.twoParty(t)
	since := time.Now()
	dialNumber(t, peers["agent"], "+15550100")
	if code := errorCode(t, peers["agent"], since); code != "sip_not_configured" {
		t.Errorf("%q, want sip_not_configured", code)
	}
}

// A phone that answers but sends no RTP is hung up after the RTP
// timeout: BYE goes out, and the others see it leave.
func TestSilentPhoneIsHungUp(t *testing.T) {
	ph, d, peers, joined := answeredPhone(t, "auth.xml", func(c *sip.Config) { // answers without media
		c.User, c.Password, c.RTPTimeout = "agent", "s3cret", 2*time.Second
	})
	thirdParty(t, peers["customer"], false, joined)
	if left := time.Since(joined); left < time.Second {
		t.Errorf("the phone left %v after joining, before its RTP timeout", left)
	}
	if err := ph.finished(t, 10*time.Second); err != nil {
		t.Errorf("the silent phone got no BYE: %v", err)
	}
	if err := waitFor(5*time.Second, func() error { return legsLeft(d) }); err != nil {
		t.Error(err)
	}
}

// A session timer (RFC 4028) that is not kept ends the leg: our refresh
// refused by the phone, or the phone's own refresh never coming. The
// phone leaves the call and gets a BYE; a refresh that succeeds keeps it.
func TestFailedSessionRefreshEndsTheLeg(t *testing.T) {
	for _, tt := range []struct {
		scenario string
		atLeast  time.Duration // the phone stays this long
	}{
		{"session_refresh.xml", 3 * time.Second}, // refreshed at 2 s, refused at 4 s
		{"session_expires.xml", 2 * time.Second}, // expires at 3 s
	} {
		t.Run(tt.scenario, func(t *testing.T) {
			t.Parallel()
			ph, _, peers, joined := answeredPhone(t, tt.scenario)
			thirdParty(t, peers["customer"], false, joined)
			if stayed := time.Since(joined); stayed < tt.atLeast {
				t.Errorf("the phone left after %v, want at least %v", stayed, tt.atLeast)
			}
			if err := ph.finished(t, 10*time.Second); err != nil {
				t.Error(err)
			}
		})
	}
}

// The agent's page lists the directory's contacts and hints the dial plan
// once the server has a gateway; picking a contact dials it, and the
// phone joins under its masked number for the agent's page and is heard
// by the customer.
func TestBrowserAgentDialsAContact(t *testing.T) {
	ph := startPhone(t, "answer_tone.xml")
	browser := startBrowser(t)
	if err := chromedp.Do(browser); err != nil {
		t.Fatal(err)
	}
	ts, _ := sipServer(t, ph.addr)
	c := ts.createCall(t, "Ann", "alice")
	customer := ts.join(t, c.Call, "customer", c.Customer.Token)
	agent := openTab(t, browser, c.Agent.URL) // the agent's link opens its console too
	click(t, agent, "#joinButton")
	pageHolds(t, agent, 20*time.Second, `threeway.state !== null && threeway.state.parties.length === 2`)
	pageHolds(t, agent, 10*time.Second, `threeway.directory !== null && threeway.directory.dialOut.enabled`)

	click(t, agent, "#btn-three-party")
	offered, err := chromedp.Run(agent, chromedp.Evaluate[string](`(() => {
		const mode = document.getElementById("help-mode");
		mode.value = "number";
		mode.dispatchEvent(new Event("change"));
		const contact = document.getElementById("help-contact");
		const names = Array.from(contact.options, o => o.textContent).join("|");
		contact.value = contact.options[1].value;
		contact.dispatchEvent(new Event("change"));
		return names + " / " + document.getElementById("help-number-hint").textContent +
			" / " + document.getElementById("help-number").value;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	want := "— type a number —|Supervisor desk (+49305550100)|Billing partner hotline (+49305550199) / " +
		call.DefaultDialHint + " / +49305550100"
	if offered != want {
		t.Errorf("the number field offers\n%q, want\n%q", offered, want)
	}
	click(t, agent, "#btn-help-request")
	pageHolds(t, agent, 20*time.Second, `threeway.state.parties.some(p => p.role === "third" && p.phone && p.name === "+49 •••• 0100")`)
	if err := waitFor(10*time.Second, hearsNow(customer, "customer", []string{"third"})); err != nil { // Chromium's fake microphone plays no peer tone
		t.Error(err)
	}
}

// The call ending hangs the phone up: once the customer and the agent
// have both left, the phone gets its BYE.
func TestCallEndHangsThePhoneUp(t *testing.T) {
	ph, d, peers, _ := answeredPhone(t, "answer_tone.xml")
	for _, role := range []string{"customer", "agent"} {
		if err := peers[role].Leave(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ph.finished(t, 10*time.Second); err != nil {
		t.Errorf("the phone was not hung up when the call ended: %v", err)
	}
	if err := waitFor(5*time.Second, func() error { return legsLeft(d) }); err != nil {
		t.Error(err)
	}
}
