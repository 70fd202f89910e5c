package peer

import (
	"fmt"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// SetNetwork changes what the party's network does to its packets, each
// way, on the live leg at once and on every leg after (see
// Config.Network). Outage windows still count from each leg's `joined`,
// so an outage the live leg has passed does not come back. A leg gathers
// ICE-TCP only if UDP was off as it started, so turning UDP off on a live
// leg cuts its media until the next leg.
func (p *Peer) SetNetwork(c netcond.Conditions) {
	p.mu.Lock()
	p.network = c
	l := p.leg
	p.mu.Unlock()
	if l != nil && !l.isEnded() {
		l.setNetwork(c)
	}
}

// SetInboundLoss makes the current leg lose that share (0 to 1) of the
// RTP packets it receives, at random, on top of its network conditions,
// as a lossy downlink would; STUN, DTLS and RTCP are never lost to it
// (netcond's RTPLoss). Stats.InboundDropped counts the losses.
// Recovering from them is up to NACKs and PLIs.
func (p *Peer) SetInboundLoss(rate float64) error {
	return p.setRTPLoss(rate, true)
}

// SetOutboundLoss makes the current leg lose that share (0 to 1) of the
// RTP packets it sends, as a lossy uplink would; STUN, DTLS and RTCP
// always go out. The server is then expected to NACK what it missed.
func (p *Peer) SetOutboundLoss(rate float64) error {
	return p.setRTPLoss(rate, false)
}

// setRTPLoss sets the current leg's RTP loss one way.
func (p *Peer) setRTPLoss(rate float64, in bool) error {
	if rate < 0 || rate > 1 {
		return fmt.Errorf("%w: loss rate %v out of 0..1", ErrConfig, rate)
	}
	l := p.currentLeg()
	if l == nil {
		return ErrNotInCall
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended || l.sock == nil {
		return ErrNotInCall
	}
	if in {
		l.rtpLoss.in = rate
	} else {
		l.rtpLoss.out = rate
	}
	l.applyNetworkLocked()
	return nil
}

// setNetwork sets the leg's conditions and applies them.
func (l *leg) setNetwork(c netcond.Conditions) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.network = c
	l.applyNetworkLocked()
}

// conditions returns the leg's conditions, for its network's making.
func (l *leg) conditions() netcond.Conditions {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.network
}

// applyNetworkLocked hands the leg's conditions, with the RTP loss of
// each way added, to its network. l.mu must be held.
func (l *leg) applyNetworkLocked() {
	if l.sock == nil {
		return
	}
	in, out := l.network, l.network
	in.RTPLoss = bothLose(in.RTPLoss, l.rtpLoss.in)
	out.RTPLoss = bothLose(out.RTPLoss, l.rtpLoss.out)
	l.sock.net.Set(in, out)
}

// bothLose is the share lost to two independent losses.
func bothLose(a, b float64) float64 {
	return 1 - (1-a)*(1-b)
}
