package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// leg is one media session of a Peer: from a `joined` to a `left` (or
// Drop, or Close). Each leg has its own ICE socket, PeerConnection,
// senders, receivers and statistics, so nothing of an ended leg leaks
// into the next.
type leg struct {
	call     string // as the server's `joined` named them
	role     string
	joinedAt int // index of the `joined` message that started it

	ctx    context.Context // ends when the leg ends: stops its senders
	cancel context.CancelFunc

	// The sample writers and sources are set before the leg's goroutines
	// start and used only by them (the sources' flags are atomic).
	video, audio *sampleWriter
	camera, mic  source
	// stalled stops the camera and microphone without telling anyone.
	stalled atomic.Bool
	// garbage makes the camera send random bytes instead of its pattern.
	garbage atomic.Bool

	dropOnce    sync.Once
	socketsOnce sync.Once
	socketsErr  error

	// Owned by the read loop.
	remoteSet     bool
	pendingRemote []webrtc.ICECandidateInit

	// negMu serializes offers and answers (read loop, StartShare,
	// StopShare) and guards the fields below.
	negMu      sync.Mutex
	gen        int  // bumped on every change of the sent tracks
	offeredGen int  // gen of the latest offer sent
	needOffer  bool // an offer must follow the outstanding one
	screen     *screenShare

	// Guarded by Peer.mu.
	udp          *blackhole // the ICE socket, which Drop silences
	mux          io.Closer  // the ICE UDP mux over udp; closing it closes udp
	pc           *webrtc.PeerConnection
	mainVideo    *webrtc.RTPReceiver // the camera transceiver's: the composed picture
	mainSSRC     webrtc.SSRC         // of the composed picture's track, once it arrived
	extra        []*screenShare      // AddVideoTrack's tracks
	connected    bool                // reached connected and the senders run
	sending      bool                // the camera and microphone senders started
	ended        bool
	silenced     bool // Drop: keep the socket open, silent, until Close
	endReason    string
	failErr      error
	appliedGen   int   // gen of the latest offer whose answer is applied
	negErr       error // the latest answer that could not be applied
	negErrGen    int   // the gen of that answer's offer
	offerSent    bool  // local candidates may go out directly
	localPending []*webrtc.ICECandidate
	state        webrtc.PeerConnectionState

	// an analyses the leg's media; its own lock.
	an *analyser
}

// liveLeg returns the current leg unless it has ended.
func (p *Peer) liveLeg() *leg {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leg == nil || p.leg.ended {
		return nil
	}
	return p.leg
}

// legPC returns l's PeerConnection, nil for a nil leg or before it exists.
func (p *Peer) legPC(l *leg) *webrtc.PeerConnection {
	if l == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return l.pc
}

// onJoined starts a new leg of call in role (Config.Role if the message
// named none), ending one still running.
func (p *Peer) onJoined(call, role string) {
	if role == "" {
		role = p.cfg.Role
	}
	p.mu.Lock()
	old := p.leg
	p.mu.Unlock()
	if old != nil {
		p.endLeg(old, "replaced by a new leg")
	}
	p.startLeg(call, role)
}

// onLeft ends the current leg: the server ended this party's leg. The
// socket stays.
func (p *Peer) onLeft(reason string) {
	p.mu.Lock()
	l := p.leg
	p.mu.Unlock()
	if l != nil {
		p.endLeg(l, "left: "+reason)
	}
}

// startLeg registers a new leg and negotiates its media. Only the read
// loop calls it, so Close (which waits for the read loop before closing
// legs) never misses one.
func (p *Peer) startLeg(call, role string) {
	l := &leg{call: call, role: role, state: webrtc.PeerConnectionStateNew, an: newAnalyser(p.log)}
	l.ctx, l.cancel = context.WithCancel(p.ctx)
	if p.tasks.isStopped() {
		l.cancel()
		return
	}
	l.joinedAt = p.sig.mark() // the joined being handled
	p.mu.Lock()
	p.leg = l
	p.legs = append(p.legs, l)
	p.changes.notify()
	p.mu.Unlock()
	p.log.Debug("media leg starts", "as", role)
	if err := p.buildLeg(l); err != nil {
		p.failLeg(l, err)
		p.endLeg(l, "setup failed")
	}
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
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case l.connected:
			return true, nil
		case l.failErr != nil:
			return true, l.failErr
		case l.ended:
			return true, fmt.Errorf("%w (%s)", ErrLeft, l.endReason)
		}
		return false, nil
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

// onLegState tracks the leg's PeerConnection state: connected starts the
// senders, failed or closed fails the leg.
func (p *Peer) onLegState(l *leg, s webrtc.PeerConnectionState) {
	p.mu.Lock()
	l.state = s
	p.changes.notify()
	p.mu.Unlock()
	p.log.Debug("connection state", "state", s.String())
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if err := p.startSenders(l); err != nil {
			p.failLeg(l, err)
			return
		}
		p.mu.Lock()
		l.connected = true
		p.changes.notify()
		p.mu.Unlock()
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		p.failLeg(l, fmt.Errorf("%w: state %s", ErrConnection, s))
	}
}

// failLeg records the first reason l cannot go on.
func (p *Peer) failLeg(l *leg, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.failErr == nil {
		l.failErr = err
		p.changes.notify()
	}
}

// endLeg stops l's media and closes its PeerConnection, and its ICE socket
// unless Drop silenced it (that one stays until Close). It is idempotent.
func (p *Peer) endLeg(l *leg, reason string) error {
	p.mu.Lock()
	if !l.ended {
		l.ended, l.endReason = true, reason
		p.changes.notify()
	}
	pc, silenced := l.pc, l.silenced
	p.mu.Unlock()
	l.cancel()
	l.an.stop()
	var errs []error
	if pc != nil {
		if err := pc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("peer: close peer connection: %w", err))
		}
	}
	if !silenced {
		errs = append(errs, p.closeSockets(l))
	}
	return errors.Join(errs...)
}

// closeLeg ends l and closes its socket even if silenced (for Close).
func (p *Peer) closeLeg(l *leg) error {
	err := p.endLeg(l, "closed")
	return errors.Join(err, p.closeSockets(l))
}

// closeSockets closes l's ICE socket once and forgets the leg's sockets.
func (p *Peer) closeSockets(l *leg) error {
	l.socketsOnce.Do(func() {
		p.mu.Lock()
		mux, udp := l.mux, l.udp
		p.legs = slices.DeleteFunc(p.legs, func(x *leg) bool { return x == l })
		p.mu.Unlock()
		var err error
		switch {
		case mux != nil:
			err = mux.Close() // closes udp too
		case udp != nil:
			err = udp.Close()
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			l.socketsErr = fmt.Errorf("peer: close ICE socket: %w", err)
		}
	})
	return l.socketsErr
}
