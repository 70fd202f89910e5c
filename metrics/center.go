package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/threeway-mcu/threeway/call"
)

// centerCollector reads the call center's census at scrape time.
type centerCollector struct {
	center  *call.Center
	calls   *prometheus.Desc
	byState *prometheus.Desc
	party   *prometheus.Desc
	media   *prometheus.Desc
	sharing *prometheus.Desc
	waiting *prometheus.Desc
	agents  *prometheus.Desc
	help    *prometheus.Desc
}

// CenterCollector exposes calls (all, and by state), parties (by role, by
// media and those reconnecting), screen shares, agents by presence and pending help requests
// of center.
func CenterCollector(center *call.Center) prometheus.Collector {
	return &centerCollector{
		center: center,
		calls:  prometheus.NewDesc("threeway_calls", "Calls open.", nil, nil),
		byState: prometheus.NewDesc("threeway_calls_by_state",
			"Calls open by state: waiting (parties not joined yet), two_party, seeking_help (a help request pending), three_party.",
			[]string{"state"}, nil),
		party: prometheus.NewDesc("threeway_parties", "Parties in calls, by role (reconnecting ones included: their seats wait for them).", []string{"role"}, nil),
		waiting: prometheus.NewDesc("threeway_parties_reconnecting",
			"Parties whose connection dropped and whose seats wait for them for the rejoin grace.", nil, nil),
		media: prometheus.NewDesc("threeway_parties_by_media",
			"Parties in calls by whether their camera (video) and microphone (audio) are on.", []string{"video", "audio"}, nil),
		sharing: prometheus.NewDesc("threeway_parties_sharing", "Parties sharing their screen.", nil, nil),
		agents:  prometheus.NewDesc("threeway_agents", "Agents by presence state.", []string{"state"}, nil),
		help:    prometheus.NewDesc("threeway_help_pending", "Help requests pending.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *centerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.calls, c.byState, c.party, c.media, c.sharing, c.waiting, c.agents, c.help} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *centerCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.center.Counts()
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	gauge(c.calls, n.Calls)
	gauge(c.help, n.Help)
	gauge(c.sharing, n.Sharing)
	gauge(c.waiting, n.Reconnecting)
	for _, s := range call.CallStates {
		gauge(c.byState, n.CallsByState[s], string(s))
	}
	for _, r := range call.Roles {
		gauge(c.party, n.Parties[r], string(r))
	}
	for _, video := range []bool{true, false} {
		for _, audio := range []bool{true, false} {
			gauge(c.media, n.PartiesByMedia[call.MediaState{Video: video, Audio: audio}], onOff(video), onOff(audio))
		}
	}
	for _, s := range []call.PresenceState{call.Offline, call.Idle, call.Busy, call.Away} {
		gauge(c.agents, n.Agents[s], string(s))
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// statesCollector is a gauge by state read at scrape time.
type statesCollector struct {
	desc   *prometheus.Desc
	states []string
	read   func() map[string]int
}

// StatesCollector exposes gauge name with one series per state (label
// "state"), each read from read at scrape time; states read lists always
// appear, at zero when absent.
func StatesCollector(name, help string, states []string, read func() map[string]int) prometheus.Collector {
	return &statesCollector{desc: prometheus.NewDesc(name, help, []string{"state"}, nil), states: states, read: read}
}

// Describe implements prometheus.Collector.
func (c *statesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *statesCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.read()
	for _, s := range c.states {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n[s]), s)
	}
}
