#include <malloc.h>
#include "heap.h"

// tw_malloc_setup makes glibc give back what closed codecs free. Their
// big buffers (a 1280x720 encoder holds tens of megabytes) are mapped on
// their own and unmapped when freed, instead of glibc's default of raising
// that threshold to 32 MB after the first such free and keeping later
// ones in its heaps; and two arenas serve all threads, since codec calls
// run on whichever thread the Go scheduler picks and glibc would give
// each its own arena, each keeping freed memory. Codecs allocate when they
// open, not per frame, so neither costs anything in the steady state.
void tw_malloc_setup(void) {
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}
