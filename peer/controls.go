package peer

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// SetVideo turns the camera on or off: it sends {"type":"video.set"} and
// really stops or resumes the camera's frames. While off nothing is sent
// on the video track, as a browser that replaced its track with null; the
// first frame after is a key frame. Turning off stops the frames after the
// message is sent, turning on resumes them before, so the server never
// shows a frozen picture. Each new leg starts with the camera on.
func (p *Peer) SetVideo(on bool) error {
	return p.setSource(func(l *leg) *source { return &l.camera }, "video.set", on)
}

// SetAudio turns the microphone on or off like SetVideo: {"type":
// "audio.set"}, and no audio packets while off.
func (p *Peer) SetAudio(on bool) error {
	return p.setSource(func(l *leg) *source { return &l.mic }, "audio.set", on)
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
	l.stalled.Store(stalled)
	return nil
}

// SendGarbage switches the camera to random bytes in place of VP8 frames
// (true), every other one behind a valid key frame header so that the
// server's decoder meets them, or back to the pattern (false), which
// resumes with its next key frame when the server asks for one. It applies
// to the current leg; ErrNotInCall without one. Config.GarbageVideo
// starts a leg this way.
func (p *Peer) SendGarbage(on bool) error {
	l := p.liveLeg()
	if l == nil {
		return ErrNotInCall
	}
	l.garbage.Store(on)
	return nil
}

// SetInboundLoss makes the current leg's socket lose that share (0 to 1)
// of the RTP packets it receives, at random, as a lossy downlink would;
// STUN, DTLS and RTCP are never lost. Stats.InboundDropped counts the
// losses. Recovering from them is up to NACKs and PLIs.
func (p *Peer) SetInboundLoss(rate float64) error {
	return p.setLoss(rate, func(b *blackhole) *atomic.Uint32 { return &b.loss })
}

// setLoss sets the loss rate of the current leg's socket that which picks.
func (p *Peer) setLoss(rate float64, which func(*blackhole) *atomic.Uint32) error {
	if rate < 0 || rate > 1 {
		return fmt.Errorf("%w: loss rate %v out of 0..1", ErrConfig, rate)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.leg
	if l == nil || l.ended || l.udp == nil {
		return ErrNotInCall
	}
	which(l.udp).Store(uint32(rate * 1_000_000))
	return nil
}

// SetOutboundLoss makes the current leg's socket lose that share (0 to 1)
// of the RTP packets it sends, as a lossy uplink would; STUN, DTLS and
// RTCP always go out. The server is then expected to NACK what it missed.
func (p *Peer) SetOutboundLoss(rate float64) error {
	return p.setLoss(rate, func(b *blackhole) *atomic.Uint32 { return &b.lossOut })
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
	gen, err := p.addVideoTrack(l, pattern, false)
	if err != nil {
		return err
	}
	return p.sig.await(ctx, "the extra track's negotiation", func() (bool, error) {
		for _, m := range p.sig.scan(&from) {
			if m.Type == "error" {
				return true, m.serverError()
			}
		}
		return p.negotiated(l, gen)
	})
}

// screenShare is the second video track of a leg while the party shares.
type screenShare struct {
	src    source
	sender *webrtc.RTPSender
	cancel context.CancelFunc // stops its sender
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
	gen, err := p.addScreen(l)
	if err != nil {
		return err
	}
	return p.sig.await(ctx, "the screen track's negotiation", func() (bool, error) {
		for _, m := range p.sig.scan(&from) {
			if m.Type == "error" {
				return true, m.serverError()
			}
		}
		return p.negotiated(l, gen)
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
		if gen, err = p.removeScreen(l); err != nil {
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
		return p.negotiated(l, gen)
	})
}

// negotiated reports whether an answer covering l's track generation gen
// has been applied, or why it will not be.
func (p *Peer) negotiated(l *leg, gen int) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case l.appliedGen >= gen:
		return true, nil
	case l.negErr != nil && l.negErrGen >= gen:
		return true, l.negErr
	case l.ended:
		return true, fmt.Errorf("%w (%s)", ErrLeft, l.endReason)
	}
	return false, nil
}

// addScreen adds the screen track to l, starts its sender and offers. It
// returns the track generation whose answer completes the share. Sharing
// already, it only returns the current generation.
func (p *Peer) addScreen(l *leg) (int, error) {
	l.negMu.Lock()
	defer l.negMu.Unlock()
	if l.screen != nil {
		return l.gen, nil
	}
	return p.addVideoTrackLocked(l, ScreenKey, true)
}

// addVideoTrack adds a video track of pattern to l (see addVideoTrackLocked).
func (p *Peer) addVideoTrack(l *leg, pattern string, share bool) (int, error) {
	l.negMu.Lock()
	defer l.negMu.Unlock()
	return p.addVideoTrackLocked(l, pattern, share)
}

// addVideoTrackLocked adds a video track sending pattern, as the screen
// share or (share false) as an extra track, starts its sender and offers.
// It returns the track generation whose answer completes that. l.negMu
// must be held.
func (p *Peer) addVideoTrackLocked(l *leg, pattern string, share bool) (int, error) {
	pc := p.legPC(l)
	if pc == nil {
		return 0, ErrNotInCall
	}
	id := "screen"
	if !share {
		id = fmt.Sprintf("extra%d", len(l.extra))
	}
	w, err := newSampleWriter(webrtc.MimeTypeVP8, id, "threeway-peer-"+l.role+"-"+id)
	if err != nil {
		return 0, err
	}
	feed, err := p.newVideoFeed(pattern)
	if err != nil {
		return 0, err
	}
	// A new transceiver each time, as a browser's addTrack does once the
	// old one has sent (a stopped share's is never reused).
	tr, err := pc.AddTransceiverFromTrack(w.track,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return 0, fmt.Errorf("peer: add screen track: %w", err)
	}
	sender := tr.Sender()
	ctx, cancel := context.WithCancel(l.ctx)
	s := &screenShare{sender: sender, cancel: cancel}
	if !p.tasks.spawn(func() { p.sendVideo(ctx, l, &s.src, w, feed, false) }) {
		cancel()
		return 0, ErrClosed
	}
	p.goRTCP(l, sender, &s.src)
	if share {
		l.screen = s
	} else {
		l.extra = append(l.extra, s)
	}
	l.gen++
	return l.gen, p.offerLocked(l)
}

// removeScreen stops and removes l's screen track and offers again. It
// returns the track generation whose answer completes that, or 0 if there
// was no screen track.
func (p *Peer) removeScreen(l *leg) (int, error) {
	l.negMu.Lock()
	defer l.negMu.Unlock()
	s := l.screen
	if s == nil {
		return 0, nil
	}
	l.screen = nil
	s.cancel()
	pc := p.legPC(l)
	if err := pc.RemoveTrack(s.sender); err != nil {
		return 0, fmt.Errorf("peer: remove screen track: %w", err)
	}
	l.gen++
	return l.gen, p.offerLocked(l)
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
