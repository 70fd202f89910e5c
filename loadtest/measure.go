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
	// gapPoll is how often streams are checked for frame gaps.
	gapPoll = 25 * time.Millisecond
	// toneFloor and toneMargin: a party hears another's tone above the
	// floor, and its own at least the margin below the quietest other.
	toneFloor  = -30.0
	toneMargin = 30.0
	// speechFloor and silenceCeiling: in a turn of speech the others hear
	// the speaker above the floor and the speaker hears less than the
	// ceiling (nothing: its mix is silent); speechOKShare of the checks
	// must hold.
	speechFloor    = -45.0
	silenceCeiling = -60.0
	speechOKShare  = 0.8
	// heardSpan is the audio a check's level covers, back from now: the
	// peer's last 400 ms, received up to about 100 ms ago.
	heardSpan = 600 * time.Millisecond
	// generatorCPUMax is the most CPU the generator may spend, as a share
	// of the server's for the same calls, for its figures to be the
	// server's and not its own (issue 4).
	generatorCPUMax = 0.5
)

// stream follows one party's received media.
type stream struct {
	call      *callRun
	role      string
	peer      *peer.Peer
	lastN     int       // frames decoded at the last poll
	lastAt    time.Time // when lastN last changed
	inGap     bool
	frameGaps int
	held      peer.Stats // counters when the hold began
	heldAt    time.Time
	end       peer.Stats // and at the end (result)
	endAt     time.Time
	secN      int // frames decoded at the last one-second sample
	// speechChecks and speechOK count the one-second speech checks (with
	// --audio speech) and those that held.
	speechChecks, speechOK int
	latency                []float64
	joinMS                 float64
	lastFPS                float64
}

// meter samples every stream while the run goes on.
type meter struct {
	// before is the server as the run found it, before its calls.
	before processSample
	r      *runner
	mu     sync.Mutex
	all    []*stream
	began  time.Time
	held   bool
	last   processSample // the latest one-second scrape, for the charts
	// holdProc and holdCPU are the server's figures and this process's
	// CPU when every call was up: the window the CPU figures cover.
	holdProc processSample
	holdCPU  time.Duration
	// viewSeconds is the views' running time over the hold, from the
	// one-second scrapes: views split off and merge as viewers' paths
	// change, so the count at one moment does not stand for the window.
	viewSeconds float64
	res         Result
	stopC       chan struct{}
	done        chan struct{}
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
		st := p.Counters()
		s := &stream{call: c, role: role, peer: p, lastN: st.FramesDecoded, lastAt: time.Now()}
		s.noteJoin(st)
		m.all = append(m.all, s)
	}
}

// noteJoin sets the join time once the first composed picture is in:
// from the party's own connect (join, or accepting help) to that picture.
func (s *stream) noteJoin(st peer.Stats) {
	if s.joinMS == 0 && !st.FirstFrameAt.IsZero() {
		s.joinMS = ms(st.FirstFrameAt.Sub(s.call.started[s.role]))
	}
}

func (m *meter) start(ctx context.Context) {
	m.last = m.r.scrape(ctx)
	m.before = m.last
	go m.loop(ctx)
}

func (m *meter) loop(ctx context.Context) {
	defer close(m.done)
	poll := time.NewTicker(gapPoll)
	defer poll.Stop()
	second := time.NewTicker(time.Second)
	defer second.Stop()
	for {
		select {
		case <-m.stopC:
			return
		case now := <-poll.C:
			m.pollGaps(now)
		case now := <-second.C:
			m.sample(ctx, now)
		}
	}
}

// pollGaps counts gaps of more than three frame intervals, as they
// happen (the peer counts freezes, of over 600 ms, as they end).
func (m *meter) pollGaps(now time.Time) {
	limit := 3 * time.Second / time.Duration(m.r.params.FPS)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.all {
		st := s.peer.Counters()
		n := st.FramesDecoded
		switch {
		case n != s.lastN:
			s.lastN, s.lastAt, s.inGap = n, now, false
		case m.held && !s.inGap && now.Sub(s.lastAt) > limit:
			s.inGap = true
			s.frameGaps++
		}
		s.noteJoin(st)
	}
}

// sample takes the one-second figures: fps, latency, server CPU.
func (m *meter) sample(ctx context.Context, now time.Time) {
	proc := m.r.scrape(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	var fpsSum float64
	var healthy int
	var lat []float64
	for _, s := range m.all {
		st := s.peer.Counters()
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
			if m.r.params.Audio == peer.AudioSpeech {
				s.checkSpeech(now)
			}
		}
	}
	pt := Point{T: now.Sub(m.began).Seconds(), Calls: len(m.all) / len(roles), Healthy: healthy,
		LatencyMSP50: percentile(lat, 50)}
	if len(m.all) > 0 {
		pt.FPS = fpsSum / float64(len(m.all))
	}
	if proc.OK && m.last.OK {
		pt.ServerCores = (proc.CPU - m.last.CPU) / proc.At.Sub(m.last.At).Seconds()
	}
	m.addViewTime(m.last, proc)
	m.last = proc
	m.res.Series = append(m.res.Series, pt)
	m.r.progress.draw(pt, m.r.params.Calls, len(m.all))
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

// hold marks the moment every call is up: measurement starts, and the
// server's CPU and this process's are read for the window's start.
func (m *meter) hold(ctx context.Context) {
	proc := m.r.scrape(ctx)
	cpu := processCPU()
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held = true
	m.holdProc, m.holdCPU = proc, cpu
	for _, s := range m.all {
		s.held, s.heldAt = s.peer.Counters(), now
	}
}

// stop ends sampling and computes the result over the hold.
func (m *meter) stop(ctx context.Context) *Result {
	close(m.stopC)
	<-m.done
	end := m.r.scrape(ctx)
	generatorCPU := processCPU() - m.holdCPU
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addViewTime(m.last, end)
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
	var fps, joins, helps, lat, uplink []float64
	var tilesOK, audioOK, lost, expected int
	for _, s := range m.all {
		out := s.result(m.r.params.Audio)
		res.Streams = append(res.Streams, out)
		fps = append(fps, out.FPS)
		uplink = append(uplink, out.UplinkKbps)
		joins = append(joins, out.JoinMS)
		if out.HelpMS > 0 {
			helps = append(helps, out.HelpMS)
		}
		lat = append(lat, s.latency...)
		res.Summary.Freezes += out.Freezes
		res.Summary.FrameGaps += out.FrameGaps
		lost += out.PacketsLost
		expected += out.PacketsLost + out.Packets
		if out.TilesOK {
			tilesOK++
		}
		if out.AudioOK {
			audioOK++
		}
	}
	sum := &res.Summary
	sum.FPSP50 = percentile(fps, 50)
	sum.UplinkKbpsP50 = percentile(uplink, 50)
	if len(fps) > 0 {
		sum.FPSMin = slices.Min(fps)
	}
	sum.LatencyMSP50, sum.LatencyMSP99 = percentile(lat, 50), percentile(lat, 99)
	sum.JoinMSP99 = percentile(joins, 99)
	sum.HelpMSP99 = percentile(helps, 99)
	sum.PacketsLost, sum.LossRatio = lost, ratio(lost, expected)
	if n := float64(len(m.all)); n > 0 {
		sum.TilesOKRatio, sum.AudioOKRatio = float64(tilesOK)/n, float64(audioOK)/n
	}
	res.PerRole = perRole(m.all, m.r.params.Impair)
	serverFigures(sum, m.holdProc, end, len(m.all)/len(roles))
	if calls := len(m.all) / len(roles); m.before.OK && end.OK && calls > 0 {
		sum.ServerRSSMBPerCall = (end.RSS - m.before.RSS) / (1 << 20) / float64(calls)
	}
	latencyTarget(sum, m.holdProc, end, m.viewSeconds)
	sum.PerNode = perNodeFigures(m.r.calls, m.holdProc, end)
	generatorFigures(sum, generatorCPU)
	return res
}

// result is what the stream received during the hold, its audio judged
// as audio (tone or speech) asks; it keeps the end's counters.
func (s *stream) result(audio string) Stream {
	st := s.peer.Stats()
	s.end, s.endAt = st, time.Now()
	out := Stream{Call: s.call.id, Role: s.role, JoinMS: s.joinMS, Freezes: st.Freezes - s.held.Freezes,
		FrameGaps: s.frameGaps, DecodeErrors: st.DecodeErrors,
		LatencyMSP50: percentile(s.latency, 50), LatencyMSP99: percentile(s.latency, 99), FPS: s.fps(),
		UplinkKbps: s.uplinkKbps()}
	if s.role == "third" && !s.call.helpAt.IsZero() && !s.call.helpJoinedAt.IsZero() {
		out.HelpMS = ms(s.call.helpJoinedAt.Sub(s.call.helpAt))
	}
	out.VideoPacketsLost = st.VideoPacketsLost - s.held.VideoPacketsLost
	out.AudioPacketsLost = st.AudioPacketsLost - s.held.AudioPacketsLost
	out.PacketsLost = out.VideoPacketsLost + out.AudioPacketsLost
	out.Packets = st.VideoPackets - s.held.VideoPackets + st.AudioPackets - s.held.AudioPackets
	out.LossRatio = ratio(out.PacketsLost, out.PacketsLost+out.Packets)
	out.TilesOK = len(st.Tiles) == len(roles)
	out.AudioOK = hearsRight(st.ToneDBFS, s.role)
	if audio == peer.AudioSpeech {
		out.AudioOK = s.speechHeard()
	}
	return out
}

// uplinkKbps is what the party's camera sent, in kbit/s, from the hold
// to the end: its payload, as send.limits (or their absence) shaped it.
func (s *stream) uplinkKbps() float64 {
	if d := s.endAt.Sub(s.heldAt).Seconds(); d > 0 {
		return float64(s.end.CameraBytesSent-s.held.CameraBytesSent) * 8 / 1000 / d
	}
	return 0
}

// fps is the pictures received per second from the hold to the end.
func (s *stream) fps() float64 {
	if d := s.endAt.Sub(s.heldAt).Seconds(); d > 0 {
		return float64(s.end.FramesDecoded-s.held.FramesDecoded) / d
	}
	return 0
}

// serverFigures derives the server's CPU per call-second and memory from
// its /metrics when every call was up (hold) and at the end: a window in
// which all calls ran all the time.
func serverFigures(sum *Summary, hold, end processSample, calls int) {
	if !hold.OK || !end.OK || !end.At.After(hold.At) {
		return
	}
	sum.ServerCPUS = end.CPU - hold.CPU
	if callSeconds := float64(calls) * end.At.Sub(hold.At).Seconds(); callSeconds > 0 {
		sum.ServerCPUSPerCallS = sum.ServerCPUS / callSeconds
		sum.EncodeSPerCallS = (end.EncodeS - hold.EncodeS) / callSeconds
	}
	sum.ServerRSSMB = end.RSS / (1 << 20)
}

// perNodeFigures are, for a run over a cluster, each node's calls placed
// and its CPU per call-second over the hold; nil for one server.
func perNodeFigures(calls []*callRun, hold, end processSample) map[string]NodeFigures {
	if end.Nodes == nil {
		return nil
	}
	out := map[string]NodeFigures{}
	placed := map[string]int{}
	for _, c := range calls {
		if c.node != "" && c.err == nil {
			placed[c.node]++
		}
	}
	secs := end.At.Sub(hold.At).Seconds()
	for id, n := range end.Nodes {
		f := NodeFigures{Calls: placed[id]}
		if h, ok := hold.Nodes[id]; ok && h.OK && n.OK && f.Calls > 0 && secs > 0 {
			f.ServerCPUSPerCallS = (n.CPU - h.CPU) / (float64(f.Calls) * secs)
		}
		out[id] = f
	}
	return out
}

// addViewTime adds the views' running time between two scrapes, the part
// of it inside the hold, taking the count as moving evenly between them.
func (m *meter) addViewTime(from, to processSample) {
	if !m.held || !from.OK || !to.OK || !m.holdProc.OK {
		return
	}
	start := from.At
	if start.Before(m.holdProc.At) {
		start = m.holdProc.At
	}
	if d := to.At.Sub(start).Seconds(); d > 0 {
		m.viewSeconds += d * (from.Views + to.Views) / 2
	}
}

// latencyTarget derives the views' frame interval (their running time
// over the frames they encoded) and the encode time over the hold, and
// from them the latency target.
func latencyTarget(sum *Summary, hold, end processSample, viewSeconds float64) {
	frames := end.Frames - hold.Frames
	if !hold.OK || !end.OK || viewSeconds <= 0 || frames <= 0 {
		return
	}
	sum.FrameIntervalMS = 1000 * viewSeconds / frames
	sum.EncodeMSP99 = 1000 * end.Encode.quantileSince(hold.Encode, 0.99)
	sum.LatencyTargetMS = sum.FrameIntervalMS + sum.EncodeMSP99
}

// generatorFigures sets this process's CPU over the same window and its
// share of the server's.
func generatorFigures(sum *Summary, cpu time.Duration) {
	sum.GeneratorCPUS = cpu.Seconds()
	if sum.ServerCPUS > 0 {
		sum.GeneratorCPURatio = sum.GeneratorCPUS / sum.ServerCPUS
	}
}

// checkSpeech checks, if now's last heardSpan lies in one speaker's
// sentence, that the stream hears it, or nothing if it is the speaker.
func (s *stream) checkSpeech(now time.Time) {
	speaker, speaking := peer.SpeechAt(now.Add(-heardSpan))
	if then, still := peer.SpeechAt(now); !speaking || !still || then != speaker {
		return // a pause or a change of turn: not judged
	}
	dbfs := s.peer.Stats().HeardDBFS
	s.speechChecks++
	if speaker == s.role && dbfs < silenceCeiling || speaker != s.role && dbfs > speechFloor {
		s.speechOK++
	}
}

// speechHeard tells whether enough speech checks held.
func (s *stream) speechHeard() bool {
	return s.speechChecks > 0 && float64(s.speechOK) >= speechOKShare*float64(s.speechChecks)
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

func ratio(n, of int) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
