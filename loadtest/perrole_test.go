package loadtest

import (
	"testing"
	"time"

	"github.com/threeway-mcu/threeway/peer"
	"github.com/threeway-mcu/threeway/peer/netcond"
)

// A role's row adds up its own streams (what it received) and its tile in
// the other parties' streams, read at the viewer that saw it best.
func TestPerRoleReadsEachRolesTileAtTheOthers(t *testing.T) {
	t0 := time.Now()
	tiles := func(customer, customerFreezes int) map[string]peer.TileUpdates {
		return map[string]peer.TileUpdates{
			"customer": {Count: customer, Freezes: customerFreezes},
			"agent":    {Count: 150}, "third": {Count: 150},
		}
	}
	call := &callRun{}
	newStream := func(role string, end peer.Stats) *stream {
		end.FramesDecoded = 150
		return &stream{call: call, role: role, heldAt: t0, endAt: t0.Add(10 * time.Second),
			held: peer.Stats{TileUpdates: map[string]peer.TileUpdates{}}, end: end, latency: []float64{40, 50}}
	}
	streams := []*stream{
		newStream("customer", peer.Stats{Freezes: 1, TileUpdates: tiles(150, 0), AudioFramesDue: 500, AudioFramesConcealed: 20,
			NACKsSent: 7, NACKsReceived: 3, PLIsSent: 2, PLIsReceived: 1, Retransmissions: 3}),
		// The customer's tile moved at 12 fps for the agent, with a
		// freeze, and at 10 fps for the third, with two: the agent saw it
		// best.
		newStream("agent", peer.Stats{TileUpdates: tiles(120, 1), AudioFramesDue: 500}),
		newStream("third", peer.Stats{TileUpdates: tiles(100, 2), AudioFramesDue: 500}),
		// Another call's agent, who saw a customer of its own.
		{call: &callRun{}, role: "agent", heldAt: t0, endAt: t0.Add(10 * time.Second), held: peer.Stats{},
			end: peer.Stats{FramesDecoded: 150, TileUpdates: tiles(150, 0)}},
	}
	per := perRole(streams, map[string]netcond.Conditions{"customer": {Loss: 0.05}})
	c := per["customer"]
	if c.Network != "loss=5%" || c.FPSP50 != 15 || c.TileFPSP50 != 12 || c.Freezes != 2 || c.LatencyMSP99 != 50 ||
		c.AudioConcealedRatio != 0.04 || c.NACKsSent != 7 || c.NACKsReceived != 3 || c.PLIsSent != 2 ||
		c.PLIsReceived != 1 || c.Retransmissions != 3 {
		t.Errorf("customer %+v", c)
	}
	a := per["agent"]
	if a.Network != "" || a.TileFPSP50 != 15 || a.Freezes != 0 || a.AudioConcealedRatio != 0 || a.NACKsSent != 0 {
		t.Errorf("agent %+v", a)
	}
}
