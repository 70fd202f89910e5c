package peer

import "encoding/binary"

// scaledFeed is the camera's loop at the size and rate the server's
// send.limits asked for, waiting for the send loop to switch to it.
type scaledFeed struct {
	loop *videoLoop
	fps  int
}

// from is the scaled loop's cursor at the key frame at or after where
// feed (at fps) is, in time: the frame numbers go on from there.
func (s *scaledFeed) from(feed videoFeed, fps int) videoFeed {
	c := &loopCursor{loop: s.loop}
	if old, ok := feed.(*loopCursor); ok {
		c.pos = s.loop.nextKey(old.pos * s.fps / fps)
	}
	return c
}

// limitCamera has the camera send no more than width x height at fps:
// its configured picture scaled down to fit, keeping its shape (never
// up, never below what the pattern needs to stay readable), at the lower
// of the two rates. The loop at that size is encoded (once per size) off
// the signaling path, then the send loop switches at its next tick.
func (l *leg) limitCamera(width, height, fps int) {
	if width <= 0 || height <= 0 || fps <= 0 {
		return
	}
	w, h := scaledDown(l.cfg.Width, l.cfg.Height, width, height)
	key := loopKey{pattern: l.role, width: w, height: h, fps: min(l.cfg.FPS, fps),
		bitrateKbps: max(100, l.cfg.VideoBitrateKbps*w*h/(l.cfg.Width*l.cfg.Height))}
	l.mu.Lock()
	current := l.cameraKey
	if current == (loopKey{}) { // the configured camera
		current = loopKey{pattern: l.role, width: l.cfg.Width, height: l.cfg.Height, fps: l.cfg.FPS,
			bitrateKbps: l.cfg.VideoBitrateKbps}
	}
	same := current == key
	l.cameraKey = key
	l.mu.Unlock()
	if same {
		return
	}
	l.tasks.spawn(func() {
		loop, err := loops.videoLoopFor(l.ctx, key)
		if err != nil {
			l.log.Debug("scale the camera", "err", err)
			return
		}
		l.mu.Lock()
		current := l.cameraKey == key
		l.mu.Unlock()
		if current { // a later send.limits did not overtake this one
			l.out.camera.next.Store(&scaledFeed{loop: loop, fps: key.fps})
		}
	})
}

// scaledDown fits w x h into maxW x maxH, keeping its shape, never
// scaling up nor below the pattern's readable size; sizes stay even.
func scaledDown(w, h, maxW, maxH int) (int, int) {
	scale := max(1, float64(w)/float64(maxW), float64(h)/float64(maxH))
	sw := max(minReadWidth, int(float64(w)/scale)) &^ 1
	sh := max(minReadHeight, int(float64(h)/scale)) &^ 1
	return sw, sh
}

// vp8KeySize reads the picture size of a VP8 key frame (RFC 6386, 9.1):
// a 3-byte frame tag whose low bit is 0, the start code 9d 01 2a, then
// width and height in 14 bits each.
func vp8KeySize(frame []byte) (w, h int, key bool) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint16(frame[6:8]) & 0x3fff), int(binary.LittleEndian.Uint16(frame[8:10]) & 0x3fff), true
}
