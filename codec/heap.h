// The C side of tuning the C heap (memory.go).
#ifndef THREEWAY_CODEC_HEAP_H
#define THREEWAY_CODEC_HEAP_H

void tw_malloc_setup(void);

#endif
