package mixer

import (
	"bytes"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/threeway-mcu/threeway/codec"
	"github.com/threeway-mcu/threeway/layout"
)

// countingSink counts the frames a viewer is sent. A viewer moving to
// another view may be written by both for a moment, as a pion track may
// be: the count is atomic.
type countingSink struct{ frames atomic.Int64 }

func (c *countingSink) WriteSample(media.Sample) error {
	c.frames.Add(1)
	return nil
}

func TestViewersWithTheSameSpecShareOneView(t *testing.T) {
	m := New(Params{Width: 640, Height: 360, FPS: 15, Logger: slog.New(slog.DiscardHandler), Clock: newStepClock()})
	defer m.Close()
	parties := []string{"customer", "agent", "third"}
	equal := layout.Spec{Parties: parties, Mode: layout.Equal}
	maxAgent := layout.Spec{Parties: parties, Mode: layout.Maximize, Focus: "agent"}
	sinks := map[string]*countingSink{"customer": {}, "agent": {}, "third": {}}

	for _, p := range parties {
		if err := m.SetViewer(p, equal, sinks[p]); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.ViewCount(); n != 1 {
		t.Fatalf("three viewers of equal tiles run %d views, want 1", n)
	}
	if err := m.SetViewer("customer", maxAgent, sinks["customer"]); err != nil {
		t.Fatal(err)
	}
	if n := m.ViewCount(); n != 2 {
		t.Fatalf("after one viewer maximizes: %d views, want 2", n)
	}
	m.RemoveViewer("customer")
	if n := m.ViewCount(); n != 1 {
		t.Fatalf("after the maximizing viewer left: %d views, want 1 (an unwatched view stops)", n)
	}
	if err := m.SetViewer("agent", layout.Spec{Parties: parties, Mode: layout.Maximize, Focus: "nobody"}, sinks["agent"]); err == nil {
		t.Fatal("a spec maximizing an absent party was accepted")
	}
}

func TestPlaceholderShowsTheLabel(t *testing.T) {
	f := renderPlaceholder("customer: Ann", 640, 360)
	var text, dark int
	for _, y := range f.Y {
		switch y {
		case placeholderTextY:
			text++
		case placeholderY:
			dark++
		}
	}
	if text < 500 || dark < len(f.Y)*8/10 {
		t.Errorf("placeholder has %d text and %d dark pixels of %d", text, dark, len(f.Y))
	}
}

// A tile larger than the sender's picture is drawn by scaling that
// picture straight onto the canvas, fitted with black bars where its
// shape differs from the tile's; nothing outside the tile changes.
func TestDrawTileScalesUpOntoTheCanvas(t *testing.T) {
	v := newTestView(t, 1280, 720)
	s, clock := newTestSource(t)
	s.decode(encodeFrames(t, 640, 480, 1)[0]) // 4:3, luma 50
	canvas := v.enc.Input()
	canvas.Fill(200, 128, 128)
	// The large tile of a maximized layout: the 4:3 picture fits as 720x540.
	tile := viewTile{party: "customer", fit: tileFit{rect: layout.Rect{X: 0, Y: 90, W: 960, H: 540}}}
	v.drawTile(canvas, &tile, s, *clock)
	luma := func(x, y int) int { return int(canvas.Y[y*canvas.Width+x]) }
	for _, c := range []struct {
		name      string
		x, y      int
		want, tol int
	}{
		{"picture", 480, 360, 50, 3},
		{"left bar", 60, 360, blackY, 0},
		{"right bar", 900, 360, blackY, 0},
		{"above the tile", 480, 40, 200, 0},
		{"right of the tile", 1100, 360, 200, 0},
	} {
		if got := luma(c.x, c.y); got < c.want-c.tol || got > c.want+c.tol {
			t.Errorf("%s (%d,%d): luma %d, want %d", c.name, c.x, c.y, got, c.want)
		}
	}
	if shows := tile.shows; shows.picture != &s.picture || shows.seq != s.picture.seq {
		t.Errorf("the tile holds picture %d, want the source's %d", shows.seq, s.picture.seq)
	}
	if len(s.picture.scaled) != 0 {
		t.Errorf("%d scaled copies made for a tile drawn straight on its canvas", len(s.picture.scaled))
	}
}

// customerAlone is the spec of a view showing the customer's tile only.
var customerAlone = layout.Spec{Parties: []string{"customer"}, Mode: layout.Equal}

// newTestView is a view of the customer alone on a w x h canvas, in a
// mixer of its own.
func newTestView(t *testing.T, w, h int) *view {
	t.Helper()
	return addTestView(t, newTestMixer(t, w, h), customerAlone)
}

// newTestMixer is a mixer of w x h views with no clock running.
func newTestMixer(t *testing.T, w, h int) *Mixer {
	t.Helper()
	m := newMixer(Params{Width: w, Height: h, FPS: 15, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(m.Close)
	return m
}

// addTestView makes a view of spec in m, as a viewer asking for it would,
// driven by the test rather than its clock.
func addTestView(t *testing.T, m *Mixer, spec layout.Spec) *view {
	t.Helper()
	v, err := newView(m, ViewKey(spec), spec, Canvas{m.params.Width, m.params.Height})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.enc.Close)
	return v
}

// newDrawingView is a view of one party's 640x360 source on a 640x360
// canvas, the sender's own size, and that source.
func newDrawingView(t *testing.T) (*view, *source, *time.Time) {
	t.Helper()
	v := newTestView(t, 640, 360)
	s, clock := newTestSource(t)
	if err := v.m.addSource(s); err != nil {
		t.Fatal(err)
	}
	return v, s, clock
}

// A tile still showing its source's latest picture is not drawn again: the
// canvas keeps it. A new picture is drawn.
func TestComposeLeavesUpToDateTilesAlone(t *testing.T) {
	v, s, clock := newDrawingView(t)
	frames := encodeFrames(t, 640, 360, 2)
	canvas := v.enc.Input()
	s.decode(frames[0])
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "at first")
	canvas.FillRect(300, 160, 40, 40, 222, 128, 128) // would be overdrawn by a redraw
	v.compose(*clock)
	if got := lumaAt(canvas, 320, 180); got != 222 {
		t.Errorf("with no new picture the tile was drawn again (luma %d)", got)
	}
	s.decode(frames[1])
	v.compose(*clock)
	wantCentreLuma(t, canvas, 60, "after a new picture")
}

// A placeholder tile is drawn once, and again only when it changes: a
// party without video (a phone) costs no copy per frame.
func TestComposeDrawsAPlaceholderOnce(t *testing.T) {
	v := newTestView(t, 640, 360) // the customer's tile, with no source
	canvas := v.enc.Input()
	v.compose(time.Now())
	if got := lumaAt(canvas, 10, 10); got != placeholderY {
		t.Fatalf("the tile shows luma %d, want the placeholder's %d", got, placeholderY)
	}
	canvas.FillRect(0, 0, 40, 40, 222, 128, 128) // would be overdrawn by a redraw
	v.compose(time.Now())
	if got := lumaAt(canvas, 10, 10); got != 222 {
		t.Errorf("the unchanged placeholder was drawn again (luma %d)", got)
	}
	v.m.SetTile("customer", TileInfo{Label: "customer: +1 555 0100"})
	v.compose(time.Now())
	if got := lumaAt(canvas, 10, 10); got != placeholderY {
		t.Errorf("after its label changed the tile shows luma %d, want the new placeholder's %d", got, placeholderY)
	}
}

// After an undecodable frame libvpx's buffer holds no picture. A tile
// showing the last good one keeps it; a tile drawn anew shows the party's
// placeholder until the next key frame, which shows again.
func TestUndecodableFrameKeepsTheTilesPicture(t *testing.T) {
	v, s, clock := newDrawingView(t)
	frames := encodeFrames(t, 640, 360, 2)
	canvas := v.enc.Input()
	s.decode(frames[0])
	v.compose(*clock)
	s.decode(frames[1]) // not drawn before the next frame comes
	s.decode(undecodable)
	if s.picture.held != 0 {
		t.Fatal("the garbage frame decoded; the test needs one libvpx refuses")
	}
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "after an undecodable frame")
	fresh := addTestView(t, v.m, customerAlone) // its tile drawn anew
	fresh.compose(*clock)
	if got := lumaAt(fresh.enc.Input(), 320, 180); got != placeholderY && got != placeholderTextY {
		t.Errorf("a tile drawn anew with no picture shows luma %d, want the placeholder", got)
	}
	s.decode(frames[0]) // the key frame asked for
	fresh.compose(*clock)
	wantCentreLuma(t, fresh.enc.Input(), 50, "after the next key frame")
}

// A tile shows the picture of the source in it now: after its party's
// video goes off and on again, and after the party's source is replaced
// by one whose pictures are numbered afresh.
func TestTileFollowsVideoOffAndReplacedSources(t *testing.T) {
	v, s, clock := newDrawingView(t)
	canvas := v.enc.Input()
	s.decode(encodeFrames(t, 640, 360, 1)[0])
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "at first")

	v.m.SetTile("customer", TileInfo{VideoOff: true})
	v.compose(*clock)
	if got := lumaAt(canvas, 320, 180); got != placeholderY && got != placeholderTextY {
		t.Errorf("with video off the tile shows luma %d, want the placeholder", got)
	}
	v.m.SetTile("customer", TileInfo{})
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "with video on again")

	next, _ := newTestSource(t)
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: 640, Height: 360, FPS: 15, BitrateKbps: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	enc.Input().Fill(80, 128, 128)
	key, _, err := enc.Encode(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	next.decode(key) // picture 1 of the new source, as the tile's is of the old
	v.m.removeSource(s)
	if err := v.m.addSource(next); err != nil {
		t.Fatal(err)
	}
	v.compose(*clock)
	wantCentreLuma(t, canvas, 80, "after the source was replaced")
}

// A tile that holds a picture does not wait for a decode under way: it
// keeps its picture until the next frame of the view. A tile drawn anew
// waits for the picture libvpx is making.
func TestOnlyATileWithoutAPictureWaitsForADecode(t *testing.T) {
	v, s, clock := newDrawingView(t)
	canvas := v.enc.Input()
	frames := encodeFrames(t, 640, 360, 2)
	s.decode(frames[0])
	v.compose(*clock)
	s.decode(frames[1])

	s.picture.unpacking.Lock() // a decode under way
	composed := composeInBackground(v, *clock)
	select {
	case <-composed:
	case <-time.After(testTimeout):
		s.picture.unpacking.Unlock()
		t.Fatal("a tile holding a picture waited for the decode")
	}
	wantCentreLuma(t, canvas, 50, "during the decode")

	fresh := addTestView(t, v.m, customerAlone) // its tile drawn anew
	composed = composeInBackground(fresh, *clock)
	select {
	case <-composed:
		t.Error("a tile drawn anew did not wait for the decode under way")
	case <-time.After(100 * time.Millisecond):
	}
	s.picture.unpacking.Unlock()
	<-composed
	wantCentreLuma(t, fresh.enc.Input(), 60, "after the decode")
}

// undecodable is a frame libvpx refuses: an inter frame's tag, then noise.
var undecodable = []byte{0x31, 0x02, 0x00, 1, 2, 3, 4, 5, 6, 7}

// composeInBackground composes v's frame due at now on a goroutine of its
// own, and closes the channel it returns when done.
func composeInBackground(v *view, now time.Time) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		v.compose(now)
		close(done)
	}()
	return done
}

// A tile smaller than the sender's picture keeps its picture when nothing
// newer can be drawn: a frame came while no tile showed its size, so it
// was not made, and the next frame was undecodable.
func TestSmallTileKeepsItsPictureAfterAnUndecodableFrame(t *testing.T) {
	v, s, clock := newDrawingView(t)
	canvas := v.enc.Input()
	frames := encodeFrames(t, 1280, 720, 2)
	s.decode(frames[0])
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "at first")
	*clock = clock.Add(scaledCacheTTL + time.Second) // the view stopped composing
	s.decode(frames[1])                              // not made at 640x360: nobody showed that size lately
	s.decode(undecodable)
	if s.picture.held != 0 {
		t.Fatal("the garbage frame decoded; the test needs one libvpx refuses")
	}
	v.compose(*clock)
	wantCentreLuma(t, canvas, 50, "after an undecodable frame")
}

// A size a tile shows stays made while the sender pauses, however long:
// when the sender goes on, the decode makes it again.
func TestShownSizeOutlastsASendersPause(t *testing.T) {
	v, s, clock := newDrawingView(t)
	frames := encodeFrames(t, 1280, 720, 2)
	s.decode(frames[0])
	for range 3 * int(scaledCacheTTL/time.Second) * 15 { // 15 fps
		v.compose(*clock)
		*clock = clock.Add(time.Second / 15)
	}
	s.decode(frames[1])
	if len(s.picture.scaled) != 1 || s.picture.scaled[0].seq != s.picture.seq {
		t.Errorf("after a pause the decode made %d sizes, none current: the tile's size expired while shown", len(s.picture.scaled))
	}
}

// A picture whose shape differs from its tile's is centred with black
// bars filling the rest of the tile, to its edges, over what the tile
// showed before: here a sender switching from 640x360 to a phone's
// portrait, scaled down (360x640) or up (180x320) into a 640x360 tile.
func TestBarsFillTheTileToItsEdges(t *testing.T) {
	for _, size := range [][2]int{{360, 640}, {180, 320}} {
		v, s, clock := newDrawingView(t)
		canvas := v.enc.Input()
		for _, data := range encodeFrames(t, 640, 360, 2) {
			s.decode(data)
		}
		v.compose(*clock) // the whole tile at luma 60
		s.decode(encodeFrames(t, size[0], size[1], 1)[0])
		v.compose(*clock)
		// 202 columns wide, at 218: an odd offset (219) rounded to even.
		for _, c := range []struct {
			x, want int
		}{{0, blackY}, {217, blackY}, {320, 50}, {422, blackY}, {638, blackY}, {639, blackY}} {
			if got := lumaAt(canvas, c.x, 180); got < c.want-3 || got > c.want+3 {
				t.Errorf("%dx%d sender: column %d shows luma %d, want %d", size[0], size[1], c.x, got, c.want)
			}
		}
	}
}

// Views draw from the decoder's buffer while the source decodes on its own
// goroutine, as in a call: every tile drawn is one whole picture (uniform,
// of a frame's luma), and neither side deadlocks. Run with -race.
func TestDrawingAndDecodingTakeTurns(t *testing.T) {
	v, s, clock := newDrawingView(t)
	frames := encodeFrames(t, 640, 360, 16)
	// A 640x360 tile beside others, and smaller sizes.
	small := addTestView(t, newTestMixer(t, 1280, 720),
		layout.Spec{Parties: []string{"customer", "agent", "third"}, Mode: layout.Maximize, Focus: "agent"})
	if err := small.m.addSource(s); err != nil {
		t.Fatal(err)
	}
	s.decode(frames[0]) // no placeholder: a picture from the start
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 4 {
			for _, data := range frames {
				s.decode(data)
			}
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for draws := 0; ; draws++ {
		select {
		case <-done:
			if draws == 0 {
				t.Error("no draws while decoding")
			}
			return
		default:
		}
		v.compose(*clock)
		small.compose(*clock)
		canvas := v.enc.Input()
		a, b := lumaAt(canvas, 10, 10), lumaAt(canvas, 630, 350)
		if frameOf(a) < 0 || frameOf(a) != frameOf(b) {
			t.Fatalf("a tile shows lumas %d and %d: not one whole frame", a, b)
		}
		canvas = small.enc.Input() // the customer's 320x180 tile at (960, 180)
		a, b = lumaAt(canvas, 970, 190), lumaAt(canvas, 1270, 350)
		if frameOf(a) < 0 || frameOf(a) != frameOf(b) {
			t.Fatalf("a small tile shows lumas %d and %d: not one whole frame", a, b)
		}
	}
}

// frameOf is the encodeFrames frame whose luma (50 + 10*i, give or take
// the encoder's error) luma is, or -1 if none.
func frameOf(luma int) int {
	i := (luma - 45) / 10
	if luma < 45 || abs(luma-(50+10*i)) > 3 {
		return -1
	}
	return i
}

func abs(n int) int { return max(n, -n) }

// wantCentreLuma checks that the middle of a 640x360 canvas, its one
// tile, shows about luma want.
func wantCentreLuma(t *testing.T, canvas *codec.Frame, want int, when string) {
	t.Helper()
	if got := lumaAt(canvas, 320, 180); got < want-3 || got > want+3 {
		t.Errorf("%s the tile shows luma %d, want about %d", when, got, want)
	}
}

// tileOf is v's tile of party.
func tileOf(t *testing.T, v *view, party string) *viewTile {
	t.Helper()
	for i := range v.tiles {
		if v.tiles[i].party == party {
			return &v.tiles[i]
		}
	}
	t.Fatalf("view %s has no tile of %s", v.key, party)
	return nil
}

// wantTileLuma checks that the middle of rect on canvas shows about luma
// want.
func wantTileLuma(t *testing.T, canvas *codec.Frame, rect layout.Rect, want int, when string) {
	t.Helper()
	if got := lumaAt(canvas, rect.X+rect.W/2, rect.Y+rect.H/2); got < want-3 || got > want+3 {
		t.Errorf("%s the tile shows luma %d, want about %d", when, got, want)
	}
}

// showsPlaceholder reports whether rect on canvas holds label's
// placeholder.
func showsPlaceholder(canvas *codec.Frame, rect layout.Rect, label string) bool {
	want := renderPlaceholder(label, rect.W, rect.H)
	for y := range rect.H {
		row := canvas.Y[(rect.Y+y)*canvas.Width+rect.X:][:rect.W]
		if !bytes.Equal(row, want.Y[y*want.Width:][:rect.W]) {
			return false
		}
	}
	return true
}

// keyFrame encodes a w x h key frame of one luma.
func keyFrame(t *testing.T, w, h, luma int) []byte {
	t.Helper()
	enc, err := codec.NewVP8Encoder(codec.VP8EncoderParams{Width: w, Height: h, FPS: 15, BitrateKbps: 1500})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	enc.Input().Fill(byte(luma), 128, 128)
	data, _, err := enc.Encode(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// frameEvents is an Observer that reports every composed frame and counts
// the frames dropped. A frame composed while the last one is unread is
// counted, not waited for: a bug's extra frames fail the test rather than
// stall the view.
type frameEvents struct {
	NopObserver
	composed chan int     // viewers the frame went to
	extra    atomic.Int32 // frames composed with no room in composed
	dropped  atomic.Int32
}

func (f *frameEvents) FrameComposed(_, _ time.Duration, _, viewers int) {
	select {
	case f.composed <- viewers:
	default:
		f.extra.Add(1)
	}
}

func (f *frameEvents) FramesDropped(n int) { f.dropped.Add(int32(n)) }

// steppedMixer is a 320x180, 15 fps mixer on a step clock whose events
// report up to composed frames composed without waiting.
func steppedMixer(t *testing.T, composed int) (*Mixer, *stepClock, *frameEvents) {
	t.Helper()
	clock := newStepClock()
	events := &frameEvents{composed: make(chan int, composed)}
	m := New(Params{Width: 320, Height: 180, FPS: 15, Logger: slog.New(slog.DiscardHandler),
		Observer: events, Clock: clock})
	t.Cleanup(m.Close)
	return m, clock, events
}

// A view renders a frame on every tick of its clock and sends it to its
// viewers; a tick that comes late counts the frames it skipped as dropped,
// and the frame sent then lasts from the one before.
func TestViewRendersOnItsClock(t *testing.T) {
	m, clock, events := steppedMixer(t, 1)
	sink := &durationSink{}
	if err := m.SetViewer("agent", layout.Spec{Parties: []string{"customer"}, Mode: layout.Equal}, sink); err != nil {
		t.Fatal(err)
	}
	period := time.Second / 15
	for range 3 {
		clock.Advance(period)
		if n := receive(t, events.composed, "frame on a tick"); n != 1 {
			t.Errorf("a frame went to %d viewers, want 1", n)
		}
	}
	clock.Advance(3 * period) // two ticks late
	receive(t, events.composed, "frame on a late tick")
	m.Close() // the view's goroutine is done: its sink may be read
	if want := []time.Duration{period, period, period, 3 * period}; !slices.Equal(sink.durations, want) {
		t.Errorf("the viewer got frames lasting %v, want %v", sink.durations, want)
	}
	if extra := len(events.composed) + int(events.extra.Load()); extra != 0 {
		t.Errorf("%d frames composed beyond one per tick", extra)
	}
	if n := events.dropped.Load(); n != 2 {
		t.Errorf("%d frames counted as dropped after a tick two periods late, want 2", n)
	}
	if n := clock.running(); n != 0 {
		t.Errorf("%d tickers still running after Close", n)
	}
}

// durationSink keeps the duration of every frame it receives.
type durationSink struct{ durations []time.Duration }

func (d *durationSink) WriteSample(s media.Sample) error {
	d.durations = append(d.durations, s.Duration)
	return nil
}

// skipEvents counts the pictures a source reports skipped.
type skipEvents struct {
	NopObserver
	skipped int
}

func (s *skipEvents) PictureSkipped() { s.skipped++ }

// A picture replaced before the view drew it, while the one before was
// drawn, is reported skipped; pictures before any view drew the source,
// and pictures each drawn in turn, are not.
func TestSkippedPicturesAreReported(t *testing.T) {
	v, s, clock := newDrawingView(t)
	events := &skipEvents{}
	s.observe = events
	frames := encodeFrames(t, 640, 360, 5)
	s.decode(frames[0])
	s.decode(frames[1]) // no view has drawn the source yet
	v.compose(*clock)
	s.decode(frames[2])
	v.compose(*clock)
	if events.skipped != 0 {
		t.Fatalf("%d pictures reported skipped with every one drawn since the view began", events.skipped)
	}
	s.decode(frames[3])
	s.decode(frames[4]) // 3 was never drawn
	if events.skipped != 1 {
		t.Errorf("%d pictures reported skipped after one replaced undrawn, want 1", events.skipped)
	}
}
