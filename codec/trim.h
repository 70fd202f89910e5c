// Giving back the pages libvpx's VP8 encoder zero-fills at open but never
// uses (trim.c, memory.go).
#ifndef THREEWAY_CODEC_TRIM_H
#define THREEWAY_CODEC_TRIM_H

#include <stddef.h>

// tw_maps is a snapshot of the process's private writable anonymous
// mappings.
typedef struct {
	size_t n, cap;
	unsigned long *start, *end;
} tw_maps;

int tw_maps_read(tw_maps *m);
void tw_maps_free(tw_maps *m);
size_t tw_trim_new_chunk(const tw_maps *before, size_t n);

#endif
