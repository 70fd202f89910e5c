package main

import "testing"

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

func TestServeRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--canvas", "big"},
		{"serve", "--fps", "0"},
		{"serve", "--video-bitrate", "lots"},
		{"serve", "--udp-ports", "9-1"},
		{"serve", "--log-level", "loud"},
	} {
		cmd := rootCommand()
		cmd.SetArgs(args)
		if err := cmd.Execute(); err == nil {
			t.Errorf("threeway %v was accepted", args)
		}
	}
}
