package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/threeway-mcu/threeway/call"
)

// centerCollector reads the call center's census at scrape time.
type centerCollector struct {
	center *call.Center
	calls  *prometheus.Desc
	party  *prometheus.Desc
	agents *prometheus.Desc
	help   *prometheus.Desc
}

// CenterCollector exposes calls, parties by role, agents by presence and
// pending help requests of center.
func CenterCollector(center *call.Center) prometheus.Collector {
	return &centerCollector{
		center: center,
		calls:  prometheus.NewDesc("threeway_calls", "Calls open.", nil, nil),
		party:  prometheus.NewDesc("threeway_parties", "Parties in calls, by role.", []string{"role"}, nil),
		agents: prometheus.NewDesc("threeway_agents", "Agents by presence state.", []string{"state"}, nil),
		help:   prometheus.NewDesc("threeway_help_pending", "Help requests pending.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *centerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.calls
	ch <- c.party
	ch <- c.agents
	ch <- c.help
}

// Collect implements prometheus.Collector.
func (c *centerCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.center.Counts()
	ch <- prometheus.MustNewConstMetric(c.calls, prometheus.GaugeValue, float64(n.Calls))
	ch <- prometheus.MustNewConstMetric(c.help, prometheus.GaugeValue, float64(n.Help))
	for _, r := range call.Roles {
		ch <- prometheus.MustNewConstMetric(c.party, prometheus.GaugeValue, float64(n.Parties[r]), string(r))
	}
	for _, s := range []call.PresenceState{call.Offline, call.Idle, call.Busy, call.Away} {
		ch <- prometheus.MustNewConstMetric(c.agents, prometheus.GaugeValue, float64(n.Agents[s]), string(s))
	}
}
