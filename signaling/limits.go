package signaling

import (
	"encoding/json"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/layout"
	"github.com/threeway-mcu/threeway/mixer"
)

// minSendBitrate is the least a camera is told it may send: below it a
// small tile's picture turns to mush before the view scales it.
const minSendBitrate = 200_000

const sendHeadroom = 2

// sendHeadroom is how much more than its tile's share of the view's
// bitrate a camera may send: its picture is decoded and scaled before it
// is coded again, and a sender starved below that drops its resolution
// under the tile's (Chromium sent 480x270 for a 640x360 tile at 1x).

// sendLimits is what a party's camera needs to send (send.limits): the
// size of the largest tile that shows it in any view of the call, at the
// canvas's frame rate, and a bitrate in proportion to that tile's share
// of the canvas (with sendHeadroom). Sending more is decoded and scaled
// away.
type sendLimits struct {
	Type    string `json:"type"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	FPS     int    `json:"fps"`
	Bitrate int    `json:"bitrate"`
}

// The largest view.size a client may report: 4K.
const (
	maxViewWidth  = 3840
	maxViewHeight = 2160
)

// viewSize is a party's view.size.
type viewSize struct{ Width, Height int }

// sfuFPS is the frame rate a camera is told in sfu mode, where no
// canvas sets one: what browsers capture at.
const sfuFPS = 30

// largerThan tells whether l asks for a larger picture than o.
func (l sendLimits) largerThan(o sendLimits) bool {
	return l.Width*l.Height > o.Width*o.Height
}

// limitsOf works out every party's limits from the call's state: each
// viewer's view laid out on the canvas, the largest tile of each party
// kept. A party no view shows keeps the smallest limits.
func (r *room) limitsOf(s *call.Snapshot) map[call.Role]sendLimits {
	mp := r.srv.params.Media
	largest := map[call.Role]layout.Rect{}
	for _, viewer := range s.Parties {
		w, h := mp.Width, mp.Height
		if l := r.srv.legOf(s.ID, viewer.Role); l != nil {
			if c := r.canvasOf(l); c != (mixer.Canvas{}) {
				w, h = c.Width, c.Height
			}
		}
		tiles, err := layout.Tiles(w, h, s.ViewOf(viewer.Role).Spec())
		if err != nil {
			continue
		}
		for _, t := range tiles {
			role := call.Role(t.Party)
			if best := largest[role]; t.Rect.W*t.Rect.H > best.W*best.H {
				largest[role] = t.Rect
			}
		}
	}
	out := map[call.Role]sendLimits{}
	for _, p := range s.Parties {
		rect := largest[p.Role]
		share := float64(rect.W*rect.H) / float64(mp.Width*mp.Height)
		out[p.Role] = sendLimits{Type: "send.limits", Width: rect.W, Height: rect.H, FPS: mp.FPS,
			Bitrate: max(minSendBitrate, int(sendHeadroom*share*float64(mp.VideoBitrateKbps)*1000))}
	}
	return out
}

// canvasOf is the canvas l's picture is composed at: the smallest of
// half, three quarters and all of the server's canvas that covers the
// size l shows it at (view.size); the zero Canvas (the server's) until l
// says, or with NoViewerCanvas.
func (r *room) canvasOf(l *leg) mixer.Canvas {
	v := l.viewSize.Load()
	if v == nil || r.srv.params.NoViewerCanvas {
		return mixer.Canvas{}
	}
	mp := r.srv.params.Media
	for _, quarters := range []int{2, 3} {
		c := mixer.Canvas{Width: mp.Width * quarters / 4 &^ 1, Height: mp.Height * quarters / 4 &^ 1}
		if c.Width >= v.Width && c.Height >= v.Height {
			return c
		}
	}
	return mixer.Canvas{}
}

// forwardedLimitsOf are the limits in sfu mode: each camera needs what
// the other party's window shows it at (view.size), or the canvas size
// until that party says; the bitrate is in proportion to the canvas's.
func (r *room) forwardedLimitsOf(s *call.Snapshot) map[call.Role]sendLimits {
	mp := r.srv.params.Media
	out := map[call.Role]sendLimits{}
	for _, from := range s.Parties {
		for _, to := range s.Parties {
			if to.Role == from.Role {
				continue
			}
			size := viewSize{mp.Width, mp.Height}
			if l := r.srv.legOf(s.ID, to.Role); l != nil {
				if v := l.viewSize.Load(); v != nil {
					size = *v
				}
			}
			share := float64(size.Width*size.Height) / float64(mp.Width*mp.Height)
			out[from.Role] = sendLimits{Type: "send.limits", Width: size.Width, Height: size.Height, FPS: sfuFPS,
				Bitrate: max(minSendBitrate, int(share*float64(mp.VideoBitrateKbps)*1000))}
		}
	}
	return out
}

// sendLimits tells each party with a camera leg its limits when they
// changed; a party whose tile grew is asked for a key frame, so that the
// larger picture comes at once.
func (r *room) sendLimits(s *call.Snapshot) {
	if r.srv.params.NoSendLimits {
		return
	}
	limits := r.limitsOf
	if r.mode == call.SFU {
		limits = r.forwardedLimitsOf
	}
	for role, lim := range limits(s) {
		l := r.srv.legOf(s.ID, role)
		if l == nil || l.ended.Load() || lim == l.limits {
			continue
		}
		grew := lim.largerThan(l.limits) && l.limits.Width > 0
		l.limits = lim
		if data, err := json.Marshal(lim); err == nil {
			l.deliver(data)
		}
		if grew {
			l.requestKeyframe()
		}
	}
}
