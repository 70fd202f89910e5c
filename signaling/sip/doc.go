// Package sip dials external numbers for the call center: a SIP user
// agent (sipgo) that is the center's call.Dialer, and for each answered
// phone an RTP leg in G.711 that joins its call's mix.
//
// One goroutine per dial carries it from the INVITE to the BYE
// (dial.go); Dial and Hangup, which run under the center's lock, only
// start it or tell it to end. Reasons, codes and timers follow the
// README's "External numbers" section.
package sip
