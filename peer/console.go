package peer

import "context"

// SignIn makes this socket the console of the agent whose token it sends
// ({"type":"agent.signin","token":token}). It returns once the server
// sends the agent's `presence`, or the server's refusal as a *ServerError.
// Help offers then arrive as `help.offer` messages (WaitFor), to answer
// with Accept or Reject, or automatically with Config.AutoAccept.
func (p *Peer) SignIn(ctx context.Context, token string) error {
	from := p.sig.mark()
	if err := p.Send(map[string]string{"type": "agent.signin", "token": token}); err != nil {
		return err
	}
	return p.sig.await(ctx, "presence", func() (bool, error) {
		for _, m := range p.sig.scan(&from) {
			switch m.Type {
			case "presence":
				p.rememberSignIn(token)
				return true, nil
			case "error":
				return true, m.serverError()
			}
		}
		return false, nil
	})
}

// Accept accepts the help offer request ({"type":"help.accept"}). The
// server then makes this socket the call's third party and sends `joined`;
// the peer starts its media as after Join. Accept returns once that media
// is connected, or the server's refusal (a *ServerError), or ErrLeft if
// the leg ended first. If ctx ends while the media is still connecting,
// the leg goes on connecting.
func (p *Peer) Accept(ctx context.Context, request string) error {
	from := p.sig.mark()
	if err := p.Send(map[string]string{"type": "help.accept", "request": request}); err != nil {
		return err
	}
	return p.awaitLeg(ctx, from, answersRequest(request))
}

// Reject declines the help offer request ({"type":"help.reject"}). The
// protocol acknowledges a reject with nothing, so Reject returns once the
// message is sent; a refusal arrives later as an `error` naming the
// request (WaitFor).
func (p *Peer) Reject(ctx context.Context, request string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.Send(map[string]string{"type": "help.reject", "request": request})
}

// answersRequest matches an `error` that refuses a message about request:
// one naming it, or one naming no request at all.
func answersRequest(request string) func(Message) bool {
	return func(m Message) bool {
		r := m.Field("request")
		return r == "" || r == request
	}
}
