/* Size-class payload pool of one worker (payload_pool.h). */
#include "payload_pool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define CLASS_MIN_SHIFT 6

static int class_of(uint32_t len)
{
	uint32_t size = 1u << CLASS_MIN_SHIFT;
	for (int c = 0; c < PAYLOAD_POOL_CLASSES; c++, size <<= 1)
		if (len <= size)
			return c;
	return -1;
}

static size_t class_bytes(int c)
{
	return (size_t)1 << (CLASS_MIN_SHIFT + c);
}

void payload_pool_init(struct payload_pool *p, uint64_t cache_bytes_max)
{
	memset(p, 0, sizeof(*p));
	p->cache_bytes_max = cache_bytes_max;
}

void payload_pool_fini(struct payload_pool *p)
{
	for (int c = 0; c < PAYLOAD_POOL_CLASSES; c++) {
		for (uint32_t guard = 0; p->free_list[c] != NULL; guard++) {
			assert(guard < (1u << 30));
			void *next;
			memcpy(&next, p->free_list[c], sizeof(next));
			free(p->free_list[c]);
			p->free_list[c] = next;
		}
	}
	p->cached_bytes = 0;
}

void *payload_pool_alloc(void *ctx, uint32_t len)
{
	struct payload_pool *p = ctx;
	int c = class_of(len ? len : 1);
	p->allocs++;
	if (c < 0) {
		p->system_allocs++;
		return malloc(len);
	}
	void *b = p->free_list[c];
	if (b != NULL) {
		memcpy(&p->free_list[c], b, sizeof(void *));
		p->cached_bytes -= class_bytes(c);
		p->reuses++;
		/* Blocks come back cold (freed when their entry left the log):
		 * fetch the next one's link now, so the next pop does not wait. */
		if (p->free_list[c] != NULL)
			__builtin_prefetch(p->free_list[c], 1);
	} else {
		b = malloc(class_bytes(c));
		p->system_allocs++;
		if (b == NULL)
			return NULL;
	}
	p->live_bytes += class_bytes(c);
	return b;
}

void payload_pool_free(void *ctx, void *block, uint32_t len)
{
	struct payload_pool *p = ctx;
	if (block == NULL)
		return;
	int c = class_of(len ? len : 1);
	if (c < 0) {
		free(block);
		return;
	}
	assert(p->live_bytes >= class_bytes(c));
	p->live_bytes -= class_bytes(c);
	if (p->cached_bytes + class_bytes(c) > p->cache_bytes_max) {
		free(block);
		return;
	}
	memcpy(block, &p->free_list[c], sizeof(void *));
	p->free_list[c] = block;
	p->cached_bytes += class_bytes(c);
}
