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
//     (source.go): packets, frame building, key frame requests, decoding.
//     An audio track's owns its voice's reading side (voice.go).
//   - Views: one goroutine per view (view.go), ticking at the output frame
//     rate. It owns its tiles (tile.go), laid out once when the view is
//     made, and its encoder; viewers subscribe under the view's sinksMu.
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
// (picture.go). The picture stays in libvpx's buffer, never copied out at
// the sender's size: views draw it from there straight onto their canvases
// (copied, or scaled up into a larger tile), under a read lock (unpacking)
// that the next decode takes for writing. The smaller sizes views show it
// at are scaled from that buffer as it is decoded and published by swapping
// reference-counted frames, one per size (scaled.go). A view's canvas keeps
// its pixels between frames, so a tile still showing the latest picture is
// not drawn again. A view waits for a decode only for a tile with no
// picture yet (one that has a picture keeps it a frame longer), and a
// decode waits only for views' copies and scales out of the buffer. Lock
// order: unpacking, then the picture's mu.
//
// A view's compose and encode take one of a few CPU slots (CPUSlots), one
// per CPU the process may use, so views never outnumber cores inside
// libvpx; sources decode without waiting for slots, since every frame must
// be decoded.
package mixer
