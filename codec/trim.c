#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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

// tw_maps_covering returns the end of the mapping of m that holds addr,
// or 0.
static unsigned long tw_maps_covering(const tw_maps *m, unsigned long addr) {
	for (size_t i = 0; i < m->n; i++) {
		if (m->start[i] <= addr && addr < m->end[i]) return m->end[i];
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

// tw_read_header reads the two words at addr through /proc/self/mem, so
// that memory another thread unmaps meanwhile is an error, not a crash.
static int tw_read_header(int mem, unsigned long addr, size_t header[2]) {
	return pread(mem, header, 2 * sizeof(size_t), (off_t)addr) == (ssize_t)(2 * sizeof(size_t)) ? 0 : -1;
}

// tw_give_back_zero_pages advises away the all-zero pages of [from, end).
static size_t tw_give_back_zero_pages(unsigned char *from, unsigned char *end, size_t page) {
	size_t freed = 0;
	unsigned char *run = NULL;
	for (unsigned char *p = from; p < end; p += page) {
		int zero = tw_page_is_zero(p, page);
		if (zero && run == NULL) run = p;
		if (!zero && run != NULL) {
			if (madvise(run, (size_t)(p - run), MADV_DONTNEED) == 0) freed += (size_t)(p - run);
			run = NULL;
		}
	}
	if (run != NULL && madvise(run, (size_t)(end - run), MADV_DONTNEED) == 0) freed += (size_t)(end - run);
	return freed;
}

// tw_trim_new_chunk finds, in memory mapped since before, glibc chunks of
// their own mapping (malloc's mmapped chunks: a header of prev_size 0 and
// the chunk's page-rounded size with IS_MMAPPED) that hold an allocation
// of n bytes, and gives back to the kernel every page of them but the
// first that is all zeros; it returns how many bytes it gave back. A page
// given back (MADV_DONTNEED on private anonymous memory) reads as zeros
// again and costs memory only once written: its content is unchanged.
// New memory is walked chunk by chunk from the low end of each stretch
// not mapped before (new mappings go below older ones, and the kernel
// merges neighbours); a header that is no glibc chunk ends the stretch.
// The caller makes sure that no other allocation of that size is made
// meanwhile, and that its owner writes nothing to it yet.
size_t tw_trim_new_chunk(const tw_maps *before, size_t n) {
	tw_maps now = {0};
	int mem = open("/proc/self/mem", O_RDONLY);
	if (mem < 0 || tw_maps_read(&now) != 0) {
		if (mem >= 0) close(mem);
		tw_maps_free(&now);
		return 0;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE), freed = 0;
	for (size_t i = 0; i < now.n; i++) {
		unsigned long at = now.start[i];
		while (at < now.end[i]) {
			unsigned long old = tw_maps_covering(before, at);
			if (old != 0) {
				at = old; // mapped before: not ours
				continue;
			}
			size_t header[2];
			size_t size = 0;
			if (tw_read_header(mem, at, header) == 0 && header[0] == 0 && (header[1] & 7) == 2) size = header[1] & ~(size_t)7;
			if (size == 0 || size % page != 0 || at + size > now.end[i] || tw_maps_overlaps(before, at, at + size)) {
				// Not a chunk of its own: skip to memory mapped before.
				while (at < now.end[i] && tw_maps_covering(before, at) == 0) at += page;
				continue;
			}
			if (size >= n && size <= n + 2 * page) {
				freed += tw_give_back_zero_pages((unsigned char *)(at + page), (unsigned char *)(at + size), page);
			}
			at += size;
		}
	}
	close(mem);
	tw_maps_free(&now);
	return freed;
}
