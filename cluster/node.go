package cluster

import (
	"math"
	"time"
)

const (
	// cpuTarget is the share of its cores a node is filled to: the rest
	// absorbs a call's peaks (key frames, joins) and the machine's noise.
	cpuTarget = 0.8
	// firstCallCPU is what a call is taken to cost, in cores, on a node
	// that holds none to measure: about an `equal` call at 15 fps.
	firstCallCPU = 0.1
)

// Node is one server as the cluster sees it: its heartbeat's record.
type Node struct {
	ID       string  `json:"id"`
	URL      string  `json:"url"`       // its HTTP API and /ws, for the other nodes
	Calls    int     `json:"calls"`     // open on it (the call list's count when higher)
	MaxCalls int     `json:"max_calls"` // 0: no limit but its CPU
	Cores    float64 `json:"cores"`
	CPU      float64 `json:"cpu"` // cores in use, measured over the last heartbeat period
	Draining bool    `json:"draining"`
	// Directory is the digest of the node's directory (agents, queues):
	// every node should have the same.
	Directory string    `json:"directory,omitempty"`
	At        time.Time `json:"at"` // of the heartbeat
}

// CPUPerCall is what a call costs on the node, in cores: its measured
// CPU over its calls, and never less than firstCallCPU, since a call just
// placed has not started its media yet.
func (n Node) CPUPerCall() float64 {
	if n.Calls == 0 {
		return firstCallCPU
	}
	return max(n.CPU/float64(n.Calls), firstCallCPU)
}

// Headroom is how many more calls the node takes: what its spare CPU (up
// to cpuTarget of its cores, less what it measures or its calls will
// cost) holds at its CPU per call, and no more than --max-calls allows.
func (n Node) Headroom() float64 {
	perCall := n.CPUPerCall()
	room := math.Inf(1) // a node that did not say its cores: only --max-calls bounds it
	if n.Cores > 0 {
		room = (n.Cores*cpuTarget - max(n.CPU, float64(n.Calls)*perCall)) / perCall
	}
	if n.MaxCalls > 0 {
		room = math.Min(room, float64(n.MaxCalls-n.Calls))
	}
	return room
}
