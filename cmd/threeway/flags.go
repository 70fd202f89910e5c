package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/threeway-mcu/threeway/signaling"
)

// parseSize reads "1280x720".
func parseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(s), "x")
	if ok {
		w, err = strconv.Atoi(ws)
	}
	if ok && err == nil {
		h, err = strconv.Atoi(hs)
	}
	if !ok || err != nil || w < 16 || h < 16 || w > 3840 || h > 2160 || w%2 != 0 || h%2 != 0 {
		return 0, 0, fmt.Errorf("size %q: want WIDTHxHEIGHT, even, from 16x16 to 3840x2160", s)
	}
	return w, h, nil
}

// parseBitrate reads "1200k", "1.5m" or "800000" as kilobits per second.
func parseBitrate(s string) (kbps int, err error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := 0.001
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1000, strings.TrimSuffix(s, "m")
	}
	v, err := strconv.ParseFloat(s, 64)
	kbps = int(v * mult)
	if err != nil || kbps < 50 || kbps > 20000 {
		return 0, fmt.Errorf("bitrate %q: want e.g. 1200k, between 50k and 20m", s)
	}
	return kbps, nil
}

// parsePortRange reads "40000-40999".
func parsePortRange(s string) (lo, hi uint16, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	l, err1 := strconv.ParseUint(a, 10, 16)
	h, err2 := strconv.ParseUint(b, 10, 16)
	if !ok || err1 != nil || err2 != nil || l == 0 || l > h {
		return 0, 0, fmt.Errorf("udp ports %q: want LOW-HIGH, e.g. 40000-40999", s)
	}
	return uint16(l), uint16(h), nil
}

// parseTCPPort reads the ICE-TCP port: a number, or "off".
func parseTCPPort(s string) (int, error) {
	if s == "off" {
		return signaling.NoTCP, nil
	}
	port, err := strconv.Atoi(s)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("%q: want 0 (a free port) to 65535, or off", s)
	}
	return port, nil
}

// parsePublicIPs checks each address of a 1:1 NAT: "PUBLIC", or
// "PUBLIC/PRIVATE" for the private address it stands for.
func parsePublicIPs(list []string) ([]string, error) {
	var out []string
	for _, s := range list {
		s = strings.TrimSpace(s)
		public, private, pinned := strings.Cut(s, "/")
		if net.ParseIP(public).To4() == nil || pinned && net.ParseIP(private).To4() == nil {
			return nil, fmt.Errorf("%q: want an IPv4 address, or PUBLIC/PRIVATE", s)
		}
		out = append(out, s)
	}
	return out, nil
}
