package peer

import (
	"context"
	"fmt"
	"slices"
)

// currentLeg returns the current or last leg, nil before the first.
func (p *Peer) currentLeg() *leg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leg
}

// liveLeg returns the current leg unless it has ended.
func (p *Peer) liveLeg() *leg {
	l := p.currentLeg()
	if l == nil || l.isEnded() {
		return nil
	}
	return l
}

// openLegs returns the legs whose sockets are still open.
func (p *Peer) openLegs() []*leg {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.legs)
}

// onJoined starts a new leg of call in role (Config.Role if the message
// named none), ending one still running.
func (p *Peer) onJoined(call, role string) {
	if role == "" {
		role = p.cfg.Role
	}
	if old := p.currentLeg(); old != nil {
		p.endLeg(old, "replaced by a new leg")
	}
	p.startLeg(call, role)
}

// onLeft ends the current leg: the server ended this party's leg. The
// socket stays.
func (p *Peer) onLeft(reason string) {
	if l := p.currentLeg(); l != nil {
		p.endLeg(l, "left: "+reason)
	}
}

// startLeg registers a new leg and negotiates its media. Only the read
// loop calls it, so Close (which waits for the read loop before closing
// legs) never misses one.
func (p *Peer) startLeg(call, role string) {
	if p.tasks.isStopped() {
		return
	}
	joinedAt := p.sig.mark() // the joined being handled
	p.mu.Lock()
	l := newLeg(p, call, role, joinedAt, p.network)
	p.leg = l
	p.legs = append(p.legs, l)
	p.mu.Unlock()
	p.changes.notify()
	p.log.Debug("media leg starts", "as", role)
	if err := l.build(); err != nil {
		l.fail(err)
		p.endLeg(l, "setup failed")
	}
}

// endLeg ends l (leg.end) and forgets it once its socket is closed. A
// failure to close is only logged: the leg is over either way.
func (p *Peer) endLeg(l *leg, reason string) {
	open, err := l.end(reason)
	if err != nil {
		p.log.Debug("end leg", "reason", reason, "err", err)
	}
	if !open {
		p.forget(l)
	}
}

// closeLeg ends l and closes its socket even if silenced (for Close).
func (p *Peer) closeLeg(l *leg) error {
	err := l.close()
	p.forget(l)
	return err
}

// forget drops l from the legs whose sockets are open.
func (p *Peer) forget(l *leg) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.legs = slices.DeleteFunc(p.legs, func(x *leg) bool { return x == l })
}

// legJoinedAt returns the leg the `joined` message at index i started.
func (p *Peer) legJoinedAt(i int) *leg {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leg != nil && p.leg.joinedAt == i {
		return p.leg
	}
	for _, l := range p.legs {
		if l.joinedAt == i {
			return l
		}
	}
	return nil
}

// awaitLeg waits, from message index from on, for a `joined` and then for
// the leg it started to connect. An `error` for which refusal returns true
// before that is returned as a *ServerError.
func (p *Peer) awaitLeg(ctx context.Context, from int, refusal func(Message) bool) error {
	var l *leg
	return p.sig.await(ctx, "joined and connected", func() (bool, error) {
		if l == nil {
			var err error
			if l, err = p.joinedLeg(&from, refusal); l == nil {
				return err != nil, err
			}
		}
		return l.connection()
	})
}

// joinedLeg looks through the log from *from on for a `joined`, and returns
// the leg it started, or an `error` for which refusal returns true.
func (p *Peer) joinedLeg(from *int, refusal func(Message) bool) (*leg, error) {
	for i, m := range p.sig.scan(from) {
		switch m.Type {
		case "error":
			if refusal(m) {
				return nil, m.serverError()
			}
		case "joined":
			if l := p.legJoinedAt(i); l != nil {
				return l, nil
			}
			return nil, fmt.Errorf("peer: joined: %w", ErrClosed)
		}
	}
	return nil, nil
}
