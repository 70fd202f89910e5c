package codec

/*
#include <malloc.h>
#include "heap.h"
*/
import "C"

// TuneMalloc sets the C heap up for a server whose calls open and close
// codecs all day, as tw_malloc_setup describes. It is the process's
// choice, so the command that serves calls makes it, before the first.
func TuneMalloc() { C.tw_malloc_setup() }

// ReleaseMemory returns the C heaps' free memory to the system: call it
// when a call's encoders and decoders have closed.
func ReleaseMemory() { C.malloc_trim(0) }
