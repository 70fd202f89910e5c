package codec

import "errors"

// Errors returned (wrapped) by this package. Callers test them with
// errors.Is; the wrapping adds which codec and step failed.
var (
	// ErrCorrupt means compressed input could not be decoded or decoded
	// into a damaged picture. For video the usual reaction is to ask the
	// sender for a key frame; for audio, to conceal the frame.
	ErrCorrupt = errors.New("corrupt or undecodable input")

	// ErrNoFrame means the decoder accepted the input but produced no
	// picture, which is not an error in the stream but leaves nothing to
	// show.
	ErrNoFrame = errors.New("decoder produced no frame")

	// ErrClosed means the encoder or decoder was used after Close.
	ErrClosed = errors.New("codec closed")

	// ErrBadParams means a constructor or setter was given a value the
	// codec cannot honour.
	ErrBadParams = errors.New("invalid codec parameters")

	// ErrFrameSize means a picture does not match the size the encoder was
	// created for, or its planes are too short for its stated size.
	ErrFrameSize = errors.New("frame size mismatch")

	// ErrShortBuffer means a caller-supplied PCM buffer cannot hold the
	// samples the decoder has to write.
	ErrShortBuffer = errors.New("buffer too short")

	// ErrLibrary means the underlying C library failed for a reason that
	// is not the input's fault (out of memory, internal error).
	ErrLibrary = errors.New("codec library failure")
)
