// Package call is threeway's domain: calls and their parties, roles,
// per-viewer layout choices, video and share flags; help-seeking by queue,
// named agent or number; agents, their presence and skill queues; and every
// rule of the product about who may do what, when.
//
// It knows nothing of networks or media. A Center holds all state behind
// one lock (Center's doc says why), so each change happens in one place,
// in order, and tells a Notifier what changed; the signaling layer turns
// that into messages and mixer updates. Time comes from an injectable
// Clock, so help timeouts are tested without sleeping.
package call
