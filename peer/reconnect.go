package peer

import (
	"context"
	"time"
)

// Config.Reconnect makes a Peer behave as the browser page does when its
// WebSocket drops: it dials again, with backoff, signs its console in
// again and takes its seat back with the token `joined` gave it, within
// the server's rejoin grace. The dropped socket's leg ends at once (the
// server has closed its media); the seat's new `joined` starts a new one.

const (
	redialFirst = 100 * time.Millisecond
	redialMax   = 2 * time.Second
	// rejoinRetry is how soon a rejoin refused with role_taken is tried
	// again: the server has not yet seen the old socket go (a half-open
	// one gives way once its media is lost, about a second later).
	rejoinRetry = 500 * time.Millisecond
	// rejoinTries bounds those retries to about the default grace.
	rejoinTries = 60
)

// comeback is what a new socket sends to take up where a dropped one was.
// The Peer's mu guards it.
type comeback struct {
	signIn string // the agent token the console signed in with, "" if none
	token  string // the seat token of the latest `joined`
	seat   *seat  // the seat being taken back, nil if none
	tries  int    // rejoins of seat refused with role_taken so far
}

// seat is a party's place in a call, and the token that takes it back.
type seat struct{ call, role, token string }

// rememberSignIn keeps the console's agent token for a new socket.
func (p *Peer) rememberSignIn(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.back.signIn = token
}

// socketDropped is the read loop's hook for a socket that failed while the
// Peer lives: without Config.Reconnect it reports false (the read loop
// ends); with it, it ends the leg, dials again until it succeeds or the
// Peer closes, and sends what takes the console and the seat back.
func (p *Peer) socketDropped(err error) bool {
	if !p.cfg.Reconnect || p.tasks.isStopped() { // Close closed it
		return false
	}
	p.log.Debug("websocket dropped: dialing again", "err", err)
	p.sig.socket().CloseNow()
	if l := p.liveLeg(); l != nil {
		p.mu.Lock()
		token := p.back.token
		if token == "" && l.role == p.cfg.Role {
			token = p.cfg.Token
		}
		p.back.seat, p.back.tries = &seat{call: l.call, role: l.role, token: token}, 0
		p.mu.Unlock()
		p.endLeg(l, "socket dropped")
	}
	if !p.redial() {
		return false
	}
	p.mu.Lock()
	signIn := p.back.signIn
	p.mu.Unlock()
	if signIn != "" {
		if err := p.Send(map[string]string{"type": "agent.signin", "token": signIn}); err != nil {
			p.log.Debug("sign in again", "err", err)
		}
	}
	p.sendRejoin()
	return true
}

// redial dials the server until it answers (true) or the Peer closes.
func (p *Peer) redial() bool {
	wait := redialFirst
	for {
		ctx, cancel := context.WithTimeout(p.ctx, writeTimeout)
		ws, err := dial(ctx, p.redialURL())
		cancel()
		if err == nil && p.tasks.isStopped() {
			ws.CloseNow()
			return false
		}
		if err == nil {
			p.sig.replace(ws)
			return true
		}
		p.log.Debug("redial", "err", err)
		t := time.NewTimer(wait)
		select {
		case <-p.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, redialMax)
	}
}

// redialURL is the socket to dial again: with the call of the seat to
// take back, so that any node of a cluster passes it to the call's node
// (a helper's console that accepted a call on another node is there).
func (p *Peer) redialURL() string {
	cfg := p.cfg
	p.mu.Lock()
	if s := p.back.seat; s != nil {
		cfg.Call = s.call
	}
	p.mu.Unlock()
	return socketURL(cfg)
}

// sendRejoin sends the join that takes the seat back, if one is wanted.
func (p *Peer) sendRejoin() {
	p.mu.Lock()
	s := p.back.seat
	p.mu.Unlock()
	if s == nil {
		return
	}
	err := p.Send(map[string]string{"type": "join", "call": s.call, "role": s.role,
		"name": p.cfg.Name, "token": s.token})
	if err != nil {
		p.log.Debug("rejoin", "err", err)
	}
}

// onJoinedSeat notes a new leg's seat token, and that a rejoin succeeded.
func (p *Peer) onJoinedSeat(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.back.token, p.back.seat = token, nil
}

// rejoinRefused handles a refusal while a seat is being taken back: on
// role_taken the join is tried again a little later; anything else
// (call_ended, unauthorized) means the seat is gone.
func (p *Peer) rejoinRefused(serr *ServerError) {
	p.mu.Lock()
	s := p.back.seat
	retry := s != nil && serr.Code == "role_taken" && p.back.tries < rejoinTries
	if retry {
		p.back.tries++
	} else {
		p.back.seat = nil
	}
	p.mu.Unlock()
	if s == nil {
		return
	}
	if !retry {
		p.log.Warn("the seat could not be taken back", "call", s.call, "role", s.role, "err", serr)
		return
	}
	p.tasks.spawn(func() {
		t := time.NewTimer(rejoinRetry)
		defer t.Stop()
		select {
		case <-p.ctx.Done():
		case <-t.C:
			p.sendRejoin()
		}
	})
}
