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
// frame rate, and one audio goroutine per Mixer on a 20 ms clock.
//
// A source's picture stays in libvpx's buffer, never copied out at the
// sender's size: views draw it from there straight onto their canvases
// (copied, or scaled up into a larger tile), under a read lock that the
// next decode takes for writing. The smaller sizes views show it at are
// scaled from that buffer as it is decoded and published by swapping
// reference-counted pointers, one per size. A view's canvas keeps its
// pixels between frames, so a tile still showing the latest picture is not
// drawn again. A view waits for a decode only for a tile with no picture
// yet (one that has a picture keeps it a frame longer), and a decode waits
// only for views' copies and scales out of the buffer.
//
// A view's compose and encode take one of a few CPU slots, one per CPU
// the process may use, so views never outnumber cores inside libvpx;
// sources decode without waiting for slots, since every frame must be
// decoded.
package mixer
