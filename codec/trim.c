#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "trim.h"

// tw_maps_read fills m with the private writable anonymous mappings of
// the process (/proc/self/maps); 0 on success.
int tw_maps_read(tw_maps *m) {
	FILE *f = fopen("/proc/self/maps", "r");
	if (f == NULL) return -1;
	char line[512];
	m->n = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long start, end, offset;
		char perms[5];
		unsigned int major, minor;
		unsigned long inode;
		int path = 0;
		if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &start, &end, perms, &offset, &major, &minor, &inode, &path) < 7) continue;
		if (inode != 0 || strcmp(perms, "rw-p") != 0 || (path > 0 && line[path] != '\n' && line[path] != '\0')) continue;
		if (m->n == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 256;
			unsigned long *s = realloc(m->start, cap * sizeof *s), *e;
			if (s == NULL) { fclose(f); return -1; }
			m->start = s;
			if ((e = realloc(m->end, cap * sizeof *e)) == NULL) { fclose(f); return -1; }
			m->end = e;
			m->cap = cap;
		}
		m->start[m->n] = start;
		m->end[m->n] = end;
		m->n++;
	}
	fclose(f);
	return 0;
}

void tw_maps_free(tw_maps *m) {
	free(m->start);
	free(m->end);
	memset(m, 0, sizeof *m);
}

static int tw_maps_has(const tw_maps *m, unsigned long start, unsigned long end) {
	for (size_t i = 0; i < m->n; i++) {
		if (m->start[i] == start && m->end[i] == end) return 1;
	}
	return 0;
}

// tw_maps_overlaps tells whether any of m's mappings meets [start, end).
static int tw_maps_overlaps(const tw_maps *m, unsigned long start, unsigned long end) {
	for (size_t i = 0; i < m->n; i++) {
		if (m->start[i] < end && start < m->end[i]) return 1;
	}
	return 0;
}

static int tw_page_is_zero(const unsigned char *p, size_t size) {
	const unsigned long *w = (const unsigned long *)p;
	for (size_t i = 0; i < size / sizeof *w; i++) {
		if (w[i] != 0) return 0;
	}
	return 1;
}

// tw_trim_new_chunk finds, in memory mapped since before, glibc
// chunks of their own mapping (malloc's mmapped chunks: a header of
// prev_size 0 and the chunk's page-rounded size with IS_MMAPPED) that hold
// an allocation of n bytes, and gives back to the kernel every page of
// them but the first that is all zeros; it returns how many bytes it gave
// back. A page given back (MADV_DONTNEED on private anonymous memory)
// reads as zeros again and costs memory only once written: its content is
// unchanged. The caller makes sure that no other allocation of that size
// is made meanwhile, and that its owner writes nothing to it yet.
size_t tw_trim_new_chunk(const tw_maps *before, size_t n) {
	tw_maps now = {0};
	if (tw_maps_read(&now) != 0) {
		tw_maps_free(&now);
		return 0;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE), freed = 0;
	for (size_t i = 0; i < now.n; i++) {
		if (tw_maps_has(before, now.start[i], now.end[i])) continue;
		for (unsigned long at = now.start[i]; at + page <= now.end[i]; at += page) {
			const size_t *header = (const size_t *)at;
			size_t size = header[1] & ~(size_t)7;
			if (header[0] != 0 || (header[1] & 7) != 2 || size < n || size > n + 2 * page ||
				size % page != 0 || at + size > now.end[i]) continue;
			// Only memory mapped since before: the kernel merges a new
			// mapping with its neighbours, which may be other codecs'.
			if (tw_maps_overlaps(before, at, at + size)) continue;
			unsigned char *end = (unsigned char *)(at + size), *run = NULL;
			for (unsigned char *p = (unsigned char *)(at + page); p < end; p += page) {
				int zero = tw_page_is_zero(p, page);
				if (zero && run == NULL) run = p;
				if (!zero && run != NULL) {
					if (madvise(run, (size_t)(p - run), MADV_DONTNEED) == 0) freed += (size_t)(p - run);
					run = NULL;
				}
			}
			if (run != NULL && madvise(run, (size_t)(end - run), MADV_DONTNEED) == 0) freed += (size_t)(end - run);
			at += size - page;
		}
	}
	tw_maps_free(&now);
	return freed;
}
