package netcond

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSpec is a spec Parse cannot read; the error wrapping it says where.
var ErrSpec = errors.New("netcond: bad spec")

// keys are the spec's keys, in String's order.
var keys = []string{"loss", "burst", "rtploss", "delay", "jitter", "rate", "queue", "outage", "udp", "seed"}

// Parse reads a spec: comma-separated key=value conditions, any
// combination, e.g. "loss=5%,delay=20ms,jitter=30ms", "rate=400kbit",
// "outage=3s@10s", "burst=4@2%", "udp=off". The keys:
//
//	loss=P%        Loss
//	burst=N@P%     Burst: N datagrams lost in a row, starting with probability P%
//	rtploss=P%     RTPLoss
//	delay=D        Delay (a Go duration: 20ms, 1.5s)
//	jitter=D       Jitter
//	rate=Nkbit     Rate, in bit, kbit or mbit per second
//	queue=D        Queue (needs rate)
//	outage=D@T     an outage of D from T after the start; may repeat
//	udp=off|on     UDPOff
//	seed=N         Seed
//
// A key given twice takes its later value, but for outage, whose windows
// add up; so joining two specs with a comma refines the first with the
// second. "" (or "none") is a perfect path.
func Parse(spec string) (Conditions, error) {
	var c Conditions
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "none" {
		return c, nil
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		key, value, ok := strings.Cut(part, "=")
		if !ok || value == "" {
			return Conditions{}, fmt.Errorf("%w: %q is not key=value (keys: %s)", ErrSpec, part, strings.Join(keys, ", "))
		}
		if err := c.set(strings.TrimSpace(key), strings.TrimSpace(value)); err != nil {
			return Conditions{}, fmt.Errorf("%w: %s: %w", ErrSpec, part, err)
		}
	}
	if c.Queue != 0 && c.Rate == 0 {
		return Conditions{}, fmt.Errorf("%w: queue=%v without a rate to queue for", ErrSpec, c.Queue)
	}
	return c, nil
}

// set applies one key=value.
func (c *Conditions) set(key, value string) error {
	var err error
	switch key {
	case "loss":
		c.Loss, err = parseShare(value)
	case "rtploss":
		c.RTPLoss, err = parseShare(value)
	case "burst":
		c.Burst, err = parseBurst(value)
	case "delay":
		c.Delay, err = parseDuration(value, false)
	case "jitter":
		c.Jitter, err = parseDuration(value, false)
	case "rate":
		c.Rate, err = parseRate(value)
	case "queue":
		c.Queue, err = parseDuration(value, true)
	case "outage":
		var o Outage
		if o, err = parseOutage(value); err == nil {
			c.Outages = append(c.Outages, o)
		}
	case "udp":
		switch value {
		case "off":
			c.UDPOff = true
		case "on":
			c.UDPOff = false
		default:
			err = errors.New("want udp=off or udp=on")
		}
	case "seed":
		c.Seed, err = strconv.ParseUint(value, 10, 64)
		if err != nil {
			err = errors.New("want a whole number")
		}
	default:
		err = fmt.Errorf("unknown key %q (keys: %s)", key, strings.Join(keys, ", "))
	}
	return err
}

// parseShare reads a percentage, "5%" or "0.5%", as a share 0..1.
func parseShare(s string) (float64, error) {
	num, ok := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || v < 0 || v > 100 {
		return 0, fmt.Errorf("want a percentage from 0%% to 100%%, like 5%%, not %q", s)
	}
	return v / 100, nil
}

// parseBurst reads "4@2%".
func parseBurst(s string) (Burst, error) {
	n, p, ok := strings.Cut(s, "@")
	length, err := strconv.Atoi(n)
	if !ok || err != nil || length < 1 {
		return Burst{}, fmt.Errorf("want N@P%%, N datagrams lost in a row (at least 1) starting with probability P%%, like 4@2%%, not %q", s)
	}
	prob, err := parseShare(p)
	if err != nil {
		return Burst{}, err
	}
	return Burst{Len: length, Prob: prob}, nil
}

// parseDuration reads a Go duration, not negative (and not zero if
// positive is set).
func parseDuration(s string, positive bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("want a duration like 20ms or 1.5s, not %q", s)
	case d < 0, positive && d == 0:
		return 0, fmt.Errorf("duration %v out of range", d)
	}
	return d, nil
}

// parseRate reads "400kbit", "2mbit" or "64000bit".
func parseRate(s string) (int64, error) {
	units := []struct {
		suffix string
		scale  float64
	}{{"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v*u.scale < 1 || v*u.scale > 1e12 {
				break
			}
			return int64(v*u.scale + 0.5), nil
		}
	}
	return 0, fmt.Errorf("want bits per second like 400kbit, 2mbit or 64000bit, not %q", s)
}

// parseOutage reads "3s@10s": 3 s from 10 s on.
func parseOutage(s string) (Outage, error) {
	d, at, ok := strings.Cut(s, "@")
	if !ok {
		return Outage{}, fmt.Errorf("want D@T, an outage of D from T after the start, like 3s@10s, not %q", s)
	}
	length, err := parseDuration(d, true)
	if err != nil {
		return Outage{}, err
	}
	start, err := parseDuration(at, false)
	if err != nil {
		return Outage{}, err
	}
	return Outage{At: start, For: length}, nil
}
