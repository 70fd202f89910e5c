package peer

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// iceRestartAfter is how long a leg's media connection may stay
// disconnected before a peer with Config.Reconnect restarts ICE; a failed
// one restarts at once.
const iceRestartAfter = 2 * time.Second

// RestartICE restarts ICE on the current leg, as a browser page's
// pc.restartIce() does: an offer with new ICE credentials on the same
// socket, which the server answers; the media then goes on over the path
// the new checks find. While an offer is outstanding the restart follows
// its answer. ErrNotInCall without a live leg.
func (p *Peer) RestartICE() error {
	l := p.liveLeg()
	if l == nil {
		return ErrNotInCall
	}
	return l.restartICE()
}

func (l *leg) restartICE() error {
	l.neg.mu.Lock()
	defer l.neg.mu.Unlock()
	l.neg.iceRestart = true
	return l.offerLocked()
}

// restartWhenLost restarts ICE, with Config.Reconnect, on a connection
// that had connected and then failed, or that is still disconnected
// iceRestartAfter after it said so. It reports whether it took the state
// on.
func (l *leg) restartWhenLost(s webrtc.PeerConnectionState) bool {
	l.mu.Lock()
	connected := l.connected
	l.mu.Unlock()
	if !l.cfg.Reconnect || !connected {
		return false // a leg that never connected fails as it always did
	}
	switch s {
	case webrtc.PeerConnectionStateFailed:
		l.log.Debug("media connection failed: restarting ICE")
		if err := l.restartICE(); err != nil {
			l.log.Warn("restart ICE", "err", err)
		}
		return true
	case webrtc.PeerConnectionStateDisconnected:
		l.tasks.spawn(func() {
			t := time.NewTimer(iceRestartAfter)
			defer t.Stop()
			select {
			case <-l.ctx.Done():
				return
			case <-t.C:
			}
			if pc := l.peerConnection(); pc != nil && pc.ConnectionState() == webrtc.PeerConnectionStateDisconnected {
				l.log.Debug("media connection still disconnected: restarting ICE")
				if err := l.restartICE(); err != nil {
					l.log.Warn("restart ICE", "err", err)
				}
			}
		})
		return true
	}
	return false
}
