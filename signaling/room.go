package signaling

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/threeway-mcu/threeway/call"
	"github.com/threeway-mcu/threeway/mixer"
)

// room is one call's media: a mixer (mcu) or a forwarder (sfu). A worker
// goroutine applies the call's latest state to it; states that arrive
// while it works are coalesced, since only the newest matters. The worker
// owns the room's end: when the call ends or the server stops the room,
// it unregisters the room and closes the media.
type room struct {
	srv     *Server
	id      string
	mode    call.VideoMode
	log     *slog.Logger
	mixer   *mixer.Mixer     // mcu
	forward *mixer.Forwarder // sfu

	latest   atomic.Pointer[call.Snapshot]
	pair     [2]*leg // sfu: the legs forwarding to each other, owned by the worker
	wake     chan struct{}
	quit     chan struct{}
	stopOnce sync.Once
}

func newRoom(srv *Server, id string) *room {
	log := srv.log.With("call_id", id)
	r := &room{srv: srv, id: id, mode: srv.center.VideoMode(), log: log,
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
	if r.mode == call.SFU {
		r.forward = mixer.NewForwarder(srv.params.Media.Observer)
	} else {
		mp := srv.params.Media
		mp.Logger = log
		r.mixer = mixer.New(mp)
	}
	srv.roomWorkers.Add(1)
	go r.run()
	return r
}

// update hands the room a new call state without waiting.
func (r *room) update(s *call.Snapshot) {
	r.latest.Store(s)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// refresh has the room apply the call's latest state again, for a change
// in its legs that the state does not show.
func (r *room) refresh() {
	if s := r.latest.Load(); s != nil {
		r.update(s)
	}
}

// run applies call states until the call ends or the room is stopped.
func (r *room) run() {
	defer func() {
		r.srv.removeRoom(r)
		if r.mixer != nil {
			r.mixer.Close()
		}
		r.srv.roomWorkers.Done()
	}()
	for {
		select {
		case <-r.quit:
			return
		case <-r.wake:
			s := r.latest.Load()
			if s.Ended {
				return
			}
			r.apply(s)
		}
	}
}

// stop has the worker close a room that no call state will end: that of
// a failed join, or any at shutdown. It does not wait: Server.Close waits
// for every worker.
func (r *room) stop() {
	r.stopOnce.Do(func() { close(r.quit) })
}

// apply makes the media follow the call: who sees which picture, whose
// video and audio are on, who hears the mix.
func (r *room) apply(s *call.Snapshot) {
	if r.mode == call.SFU {
		r.applyForwarding(s)
		return
	}
	m := r.mixer
	r.showSharer(s)
	present := map[call.Role]bool{}
	for _, p := range s.Parties {
		present[p.Role] = true
		m.SetTile(string(p.Role), mixer.TileInfo{Label: label(p.Role, p.Name), VideoOff: !p.Video,
			Reconnecting: p.Reconnecting})
		m.SetVoiceMuted(string(p.Role), !p.Audio)
		if p.Phone {
			present[p.Role] = r.hearPhone(s.ID, p.Role)
			continue
		}
		l := r.srv.legOf(s.ID, p.Role)
		if l == nil || l.ended.Load() || !l.connected.Load() {
			// A seat waiting for its party, or a party whose media has
			// not connected: nobody to send to, so nothing to encode.
			present[p.Role] = false
			continue
		}
		if err := m.SetViewerCanvas(string(p.Role), r.canvasOf(l)); err != nil {
			r.log.Error("set viewer canvas", "party", p.Role, "err", err)
		}
		if err := m.SetViewer(string(p.Role), s.ViewOf(p.Role).Spec(), l.videoOut.(mixer.SampleWriter)); err != nil {
			r.log.Error("set viewer", "party", p.Role, "err", err)
		}
		m.SetListener(string(p.Role), r.listenerSink(l))
	}
	r.sendLimits(s)
	for _, role := range call.Roles {
		if !present[role] {
			m.RemoveViewer(string(role))
			m.RemoveListener(string(role))
		}
	}
}

// showSharer has the screen's tile show the sharer, its camera or else
// its placeholder, until the screen's first picture, which takes a
// browser a second or two: set before the share's views are made, so
// that none of them shows the tile empty.
func (r *room) showSharer(s *call.Snapshot) {
	if p, ok := s.Party(s.Share); ok {
		r.mixer.SetTile(call.ScreenSource, mixer.TileInfo{Label: label(p.Role, p.Name), StandIn: string(p.Role)})
	}
}

// hearPhone sends a phone party the mix, in its codec, and reports
// whether it could: the phone's audio may already be disconnected.
func (r *room) hearPhone(callID string, role call.Role) bool {
	ph := r.srv.phoneOf(callID, role)
	if ph == nil {
		return false
	}
	r.mixer.SetListenerCodec(string(role), ph.Out, ph.Codec)
	return true
}

// applyForwarding sends each of two parties the other's own tracks; a
// camera that is off reaches the other as its placeholder.
func (r *room) applyForwarding(s *call.Snapshot) {
	r.sendLimits(s)
	var legs []*leg
	for _, p := range s.Parties {
		if l := r.srv.legOf(s.ID, p.Role); l != nil && !l.ended.Load() {
			legs = append(legs, l)
		}
	}
	var pair [2]*leg
	if len(legs) == 2 {
		pair = [2]*leg{legs[0], legs[1]}
	}
	if pair != r.pair {
		r.pair = pair
		for _, role := range call.Roles {
			r.forward.SetSubscribers(forwardID(role, webrtc.RTPCodecTypeVideo))
			r.forward.SetSubscribers(forwardID(role, webrtc.RTPCodecTypeAudio))
		}
		if pair[0] != nil {
			for i, from := range pair {
				to := pair[1-i]
				r.forward.SetSubscribers(forwardID(from.role, webrtc.RTPCodecTypeVideo), to.sfuVideo)
				r.forward.SetSubscribers(forwardID(from.role, webrtc.RTPCodecTypeAudio), to.audioOut.(mixer.RTPWriter))
			}
		}
	}
	if pair[0] == nil {
		r.showWaitingSeat(s, legs)
		return
	}
	// Each receiver's picture follows the sender's camera: forwarded while
	// on (from a key frame, asked for here), the placeholder while off or
	// while the sender reconnects.
	for i, from := range pair {
		p, _ := s.Party(from.role)
		pair[1-i].sfuVideo.SetSource(sfuLabel(p), p.Video && !p.Reconnecting, from.requestKeyframe)
	}
}

// showWaitingSeat gives the one party with a leg the placeholder of the
// other, whose seat waits for it (sfu): no frozen frame meanwhile.
func (r *room) showWaitingSeat(s *call.Snapshot, legs []*leg) {
	if len(legs) != 1 || len(s.Parties) != 2 {
		return
	}
	for _, p := range s.Parties {
		if p.Role != legs[0].role {
			legs[0].sfuVideo.SetSource(sfuLabel(p), false, nil)
		}
	}
}

// sfuLabel is a party's placeholder label in sfu mode.
func sfuLabel(p call.PartyState) string {
	if p.Reconnecting {
		return mixer.ReconnectingLabel(label(p.Role, p.Name))
	}
	return label(p.Role, p.Name)
}

// sharer is the party sharing its screen in the call's latest state, or
// "" for nobody.
func (r *room) sharer() call.Role {
	if s := r.latest.Load(); s != nil {
		return s.Share
	}
	return ""
}

// forwardID names a party's forwarded video or audio in sfu mode.
func forwardID(role call.Role, codecType webrtc.RTPCodecType) string {
	return string(role) + "/" + codecType.String()
}

// keyframeFor handles a viewer's PLI: mcu forces one in its view; sfu
// forces one in the placeholder the viewer sees, or asks the party whose
// camera it receives.
func (r *room) keyframeFor(viewer *leg) {
	if r.mode != call.SFU {
		r.mixer.RequestKeyframe(string(viewer.role))
		return
	}
	viewer.sfuVideo.RequestKeyframe()
}

// listenerSink is where l's mix goes: its OpusOutput, which takes DTX,
// or with NoAudioDTX the same output seen only as a SampleWriter.
func (r *room) listenerSink(l *leg) mixer.SampleWriter {
	if r.srv.params.NoAudioDTX {
		return struct{ mixer.SampleWriter }{l.mix}
	}
	return l.mix
}

// audioLoss tells the mixer the loss that listener's receiver reports
// say its audio suffers, so that its mix carries FEC while it does.
func (r *room) audioLoss(listener *leg, pkts []rtcp.Packet) {
	if r.mode == call.SFU {
		return // the senders' own FEC is forwarded
	}
	for _, p := range pkts {
		var reports []rtcp.ReceptionReport
		switch p := p.(type) {
		case *rtcp.ReceiverReport:
			reports = p.Reports
		case *rtcp.SenderReport:
			reports = p.Reports
		}
		for _, rep := range reports {
			r.mixer.SetListenerLoss(string(listener.role), rep.FractionLost)
		}
	}
}

func label(role call.Role, name string) string {
	if name == "" {
		return string(role)
	}
	return string(role) + ": " + name
}
