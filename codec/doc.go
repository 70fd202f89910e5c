// Package codec is threeway's only cgo package: VP8 encode and decode over
// libvpx, Opus encode and decode over libopus, and I420 plane scaling over
// libyuv. Everything above it sees plain Go types: Frame for pictures and
// []int16 for 20 ms of 48 kHz mono PCM.
//
// The C lives in .c files beside the Go that calls it (vp8.c, opusctl.c,
// scale.c, heap.c), each with a header declaring what Go may call; the cgo
// preambles hold only build flags and includes.
//
// Encoders and decoders are not safe for concurrent use; each belongs to the
// one goroutine that drives it (an ingest loop, a view, the audio clock).
package codec
