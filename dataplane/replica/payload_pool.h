/* The payload storage of one worker's Raft groups (aeg_raft_config's
 * payload_alloc/free): blocks in power-of-two size classes from 64 bytes
 * to 4 MiB, freed blocks kept on a free list per class and reused, so that
 * after warm-up a log entry costs no malloc. Shared by every group of the
 * worker (single thread, no locks); an idle group holds nothing here.
 * Cached free bytes are capped (cache_bytes_max): above it a freed block
 * goes back to the system. Larger payloads are malloc'ed as they are. */
#ifndef AEGIS_DATAPLANE_PAYLOAD_POOL_H
#define AEGIS_DATAPLANE_PAYLOAD_POOL_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_POOL_CLASSES 17   /* 64 B .. 4 MiB */

struct payload_pool {
	void *free_list[PAYLOAD_POOL_CLASSES];
	uint64_t cached_bytes, cache_bytes_max;
	uint64_t live_bytes;          /* handed out, by class size */
	uint64_t allocs, reuses, system_allocs;
};

void payload_pool_init(struct payload_pool *p, uint64_t cache_bytes_max);
void payload_pool_fini(struct payload_pool *p);
/* The aeg_raft_payload_alloc_fn / _free_fn pair (ctx = the pool). */
void *payload_pool_alloc(void *ctx, uint32_t len);
void payload_pool_free(void *ctx, void *block, uint32_t len);

#endif
