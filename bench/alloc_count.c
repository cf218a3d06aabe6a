/* The counting allocator of alloc_count.h. Relaxed atomic increments:
 * the counters only have to be exact, not ordered with anything. */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "alloc_count.h"

#ifdef BENCH_ALLOC_COUNT

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);

static uint64_t n_allocs, n_frees;

static void count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	count(&n_allocs);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	count(&n_allocs);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	count(&n_allocs);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p != NULL)
		count(&n_frees);
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	count(&n_allocs);
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	count(&n_allocs);
	return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	count(&n_allocs);
	void *p = __libc_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	count(&n_allocs);
	return __libc_valloc(n);
}

void *pvalloc(size_t n)
{
	count(&n_allocs);
	return __libc_pvalloc(n);
}

bool alloc_count_enabled(void)
{
	return true;
}

void alloc_count_read(struct alloc_count *out)
{
	out->allocs = __atomic_load_n(&n_allocs, __ATOMIC_RELAXED);
	out->frees = __atomic_load_n(&n_frees, __ATOMIC_RELAXED);
}

#else /* a sanitizer replaces malloc: nothing is counted */

bool alloc_count_enabled(void)
{
	return false;
}

void alloc_count_read(struct alloc_count *out)
{
	out->allocs = 0;
	out->frees = 0;
}

#endif
