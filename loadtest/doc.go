// Package loadtest drives a threeway server with synthetic parties along
// the product's real path (API call creation, joins, help from a queue,
// an agent console accepting) and measures what users would see: join
// time, received frame rate, latency through the mixer, freezes, the
// tones each party hears, and the server's CPU and memory per call. Each
// role's parties can be given a poor network (Params.Impair, ParseImpair),
// and what it did shows per role (Result.PerRole).
//
// It talks to the server only over HTTP, WebSocket and WebRTC, through
// package peer, so it measures a server as any client would; its parties
// come back on their own after a dropped socket or a lost media path
// (peer.Config.Reconnect), as the browser page does.
package loadtest
