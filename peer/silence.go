package peer

// Silence makes the current leg's media path die (true) or come back
// (false), as a network outage would: while silenced its network drops
// every packet in both directions, as Drop's does, but the leg and its
// PeerConnection go on, so the path's return resumes the media with no new
// join. The WebSocket is untouched. ErrNotInCall without a live leg. It is
// an outage a test turns on and off by hand; Config.Network's outage
// windows are timed from the leg's start.
func (p *Peer) Silence(on bool) error {
	l := p.liveLeg()
	if l == nil {
		return ErrNotInCall
	}
	sock := l.socket()
	if sock == nil {
		return ErrNotInCall
	}
	sock.net.Silence(on)
	return nil
}
