// Package signaling carries threeway's WebSocket protocol (PROTOCOL.md):
// joining calls, the client's SDP offers and the server's answers, and
// trickled ICE over JSON messages, one pion PeerConnection per party, and
// the wiring of each party's tracks into its call's mixer.
//
// Each WebSocket has one session goroutine that owns the party's state and
// drains a queue of actions: inbound messages and pion's callbacks alike,
// so that nothing about a party changes concurrently.
//
// A party's presence in a call is a leg, which ends (leg.end) when the
// call center lets go of the party, or when its socket goes: the party's
// seat then waits for it for the rejoin grace (call.Center.Disconnected),
// as it does while its media path is lost. A call's media is a room, whose
// worker goroutine closes it when the call ends, or when the server stops
// it.
package signaling
