package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/threeway-mcu/threeway/signaling"
)

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		w, h int
		ok   bool
	}{
		{"1280x720", 1280, 720, true},
		{"640X360", 640, 360, true},
		{"1281x720", 0, 0, false}, // odd
		{"8x8", 0, 0, false},
		{"1280", 0, 0, false},
		{"axb", 0, 0, false},
		{"7680x4320", 0, 0, false},
	} {
		w, h, err := parseSize(tt.in)
		if (err == nil) != tt.ok || w != tt.w || h != tt.h {
			t.Errorf("parseSize(%q) = %d, %d, %v", tt.in, w, h, err)
		}
	}
}

func TestParseBitrate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		kbps int
		ok   bool
	}{
		{"1200k", 1200, true},
		{"1.5m", 1500, true},
		{"800000", 800, true},
		{"10k", 0, false},
		{"fast", 0, false},
	} {
		kbps, err := parseBitrate(tt.in)
		if (err == nil) != tt.ok || kbps != tt.kbps {
			t.Errorf("parseBitrate(%q) = %d, %v", tt.in, kbps, err)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	for _, tt := range []struct {
		in     string
		lo, hi uint16
		ok     bool
	}{
		{"40000-40999", 40000, 40999, true},
		{"", 0, 0, true},
		{"5000", 0, 0, false},
		{"6000-5000", 0, 0, false},
		{"0-10", 0, 0, false},
		{"1-70000", 0, 0, false},
	} {
		lo, hi, err := parsePortRange(tt.in)
		if (err == nil) != tt.ok || lo != tt.lo || hi != tt.hi {
			t.Errorf("parsePortRange(%q) = %d, %d, %v", tt.in, lo, hi, err)
		}
	}
}

func TestParseTCPPort(t *testing.T) {
	for _, tt := range []struct {
		in   string
		port int
		ok   bool
	}{
		{"3478", 3478, true},
		{"0", 0, true},
		{"off", signaling.NoTCP, true},
		{"-1", 0, false},
		{"65536", 0, false},
		{"", 0, false},
	} {
		port, err := parseTCPPort(tt.in)
		if (err == nil) != tt.ok || port != tt.port {
			t.Errorf("parseTCPPort(%q) = %d, %v", tt.in, port, err)
		}
	}
}

func TestParsePublicIPs(t *testing.T) {
	for _, tt := range []struct {
		in []string
		ok bool
	}{
		{[]string{"203.0.113.7"}, true},
		{[]string{"203.0.113.7/10.0.0.5", "198.51.100.1/10.0.0.6"}, true},
		{[]string{"203.0.113.7/"}, false},
		{[]string{"host.example"}, false},
		{[]string{"2001:db8::1"}, false}, // media is IPv4 only
	} {
		if _, err := parsePublicIPs(tt.in); (err == nil) != tt.ok {
			t.Errorf("parsePublicIPs(%q): %v", tt.in, err)
		}
	}
}

// clearServeEnv keeps THREEWAY_* variables of the machine out of a test.
func clearServeEnv(t *testing.T) {
	for _, k := range []string{"THREEWAY_LISTEN", "THREEWAY_CANVAS", "THREEWAY_VIDEO_BITRATE", "THREEWAY_UDP_PORTS",
		"THREEWAY_UDP_PORT", "THREEWAY_TCP_PORT", "THREEWAY_PUBLIC_IP",
		"THREEWAY_LOG_LEVEL", "THREEWAY_DIRECTORY", "THREEWAY_API_KEY", "THREEWAY_SECRET", "THREEWAY_VIDEO_MODE",
		"THREEWAY_METRICS_LISTEN", "THREEWAY_ALLOWED_ORIGINS", "THREEWAY_DIAL_ALLOW", "THREEWAY_REDIS", "THREEWAY_NODE_ID",
		"THREEWAY_ADVERTISE_URL"} {
		t.Setenv(k, "")
	}
}

// runServe runs `threeway serve` with args whose context has already
// ended, so that flags that are all good start the server and stop it at
// once (nil), while a bad one fails before anything starts.
func runServe(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cmd := rootCommand()
	cmd.SetArgs(append([]string{"serve"}, args...))
	cmd.SetOut(io.Discard)
	return cmd.ExecuteContext(ctx)
}

// serveBase is a good serve command line: loopback only, free media
// ports, a secret.
var serveBase = []string{"--listen", "127.0.0.1:0", "--ice-interfaces", "lo", "--udp-port", "0", "--tcp-port", "0",
	"--secret", testSecret, "--log-level", "error"}

const testSecret = "a-test-secret-of-thirty-two-bytes!"

// Each bad flag is refused on its own, with an error naming it. The good
// command line they start from serves.
func TestServeRejectsBadFlags(t *testing.T) {
	clearServeEnv(t)
	dir := t.TempDir()
	badYAML := filepath.Join(dir, "bad.yaml")
	unknownSkill := filepath.Join(dir, "skill.yaml")
	if err := os.WriteFile(badYAML, []byte("queues: [\n  - {id: billing"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unknownSkill, []byte("queues: [{id: billing, name: Billing}]\nagents: [{id: ann, name: Ann, skills: [sales]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runServe(t, serveBase...); err != nil {
		t.Fatalf("the good command line %v: %v", serveBase, err)
	}
	withSIP := append(slices.Clone(serveBase), "--sip-gateway", "127.0.0.1:5060", "--sip-listen", "127.0.0.1:0")
	if err := runServe(t, withSIP...); err != nil {
		t.Fatalf("the good command line with a SIP gateway %v: %v", withSIP, err)
	}
	for _, tt := range []struct {
		name string
		args []string
		flag string // the error names it
	}{
		{"canvas", []string{"--canvas", "big"}, "--canvas"},
		{"odd canvas", []string{"--canvas", "1281x720"}, "--canvas"},
		{"fps zero", []string{"--fps", "0"}, "--fps"},
		{"fps too high", []string{"--fps", "61"}, "--fps"},
		{"fps not a number", []string{"--fps", "fast"}, "--fps"},
		{"bitrate", []string{"--video-bitrate", "lots"}, "--video-bitrate"},
		{"udp ports reversed", []string{"--udp-ports", "9-1"}, "--udp-ports"},
		{"udp port out of range", []string{"--udp-port", "70000"}, "--udp-port"},
		{"tcp port not a number", []string{"--tcp-port", "tcp"}, "--tcp-port"},
		{"public ip not an address", []string{"--public-ip", "example.com"}, "--public-ip"},
		{"log level", []string{"--log-level", "loud"}, "--log-level"},
		{"video mode", []string{"--video-mode", "p2p"}, "--video-mode"},
		{"video mode upper case", []string{"--video-mode", "MCU"}, "--video-mode"},
		{"help timeout too short", []string{"--help-timeout", "10ms"}, "--help-timeout"},
		{"help timeout not a duration", []string{"--help-timeout", "soon"}, "--help-timeout"},
		{"directory missing", []string{"--directory", filepath.Join(dir, "nope.yaml")}, "--directory"},
		{"directory bad YAML", []string{"--directory", badYAML}, "--directory"},
		{"directory skill of no queue", []string{"--directory", unknownSkill}, "--directory"},
		{"max calls negative", []string{"--max-calls", "-1"}, "--max-calls"},
		{"rejoin grace too short", []string{"--rejoin-grace", "0s"}, "--rejoin-grace"},
		{"secret too short", []string{"--secret", "s3cret"}, "--secret"},
		{"api key too short", []string{"--api-key", "key"}, "--api-key"},
		{"join timeout too short", []string{"--join-timeout", "0s"}, "--join-timeout"},
		{"media timeout too short", []string{"--media-timeout", "500ms"}, "--media-timeout"},
		{"token ttl too short", []string{"--token-ttl", "30s"}, "--token-ttl"},
		{"dial plan not a regexp", []string{"--dial-allow", "+49("}, "--dial-allow"},
		{"contact outside the dial plan", []string{"--dial-allow", `\+1[0-9]{10}`}, "--dial-allow"},
		{"sip gateway without a port", []string{"--sip-gateway", "127.0.0.1"}, "--sip-gateway"},
		{"sip from without a host", []string{"--sip-gateway", "127.0.0.1:5060", "--sip-from", "sip:"}, "--sip-gateway"},
		{"rtp ports not a range", []string{"--sip-gateway", "127.0.0.1:5060", "--rtp-ports", "16384"}, "--rtp-ports"},
		{"rtp timeout too short", []string{"--sip-gateway", "127.0.0.1:5060", "--sip-rtp-timeout", "10ms"}, "--sip-rtp-timeout"},
		{"drain negative", []string{"--drain", "-1s"}, "--drain"},
		{"listen", []string{"--listen", "127.0.0.1:99999"}, "--listen"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := runServe(t, append(slices.Clone(serveBase), tt.args...)...)
			if err == nil {
				t.Fatalf("threeway serve %v was accepted", tt.args)
			}
			t.Logf("%v", err)
			if !strings.Contains(err.Error(), tt.flag) {
				t.Errorf("threeway serve %v: %q does not name %s", tt.args, err, tt.flag)
			}
		})
	}
	// Without --secret (and without --demo) nothing can sign tokens.
	noSecret := slices.DeleteFunc(slices.Clone(serveBase), func(a string) bool { return a == "--secret" || a == testSecret })
	if err := runServe(t, noSecret...); err == nil || !strings.Contains(err.Error(), "--secret") {
		t.Errorf("serve without a secret: %v, want an error naming --secret", err)
	}
}
