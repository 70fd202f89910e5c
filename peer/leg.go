package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/peer/netcond"
)

// leg is one media session of a Peer: from a `joined` to a `left` (or
// Drop, or Close). Each leg has its own ICE socket, PeerConnection,
// senders, receivers and analyser, so nothing of an ended leg leaks into
// the next.
//
// Who may touch what: the fields above mu are set by newLeg and never
// change (out's switches are atomic); mu guards the fields below it; neg
// and an have locks of their own. neg.mu, held across pion's calls and
// the offer's send, is taken before any other lock, never after.
type leg struct {
	call, role string // as the server's `joined` named them
	joinedAt   int    // index of the `joined` message that started it
	cfg        Config
	log        *slog.Logger
	sig        *signalClient // for offers and candidates
	tasks      *tasks
	changes    *notifier

	ctx    context.Context // ends when the leg ends: stops its senders
	cancel context.CancelFunc

	an       *analyser
	out      switches
	neg      negotiation
	dropOnce sync.Once

	mu sync.Mutex
	// Set by build.
	sock         *iceSocket
	pc           *webrtc.PeerConnection
	video, audio *sampleWriter       // the camera's and microphone's tracks
	mainVideo    *webrtc.RTPReceiver // the camera transceiver's: the composed picture
	// mainSSRC is the composed picture's track's, once it arrived.
	mainSSRC webrtc.SSRC
	// offerSent lets local candidates go out directly; until then they
	// wait in localPending.
	offerSent    bool
	localPending []*webrtc.ICECandidate
	state        webrtc.PeerConnectionState
	// states are those pion reported and no task handled yet; handling
	// is set while a task handles them.
	states   []webrtc.PeerConnectionState
	handling bool
	// cameraKey is the camera loop send.limits last asked for (zero: the
	// configured one).
	cameraKey loopKey
	sending   bool // the camera and microphone senders started
	connected bool // reached connected and the senders run
	failErr   error
	ended     bool
	endReason string
	silenced  bool // Drop: keep the socket open, silent, until Close
	// network is the party's conditions each way (Config.Network,
	// SetNetwork); rtpLoss adds SetInboundLoss's and SetOutboundLoss's.
	network    netcond.Conditions
	rtpLoss    struct{ in, out float64 }
	appliedGen int   // gen of the latest offer whose answer is applied
	negErr     error // the latest answer that could not be applied
	negErrGen  int   // the gen of that answer's offer
}

// newLeg makes the leg a `joined` at index joinedAt started, as a part of
// p, on a network with conditions c; build then sets up its media.
func newLeg(p *Peer, call, role string, joinedAt int, c netcond.Conditions) *leg {
	l := &leg{call: call, role: role, joinedAt: joinedAt, cfg: p.cfg, log: p.log, sig: p.sig,
		tasks: &p.tasks, changes: &p.changes, an: newAnalyser(p.log), state: webrtc.PeerConnectionStateNew,
		network: c}
	l.ctx, l.cancel = context.WithCancel(p.ctx)
	return l
}

// socket returns the leg's network, nil before build.
func (l *leg) socket() *iceSocket {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sock
}

// isEnded reports whether the leg has ended.
func (l *leg) isEnded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

// peerConnection returns the leg's PeerConnection, nil before build.
func (l *leg) peerConnection() *webrtc.PeerConnection {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pc
}

// connection reports whether the leg connected, or why it will not.
func (l *leg) connection() (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.connected:
		return true, nil
	case l.failErr != nil:
		return true, l.failErr
	case l.ended:
		return true, fmt.Errorf("%w (%s)", ErrLeft, l.endReason)
	}
	return false, nil
}

// negotiated reports whether an answer covering track generation gen has
// been applied, or why it will not be.
func (l *leg) negotiated(gen int) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
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

// negotiating reports whether the leg's media is still being set up.
func (l *leg) negotiating() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.ended && !l.connected
}

// onStateChange hands a state pion reported to one of the peer's tasks:
// pion calls it on a goroutine of its own, and what a state starts (the
// senders, which may first encode their loops) must not outlive Close.
// One task at a time handles the states, in the order reported, so the
// last one reported is the leg's state.
func (l *leg) onStateChange(s webrtc.PeerConnectionState) {
	l.mu.Lock()
	l.states = append(l.states, s)
	start := !l.handling
	l.handling = true
	l.mu.Unlock()
	if start && !l.tasks.spawn(l.handleStates) {
		// Close has begun: what the states would start is no use now.
		l.mu.Lock()
		l.states, l.handling = nil, false
		l.mu.Unlock()
	}
}

// handleStates runs onState for each state reported, until none is left.
func (l *leg) handleStates() {
	for {
		l.mu.Lock()
		if len(l.states) == 0 {
			l.handling = false
			l.mu.Unlock()
			return
		}
		s := l.states[0]
		l.states = l.states[1:]
		l.mu.Unlock()
		l.onState(s)
	}
}

// onState tracks the PeerConnection's state: connected starts the
// senders, failed or closed fails the leg (with Config.Reconnect, failed,
// or disconnected for long, restarts ICE instead).
func (l *leg) onState(s webrtc.PeerConnectionState) {
	l.mu.Lock()
	l.state = s
	l.mu.Unlock()
	l.changes.notify()
	l.log.Debug("connection state", "state", s.String())
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if err := l.startSenders(); err != nil {
			if l.ctx.Err() == nil { // else the leg is ending, which says why
				l.fail(err)
			}
			return
		}
		l.mu.Lock()
		l.connected = true
		l.mu.Unlock()
		l.changes.notify()
	case webrtc.PeerConnectionStateDisconnected:
		l.restartWhenLost(s)
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		if !l.restartWhenLost(s) {
			l.fail(fmt.Errorf("%w: state %s", ErrConnection, s))
		}
	}
}

// fail records the first reason the leg cannot go on.
func (l *leg) fail(err error) {
	l.mu.Lock()
	first := l.failErr == nil
	if first {
		l.failErr = err
	}
	l.mu.Unlock()
	if first {
		l.changes.notify()
	}
}

// end stops the leg's media and closes its PeerConnection, and its ICE
// socket unless Drop silenced it (that one stays until close). It reports
// whether the socket is still open. It is idempotent.
func (l *leg) end(reason string) (open bool, err error) {
	l.mu.Lock()
	if !l.ended {
		l.ended, l.endReason = true, reason
	}
	pc, silenced := l.pc, l.silenced
	l.mu.Unlock()
	l.changes.notify()
	l.cancel()
	l.an.stop()
	var errs []error
	if pc != nil {
		if err := pc.Close(); err != nil {
			errs = append(errs, fmt.Errorf("peer: close peer connection: %w", err))
		}
	}
	if !silenced {
		errs = append(errs, l.closeSocket())
	}
	return silenced, errors.Join(errs...)
}

// close ends the leg and closes its socket even if silenced (for Close).
func (l *leg) close() error {
	_, err := l.end("closed")
	return errors.Join(err, l.closeSocket())
}

// drop silences the leg's ICE socket for good and ends the leg, once.
func (l *leg) drop() {
	l.dropOnce.Do(func() {
		l.mu.Lock()
		l.silenced = true
		sock := l.sock
		l.mu.Unlock()
		if sock != nil {
			sock.net.Silence(true)
		}
		if _, err := l.end("dropped by the peer"); err != nil {
			l.log.Debug("drop", "err", err)
		}
	})
}

// closeSocket closes the leg's ICE socket, if it has one yet.
func (l *leg) closeSocket() error {
	l.mu.Lock()
	sock := l.sock
	l.mu.Unlock()
	if sock == nil {
		return nil
	}
	return sock.close()
}

// stateAndDropped returns the leg's part of Stats: the connection's state
// and the inbound datagrams its network conditions dropped.
func (l *leg) stateAndDropped() (webrtc.PeerConnectionState, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	dropped := 0
	if l.sock != nil {
		in, _ := l.sock.net.Counters()
		dropped = int(in.Dropped())
	}
	return l.state, dropped
}
