package loadtest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/threeway-mcu/threeway/peer"
)

const (
	// freezePoll is how often streams are checked for freezes.
	freezePoll = 25 * time.Millisecond
	// toneFloor and toneMargin: a party hears another's tone above the
	// floor, and its own at least the margin below the quietest other.
	toneFloor  = -30.0
	toneMargin = 30.0
)

// stream follows one party's received media.
type stream struct {
	call     *callRun
	role     string
	peer     *peer.Peer
	lastN    int       // frames decoded at the last poll
	lastAt   time.Time // when lastN last changed
	frozen   bool
	freezes  int
	heldN    int // frames decoded when the hold began
	heldAt   time.Time
	secN     int // frames decoded at the last one-second sample
	latency  []float64
	joinMS   float64
	lastFPS  float64
	inactive bool
}

// meter samples every stream while the run goes on.
type meter struct {
	r     *runner
	mu    sync.Mutex
	all   []*stream
	began time.Time
	held  bool
	proc  []processSample
	res   Result
	stopC chan struct{}
	done  chan struct{}
}

func newMeter(r *runner) *meter {
	return &meter{r: r, began: time.Now(), stopC: make(chan struct{}), done: make(chan struct{})}
}

// ready starts following a call's streams once it is set up.
func (m *meter) ready(c *callRun) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.err != nil {
		return
	}
	for _, role := range roles {
		p := c.peers[role]
		st := p.Stats()
		s := &stream{call: c, role: role, peer: p, lastN: st.FramesDecoded, lastAt: time.Now()}
		if !st.FirstFrameAt.IsZero() {
			s.joinMS = ms(st.FirstFrameAt.Sub(c.started[role]))
		}
		m.all = append(m.all, s)
	}
}

func (m *meter) start(ctx context.Context) {
	m.proc = append(m.proc, m.r.api.scrape(ctx))
	go m.loop(ctx)
}

func (m *meter) loop(ctx context.Context) {
	defer close(m.done)
	poll := time.NewTicker(freezePoll)
	defer poll.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()
	for {
		select {
		case <-m.stopC:
			return
		case now := <-poll.C:
			m.pollFreezes(now)
		case now := <-second.C:
			m.sample(ctx, now)
		}
	}
}

// pollFreezes counts gaps of more than three frame intervals.
func (m *meter) pollFreezes(now time.Time) {
	limit := 3 * time.Second / time.Duration(m.r.params.FPS)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.all {
		n := s.peer.Stats().FramesDecoded
		switch {
		case n != s.lastN:
			s.lastN, s.lastAt, s.frozen = n, now, false
		case m.held && !s.frozen && now.Sub(s.lastAt) > limit:
			s.frozen = true
			s.freezes++
		}
		if s.joinMS == 0 && n > 0 {
			if first := s.peer.Stats().FirstFrameAt; !first.IsZero() {
				s.joinMS = ms(first.Sub(s.call.started[s.role]))
			}
		}
	}
}

// sample takes the one-second figures: fps, latency, server CPU.
func (m *meter) sample(ctx context.Context, now time.Time) {
	proc := m.r.api.scrape(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	var fpsSum float64
	var healthy int
	var lat []float64
	for _, s := range m.all {
		st := s.peer.Stats()
		s.lastFPS = float64(st.FramesDecoded - s.secN)
		s.secN = st.FramesDecoded
		fpsSum += s.lastFPS
		if s.lastFPS >= m.minFPS() {
			healthy++
		}
		l := m.latencies(s, st)
		lat = append(lat, l...)
		if m.held {
			s.latency = append(s.latency, l...)
		}
	}
	pt := Point{T: now.Sub(m.began).Seconds(), Calls: len(m.all) / len(roles), Healthy: healthy,
		LatencyMSP50: percentile(lat, 50)}
	if len(m.all) > 0 {
		pt.FPS = fpsSum / float64(len(m.all))
	}
	if last := m.proc[len(m.proc)-1]; proc.OK && last.OK {
		pt.ServerCores = (proc.CPU - last.CPU) / proc.At.Sub(last.At).Seconds()
	}
	m.proc = append(m.proc, proc)
	m.res.Series = append(m.res.Series, pt)
	if w := m.r.params.Progress; w != nil {
		fmt.Fprintf(w, "\rcalls up %d/%d | streams healthy %d/%d | fps %.1f | latency p50 %.0f ms | server %.2f cores   ",
			pt.Calls, m.r.params.Calls, healthy, len(m.all), pt.FPS, pt.LatencyMSP50, pt.ServerCores)
	}
}

// latencies reads, for each tile of the last picture, how long ago its
// frame left its sender.
func (m *meter) latencies(s *stream, st peer.Stats) []float64 {
	var out []float64
	for role, tile := range st.Tiles {
		sender := s.call.peers[role]
		if sender == nil || tile.FrameNumber < 0 {
			continue
		}
		n := uint16(tile.FrameNumber)
		sent, ok1 := sender.SentAt(n)
		got, ok2 := s.peer.ReceivedAt(role, n)
		if ok1 && ok2 && got.After(sent) {
			out = append(out, ms(got.Sub(sent)))
		}
	}
	return out
}

func (m *meter) minFPS() float64 {
	share := m.r.params.SLOFPS
	if share == 0 {
		share = 0.9
	}
	return share * float64(m.r.params.FPS)
}

// hold marks the moment every call is up: measurement starts.
func (m *meter) hold(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held = true
	for _, s := range m.all {
		s.heldN, s.heldAt = s.peer.Stats().FramesDecoded, now
	}
}

// stop ends sampling and computes the result.
func (m *meter) stop() *Result {
	close(m.stopC)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	res := &m.res
	res.Refused = map[string]int{}
	for _, c := range m.r.calls {
		switch {
		case c.refused != "":
			res.Refused[c.refused]++
		case c.err != nil:
			res.Failed = append(res.Failed, fmt.Sprintf("call %d: %v", c.index, c.err))
		default:
			res.Up++
		}
	}
	var fps, joins, lat []float64
	var tilesOK, audioOK int
	for _, s := range m.all {
		st := s.peer.Stats()
		out := Stream{Call: s.call.id, Role: s.role, JoinMS: s.joinMS, Freezes: s.freezes, DecodeErrors: st.DecodeErrors,
			LatencyMSP50: percentile(s.latency, 50), LatencyMSP99: percentile(s.latency, 99)}
		if d := time.Since(s.heldAt).Seconds(); d > 0 {
			out.FPS = float64(st.FramesDecoded-s.heldN) / d
		}
		out.TilesOK = len(st.Tiles) == len(roles)
		out.AudioOK = hearsRight(st.ToneDBFS, s.role)
		res.Streams = append(res.Streams, out)
		fps = append(fps, out.FPS)
		joins = append(joins, out.JoinMS)
		lat = append(lat, s.latency...)
		res.Summary.Freezes += s.freezes
		if out.TilesOK {
			tilesOK++
		}
		if out.AudioOK {
			audioOK++
		}
	}
	sum := &res.Summary
	sum.FPSP50 = percentile(fps, 50)
	if len(fps) > 0 {
		sum.FPSMin = slices.Min(fps)
	}
	sum.LatencyMSP50, sum.LatencyMSP99 = percentile(lat, 50), percentile(lat, 99)
	sum.JoinMSP99 = percentile(joins, 99)
	if n := float64(len(m.all)); n > 0 {
		sum.TilesOKRatio, sum.AudioOKRatio = float64(tilesOK)/n, float64(audioOK)/n
	}
	m.serverFigures(sum)
	return res
}

// serverFigures derives CPU per call-second over the hold, and memory.
func (m *meter) serverFigures(sum *Summary) {
	var first, last processSample
	for _, p := range m.proc {
		if !p.OK {
			continue
		}
		if !first.OK {
			first = p
		}
		last = p
	}
	if !first.OK || last.At.Equal(first.At) {
		return
	}
	sum.ServerCPUS = last.CPU - first.CPU
	callSeconds := float64(len(m.all)/len(roles)) * last.At.Sub(first.At).Seconds()
	if callSeconds > 0 {
		sum.ServerCPUSPerCallS = sum.ServerCPUS / callSeconds
	}
	sum.ServerRSSMB = last.RSS / (1 << 20)
}

// hearsRight: both other tones above the floor, its own well below them.
func hearsRight(levels map[string]float64, own string) bool {
	quietest := 0.0
	for _, r := range roles {
		if r == own {
			continue
		}
		l, ok := levels[r]
		if !ok || l < toneFloor {
			return false
		}
		quietest = math.Min(quietest, l)
	}
	return levels[own] <= quietest-toneMargin
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
