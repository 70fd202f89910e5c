package peer

import (
	"context"
)

// SetVideo turns the camera on or off: it sends {"type":"video.set"} and
// really stops or resumes the camera's frames. While off nothing is sent
// on the video track, as a browser that replaced its track with null; the
// first frame after is a key frame. Turning off stops the frames after the
// message is sent, turning on resumes them before, so the server never
// shows a frozen picture. Each new leg starts with the camera on.
func (p *Peer) SetVideo(on bool) error {
	return p.setSource(func(l *leg) *source { return &l.out.camera }, "video.set", on)
}

// SetAudio turns the microphone on or off like SetVideo: {"type":
// "audio.set"}, and no audio packets while off.
func (p *Peer) SetAudio(on bool) error {
	return p.setSource(func(l *leg) *source { return &l.out.mic }, "audio.set", on)
}

func (p *Peer) setSource(of func(*leg) *source, typ string, on bool) error {
	l := p.liveLeg()
	if on && l != nil {
		of(l).off.Store(false)
	}
	err := p.Send(map[string]any{"type": typ, "on": on})
	if !on && l != nil {
		of(l).off.Store(true)
	}
	return err
}

// Stall stops (true) or resumes (false) sending media packets (camera,
// microphone and any other track) without a word to the server, as a
// party whose uplink stalled:
// the socket, ICE and RTCP go on, so the server still sees the party
// connected. After a stall the camera resumes with a key frame. It applies
// to the current leg; ErrNotInCall without one.
func (p *Peer) Stall(stalled bool) error {
	l := p.liveLeg()
	if l == nil {
		return ErrNotInCall
	}
	l.out.stalled.Store(stalled)
	return nil
}

// SendGarbage switches the camera to random bytes in place of VP8 frames
// (true), every other one behind a valid key frame header so that the
// server's decoder meets them, or back to the pattern (false), which
// resumes with its next key frame when the server asks for one. It applies
// to the current leg; ErrNotInCall without one. Config.GarbageVideo
// starts a leg this way.
func (p *Peer) SendGarbage(on bool) error {
	if on {
		return p.SetCameraFault(FaultGarbage)
	}
	return p.SetCameraFault(NoFault)
}

// SetCameraFault makes the camera misbehave as f says, or, with NoFault,
// go back to its pattern, which resumes with its next key frame when the
// server asks for one. It applies to the current leg; ErrNotInCall
// without one.
func (p *Peer) SetCameraFault(f CameraFault) error {
	l := p.liveLeg()
	if l == nil {
		return ErrNotInCall
	}
	l.out.fault.Store(int32(f))
	return nil
}

// RequestKeyframe sends the server a PLI for the picture this peer
// receives, as a browser does after loss (at most once per 500 ms, like
// the peer's own requests). It returns ErrNotInCall before the picture's
// first packet.
func (p *Peer) RequestKeyframe() error {
	l := p.currentLeg()
	if l == nil {
		return ErrNotInCall
	}
	pc, ssrc := l.mainTrack()
	if pc == nil || ssrc == 0 {
		return ErrNotInCall
	}
	l.requestKeyframe(pc, ssrc)
	return nil
}

// AddVideoTrack adds another video track carrying pattern's colour (a
// role, or ScreenKey) with the frame-number code, and renegotiates,
// without asking the server anything first: a client that sends more than
// it was allowed to, for tests of the server. It returns once the
// server's answer is applied, or the server's refusal.
func (p *Peer) AddVideoTrack(ctx context.Context, pattern string) error {
	l := p.liveLeg()
	if l == nil {
		return ErrNotInCall
	}
	from := p.sig.mark()
	gen, err := l.addExtraTrack(pattern)
	if err != nil {
		return err
	}
	return p.awaitNegotiated(ctx, "the extra track's negotiation", l, from, gen)
}

// StartShare shares a synthetic screen: it sends {"type":"share.start"}
// and, once the server accepts (a `call.state` whose share is this
// party), adds a second VP8 track (its own stream) carrying the "screen"
// pattern (RoleColor("screen"), yellow, with the frame-number code) and
// renegotiates: a new offer, the server's answer applied. It returns then,
// or the server's refusal as a *ServerError (e.g. video_not_enabled_for_all,
// share_in_progress), or ErrNotInCall without a live leg.
func (p *Peer) StartShare(ctx context.Context) error {
	role := p.Role()
	from := p.sig.mark()
	if err := p.Send(map[string]string{"type": "share.start"}); err != nil {
		return err
	}
	err := p.sig.await(ctx, "the share to start", func() (bool, error) {
		for _, m := range p.sig.scan(&from) {
			switch m.Type {
			case "error":
				return true, m.serverError()
			case "call.state":
				if sharer(m) == role {
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		return err
	}
	l := p.liveLeg()
	if l == nil {
		return ErrNotInCall
	}
	from = p.sig.mark()
	gen, err := l.addScreen()
	if err != nil {
		return err
	}
	return p.awaitNegotiated(ctx, "the screen track's negotiation", l, from, gen)
}

// awaitNegotiated waits until l has applied the answer covering track
// generation gen, or an `error` from message index from on refuses it.
func (p *Peer) awaitNegotiated(ctx context.Context, what string, l *leg, from, gen int) error {
	return p.sig.await(ctx, what, func() (bool, error) {
		for _, m := range p.sig.scan(&from) {
			if m.Type == "error" {
				return true, m.serverError()
			}
		}
		return l.negotiated(gen)
	})
}

// StopShare stops sharing: it sends {"type":"share.stop"}, stops and
// removes the screen track and renegotiates. It returns once the server
// agrees that this party no longer shares (a `call.state` or
// `share.stopped`) and the new offer is answered, or the server's refusal
// (e.g. not_sharing) as a *ServerError. The local screen track is removed
// either way.
func (p *Peer) StopShare(ctx context.Context) error {
	role := p.Role()
	from := p.sig.mark()
	if err := p.Send(map[string]string{"type": "share.stop"}); err != nil {
		return err
	}
	gen := 0
	l := p.liveLeg()
	if l != nil {
		var err error
		if gen, err = l.removeScreen(); err != nil {
			return err
		}
	}
	stopped := false
	return p.sig.await(ctx, "the share to stop", func() (bool, error) {
		for _, m := range p.sig.scan(&from) {
			switch m.Type {
			case "error":
				return true, m.serverError()
			case "call.state":
				stopped = stopped || sharer(m) != role
			case "share.stopped":
				stopped = stopped || m.Field("party") == role
			}
		}
		if !stopped || gen == 0 {
			return stopped, nil
		}
		return l.negotiated(gen)
	})
}

// sharer returns the role a `call.state` says is sharing, or "".
func sharer(m Message) string {
	var state struct {
		Share *struct {
			Party string `json:"party"`
		} `json:"share"`
	}
	if m.Decode(&state) != nil || state.Share == nil {
		return ""
	}
	return state.Share.Party
}
