package peer

import (
	"context"
	"fmt"

	"github.com/pion/webrtc/v4"
)

// extraTrack is a video track a leg sends beside the camera: the screen
// share, or one of AddVideoTrack's. Only src changes (atomically).
type extraTrack struct {
	src    source
	sender *webrtc.RTPSender
	cancel context.CancelFunc // stops its sender
}

// addScreen adds the screen track, starts its sender and offers. It
// returns the track generation whose answer completes the share. Sharing
// already, it only returns the current generation.
func (l *leg) addScreen() (int, error) {
	feed, err := l.newVideoFeed(ScreenKey)
	if err != nil {
		return 0, err
	}
	l.neg.mu.Lock()
	defer l.neg.mu.Unlock()
	if l.neg.screen != nil {
		return l.neg.gen, nil
	}
	return l.addVideoTrackLocked(feed, true)
}

// addExtraTrack adds a video track of pattern beside the camera and the
// screen (see addVideoTrackLocked).
func (l *leg) addExtraTrack(pattern string) (int, error) {
	feed, err := l.newVideoFeed(pattern)
	if err != nil {
		return 0, err
	}
	l.neg.mu.Lock()
	defer l.neg.mu.Unlock()
	return l.addVideoTrackLocked(feed, false)
}

// addVideoTrackLocked adds a video track sending feed, as the screen
// share or (share false) as an extra track, starts its sender and offers.
// It returns the track generation whose answer completes that. neg.mu
// must be held; the feed is made before it, since a first one encodes
// its loop, which the read loop must not wait for.
func (l *leg) addVideoTrackLocked(feed videoFeed, share bool) (int, error) {
	pc := l.peerConnection()
	if pc == nil {
		return 0, ErrNotInCall
	}
	id := "screen"
	if !share {
		id = fmt.Sprintf("extra%d", len(l.neg.extra))
	}
	w, err := newSampleWriter(webrtc.MimeTypeVP8, id, "threeway-peer-"+l.role+"-"+id)
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
	t := &extraTrack{sender: sender, cancel: cancel}
	if !l.tasks.spawn(func() { l.sendVideo(ctx, &t.src, w, feed, false) }) {
		cancel()
		return 0, ErrClosed
	}
	l.goRTCP(sender, &t.src)
	if share {
		l.neg.screen = t
	} else {
		l.neg.extra = append(l.neg.extra, t)
	}
	l.neg.gen++
	return l.neg.gen, l.offerLocked()
}

// removeScreen stops and removes the screen track and offers again. It
// returns the track generation whose answer completes that, or 0 if there
// was no screen track.
func (l *leg) removeScreen() (int, error) {
	l.neg.mu.Lock()
	defer l.neg.mu.Unlock()
	t := l.neg.screen
	if t == nil {
		return 0, nil
	}
	l.neg.screen = nil
	t.cancel()
	if err := l.peerConnection().RemoveTrack(t.sender); err != nil {
		return 0, fmt.Errorf("peer: remove screen track: %w", err)
	}
	l.neg.gen++
	return l.neg.gen, l.offerLocked()
}
