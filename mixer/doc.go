// Package mixer does a call's media work: it decodes every source's VP8 and
// Opus, composes one picture per view from layout tiles, encodes each view
// once for all of its viewers, and mixes audio minus each listener's own
// voice. In the sfu mode it forwards instead (Forwarder, SFUOutput).
//
// The mixer knows nothing of calls or roles: it sees sources and voices
// (by opaque id), views (by layout spec) and viewers (by id).
//
// Threading and ownership:
//
//   - Ingest: one goroutine per inbound track, the caller's, inside
//     IngestVideo or IngestAudio. A video track's goroutine owns its source
//     (source.go): packets and frame building. Frames due at once decode
//     on it; frames held for their playout time (playout.go) decode on the
//     source's playout goroutine, which shares the held frames, key frame
//     requests and the decoder with it under the source's mu. An audio
//     track's owns its voice's reading side (voice.go).
//   - Views: one goroutine per view (view.go), ticking at the output frame
//     rate on the mixer's frame grid (grid.go), every view of a call at the
//     same moments. It owns its tiles (tile.go), laid out once when the view is
//     made, and its encoder, whose input is the canvas. The canvas keeps
//     its pixels between frames, so a tile still showing its source's
//     latest picture is not drawn again. Viewers subscribe under the
//     view's sinksMu.
//   - Audio: one goroutine per Mixer (audio.go) on a 20 ms tick, owning the
//     mixes and their encoders; voices' jitter buffers and decoders sit
//     under each voice's mu, shared with its ingest.
//   - Sfu: Forward runs on the track's goroutine and writes to each
//     receiver's SFUOutput under the output's mu; an output runs one
//     goroutine of its own, encoding the placeholder, while the camera it
//     shows is off.
//   - The sources and tile info maps are replaced, never edited (editCopy
//     under Mixer.mu), so views read them without a lock.
//   - A Clock (Params.Clock, SFUOutputParams.Clock) ticks views, audio and
//     placeholders, so that tests step time by hand.
//
// The one thing a source's ingest shares with views is its latest picture
// (latestPicture, picture.go), which views draw from libvpx's buffer, never
// from a copy at the sender's size. Its doc and its unpacking lock's say
// how decodes and views take turns on that buffer, and the lock order.
//
// Loss: a video source's packets after a missing one wait for NACK's
// retransmission, a bounded time (reorder.go); past it, the source asks
// for a key frame and its tile keeps the last whole picture until it
// comes. Jitter: a video source's frames decode at the pace of their
// timestamps, behind the transit most recent frames took (playout.go), so
// that frames bunched by the network or by a retransmission reach the
// views one tick apart; a source that had a picture skipped keeps its
// pictures clear of the views' ticks for a while (grid.go), so that a
// sender as regular as the ticks loses none to a millisecond of
// scheduling. A voice's jitter buffer is as deep as its packets' jitter
// needs (jitter.go) and rebuilds a lost frame from the next packet's
// in-band FEC, which the mixes' encoders code too.
//
// A view's compose and encode take one of a few CPU slots (CPUSlots), one
// per CPU the process may use, so views never outnumber cores inside
// libvpx; sources decode without waiting for slots, since every frame must
// be decoded.
package mixer
