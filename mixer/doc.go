// Package mixer does a call's media work: it decodes every source's VP8 and
// Opus, composes one picture per view from layout tiles, encodes each view
// once for all of its viewers, and mixes audio minus each listener's own
// voice.
//
// The mixer knows nothing of calls or roles: it sees sources and voices
// (by opaque id), views (by layout spec) and viewers (by id).
//
// Threading: one ingest goroutine per inbound track (the caller's, inside
// IngestVideo and IngestAudio), one goroutine per view ticking at the output
// frame rate, and one audio goroutine per Mixer on a 20 ms clock. Sources
// publish their latest frame by swapping reference-counted pointers, one
// per size views show it at: the ingest goroutine makes those sizes as it
// decodes, straight from libvpx's buffer, so a view's compose is copies
// into its canvas (and the upscale of a tile larger than the sender's
// picture, straight onto it), and neither waits for the other longer than
// a swap.
// A view's compose and encode take one of a few CPU slots, one per CPU
// the process may use, so views never outnumber cores inside libvpx;
// sources decode without waiting, since every frame must be decoded.
package mixer
