// Package signaling carries threeway's WebSocket protocol (PROTOCOL.md):
// joining calls, SDP offer/answer and trickled ICE over JSON messages, one
// pion PeerConnection per party, and the wiring of each party's tracks
// into its call's mixer.
//
// Each WebSocket has one session goroutine that owns the party's state and
// drains a queue of actions: inbound messages and pion's callbacks alike,
// so that nothing about a party changes concurrently.
package signaling
