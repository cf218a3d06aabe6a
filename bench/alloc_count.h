/* Counts heap allocations of the whole process: the benchmark executable
 * defines malloc, calloc, realloc, free and the aligned variants (glibc
 * allows replacing them) and forwards to glibc's __libc_* functions, so
 * calls from DPDK, the PMDs and libc itself are counted too. Built only
 * where no sanitizer owns malloc (alloc_count_enabled() says which). */
#ifndef AEGIS_BENCH_ALLOC_COUNT_H
#define AEGIS_BENCH_ALLOC_COUNT_H

#include <stdbool.h>
#include <stdint.h>

struct alloc_count {
	uint64_t allocs; /* malloc, calloc, realloc, memalign & co */
	uint64_t frees;  /* free of a non-NULL pointer */
};

bool alloc_count_enabled(void);
void alloc_count_read(struct alloc_count *out);

#endif
