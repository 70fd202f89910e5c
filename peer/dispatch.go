package peer

// act does what a browser client does on a server message.
func (p *Peer) act(msg serverMessage) {
	switch msg.Type {
	case "joined":
		p.onJoinedSeat(msg.Token)
		p.onJoined(msg.Call, msg.Role)
		if p.cfg.ViewWidth > 0 && p.cfg.ViewHeight > 0 {
			if err := p.Send(map[string]any{"type": "view.size", "width": p.cfg.ViewWidth, "height": p.cfg.ViewHeight}); err != nil {
				p.log.Warn("view.size", "err", err)
			}
		}
	case "left":
		p.log.Debug("left the call", "reason", msg.Reason)
		p.onLeft(msg.Reason)
	case "error":
		p.log.Debug("server error", "code", msg.Code, "message", msg.Message)
		serr := &ServerError{Code: msg.Code, Message: msg.Message}
		p.onServerError(serr)
		p.rejoinRefused(serr)
	case "answer":
		if l := p.liveLeg(); l != nil {
			l.applyAnswer(msg.SDP)
		} else {
			p.log.Warn("answer without a live leg ignored")
		}
	case "candidate":
		if msg.Candidate == nil || msg.Candidate.Candidate == "" {
			break // the end of the server's gathering needs nothing
		}
		if l := p.liveLeg(); l != nil {
			l.addRemoteCandidate(*msg.Candidate)
		} else {
			p.log.Debug("candidate without a live leg ignored")
		}
	case "help.offer":
		if p.cfg.AutoAccept {
			if err := p.Send(map[string]string{"type": "help.accept", "request": msg.Request}); err != nil {
				p.log.Warn("auto-accept", "request", msg.Request, "err", err)
			}
		}
	case "send.limits":
		if l := p.liveLeg(); l != nil && !p.cfg.IgnoreSendLimits {
			l.limitCamera(msg.Width, msg.Height, msg.FPS)
		}
	case "share.stopped":
		// The server ended our share (or we did): stop the screen track
		// as a browser's page would.
		if l := p.liveLeg(); l != nil && msg.Party == l.role {
			if _, err := l.removeScreen(); err != nil {
				p.log.Warn("stop the screen track", "err", err)
			}
		}
	}
}

// onServerError fails a leg whose media is still being negotiated: before
// the media is up, a refusal (e.g. negotiation_failed) ends the setup;
// afterwards it is only recorded.
func (p *Peer) onServerError(serr *ServerError) {
	if l := p.currentLeg(); l != nil && l.negotiating() {
		l.fail(serr)
	}
}
