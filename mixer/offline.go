package mixer

import (
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"time"

	"github.com/threeway-mcu/threeway/layout"
)

// Offline runs the mixer's video path without a network or a clock: VP8
// frames in, composed and encoded views out, as fast as the caller drives
// it. It exists to measure threeway against other tools on the same files
// (threeway mediabench); calls use Mixer.
type Offline struct {
	m       *Mixer
	sources map[string]*source
	views   []*view
	now     time.Time
	period  time.Duration
}

// NewOffline prepares one source per id and one view per spec, their
// codecs counting the CPU time spent in libvpx for LibvpxTime.
func NewOffline(p Params, ids []string, specs []layout.Spec) (*Offline, error) {
	p.Logger = slog.New(slog.DiscardHandler)
	m := newMixer(p) // video only: no audio clock waking beside it
	o := &Offline{m: m, sources: map[string]*source{}, now: time.Now(), period: time.Second / time.Duration(m.params.FPS)}
	for _, id := range ids {
		// The views' clock, not the wall's, expires the sizes they ask for:
		// a run slower than real time must not drop them. Decode and
		// Compose take turns, ordered by the caller.
		s, err := newSource(id, drivenClock(func() time.Time { return o.now }), func() {}, NopObserver{}, m.log)
		if err != nil {
			o.Close()
			return nil, err
		}
		s.waitingForKey = false // files start with a key frame
		s.picture.decoder.TimeCPU()
		if err := m.addSource(s); err != nil {
			o.Close()
			return nil, err
		}
		o.sources[id] = s
	}
	for _, spec := range specs {
		v, err := newView(m, ViewKey(spec), spec, m.canvasOfLocked(""))
		if err != nil {
			o.Close()
			return nil, err
		}
		v.enc.TimeCPU()
		o.views = append(o.views, v)
	}
	return o, nil
}

// Decode makes frame the source's latest picture.
func (o *Offline) Decode(id string, frame []byte) error {
	s := o.sources[id]
	if s == nil {
		return fmt.Errorf("no source %q", id)
	}
	s.decode(frame)
	return nil
}

// Compose draws every view's next frame from the sources' latest
// pictures. Once it returns, the sources may decode their next frames
// while the views encode this one, as in a call.
func (o *Offline) Compose() {
	o.now = o.now.Add(o.period)
	for _, v := range o.views {
		o.m.params.CPU.acquire()
		v.composeFrame(o.now)
		o.m.params.CPU.release()
	}
}

// Views is the number of views, each encoded by Encode.
func (o *Offline) Views() int { return len(o.views) }

// Output is view i's last encoded frame, valid until its next Encode.
func (o *Offline) Output(i int) []byte { return o.views[i].out }

// Encode encodes view i's composed frame and returns its size. Different
// views may encode concurrently.
func (o *Offline) Encode(i int) int {
	v := o.views[i]
	o.m.params.CPU.acquire()
	key, took, err := v.encode(o.now)
	o.m.params.CPU.release()
	if err != nil {
		v.encodeFailed(err)
		v.out = v.out[:0] // no frame, not the last one again
		return 0
	}
	v.send(o.now, key, 0, took)
	return len(v.out)
}

// LibvpxTime is the CPU time spent inside libvpx so far: creating the
// codecs, their decode and encode calls, and, once Close has run, freeing
// them. Read it when no Decode or Encode runs.
func (o *Offline) LibvpxTime() time.Duration {
	return libvpxTime(maps.Values(o.sources), o.views)
}

// libvpxTime is the CPU time the sources' decoders and the views'
// encoders have counted inside libvpx.
func libvpxTime(sources iter.Seq[*source], views []*view) time.Duration {
	var d time.Duration
	for s := range sources {
		d += s.picture.decoder.CPUTime()
	}
	for _, v := range views {
		d += v.enc.CPUTime()
	}
	return d
}

// Close frees every codec.
func (o *Offline) Close() {
	for _, v := range o.views {
		v.enc.Close()
	}
	for _, s := range o.sources {
		s.close()
	}
	o.m.Close()
}
