package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/threeway-mcu/threeway/metrics"
	"github.com/threeway-mcu/threeway/signaling/sip"
)

// sipOptions are the flags of SIP dial-out; without --sip-gateway the
// server dials nothing and refuses numbers with sip_not_configured.
type sipOptions struct {
	gateway, listen, from string
	user, password        string
	rtpPorts              string
	rtpTimeout            time.Duration
}

func (o *sipOptions) flags(f *pflag.FlagSet) {
	f.StringVar(&o.gateway, "sip-gateway", os.Getenv("THREEWAY_SIP_GATEWAY"), "host:port of the SIP gateway external numbers are dialled through, over UDP (unset: numbers are refused with sip_not_configured)")
	f.StringVar(&o.listen, "sip-listen", envOr("THREEWAY_SIP_LISTEN", ":5060"), "local SIP address over UDP; with no host, the address that reaches the gateway")
	f.StringVar(&o.from, "sip-from", envOr("THREEWAY_SIP_FROM", "threeway"), "who dial-outs come from: a SIP URI (sip:cc@example.com) or a user name at the local address")
	f.StringVar(&o.user, "sip-user", os.Getenv("THREEWAY_SIP_USER"), "digest user name, for a gateway that challenges (401/407)")
	f.StringVar(&o.password, "sip-password", os.Getenv("THREEWAY_SIP_PASSWORD"), "digest password; prefer THREEWAY_SIP_PASSWORD, which ps does not show")
	f.StringVar(&o.rtpPorts, "rtp-ports", envOr("THREEWAY_RTP_PORTS", fmt.Sprintf("%d-%d", sip.DefaultPorts.Min, sip.DefaultPorts.Max)), "UDP port range of the phones' RTP")
	f.DurationVar(&o.rtpTimeout, "sip-rtp-timeout", sip.DefaultRTPTimeout, "how long an answered phone may send no RTP before its leg is ended")
}

// dialer opens the SIP user agent, or returns nil without a gateway.
func (o sipOptions) dialer(log *slog.Logger, m *metrics.Metrics) (*sip.Dialer, error) {
	if o.gateway == "" {
		return nil, nil
	}
	lo, hi, err := parsePortRange(o.rtpPorts)
	if err != nil || lo == 0 {
		return nil, fmt.Errorf("--rtp-ports %q: want MIN-MAX (%v)", o.rtpPorts, err)
	}
	if o.rtpTimeout < time.Second {
		return nil, fmt.Errorf("--sip-rtp-timeout %v: want at least 1s", o.rtpTimeout)
	}
	d, err := sip.New(sip.Config{Gateway: o.gateway, Listen: o.listen, From: o.from, User: o.user, Password: o.password,
		Ports: sip.PortRange{Min: int(lo), Max: int(hi)}, RTPTimeout: o.rtpTimeout, Logger: log, Discarded: m.PacketDiscarded})
	if err != nil {
		return nil, fmt.Errorf("--sip-gateway: %w", err)
	}
	return d, nil
}
