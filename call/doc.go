// Package call is threeway's domain: calls and their parties, roles,
// per-viewer layout choices, video and share flags; help-seeking by queue,
// named agent or number; agents, their presence and skill queues; and every
// rule of the product about who may do what, when.
//
// It knows nothing of networks or media. A Center holds all state behind
// one lock, so each change happens in one place, in order, and tells a
// Notifier what changed; the signaling layer turns that into messages and
// mixer updates. One lock rather than one per call or agent, because every
// rule reads state from more than one of them (a join makes an agent busy,
// a help offer picks among agents for a call), events must go out in the
// order things happened, and holding it costs nothing next to the media,
// which never takes it. Time comes from an injectable Clock, so help
// timeouts are tested without sleeping.
package call
