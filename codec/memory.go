package codec

/*
#include <malloc.h>
#include "heap.h"
#include "vp8.h"
*/
import "C"

// TuneMalloc sets the C heap up for a server whose calls open and close
// codecs all day, as tw_malloc_setup describes. It is the process's
// choice, so the command that serves calls makes it, before the first.
func TuneMalloc() { C.tw_malloc_setup() }

// ReleaseMemory returns the C heaps' free memory to the system: call it
// when a call's encoders and decoders have closed.
func ReleaseMemory() { C.malloc_trim(0) }

// TrimEncoders turns on (the default) or off giving back, as each VP8
// encoder opens, the pages of its token buffer that libvpx zero-fills
// but has not used: the buffer is sized for the worst frame, 22 MB at
// 1280x720, of which a realtime frame writes a few megabytes. Pages given
// back read as zeros again, so the encoder's output is the same
// (TestTrimmedEncoderEncodesTheSame); they cost memory once written.
// Set it before opening encoders.
func TrimEncoders(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.tw_trim_encoders = v
}
