/* Datagram ring: a single-producer single-consumer queue of variable-length
 * byte records (up to a quarter of the ring each) in one flat buffer, for
 * in-process datagrams between an application thread and a worker (the
 * embedded node's local client path, aegis/node.h). Lock-free and
 * syscall-free: C11 atomics with acquire/release, each side owns one
 * free-running byte position on its own cache line and caches the other's.
 *
 * The consumer reads a record in place (peek), then releases it (pop), so a
 * worker parses a request without copying it. A record that would cross the
 * end of the buffer starts again at its beginning behind a wrap marker.
 *
 * Threads: exactly one thread pushes and exactly one thread peeks/pops.
 * Sizes: `bytes` (a power of two, 4 KiB..64 MiB) plus three cache lines,
 * allocated by init; nothing after. Each record takes 8 bytes of header
 * plus its length rounded up to 8. */
#ifndef AEGIS_DATAPLANE_DGRAM_RING_H
#define AEGIS_DATAPLANE_DGRAM_RING_H

#include <stdbool.h>
#include <stdint.h>

#define AEG_DGRAM_RING_BYTES_MIN 4096u
#define AEG_DGRAM_RING_BYTES_MAX (64u << 20)

struct aeg_dgram_ring;

/* 0, -EINVAL (bytes not a power of two in range) or -ENOMEM. */
int aeg_dgram_ring_init(struct aeg_dgram_ring **r, uint32_t bytes);
void aeg_dgram_ring_fini(struct aeg_dgram_ring *r);

/* Producer: copies len bytes in. 0, -ENOBUFS (no room now), -EMSGSIZE
 * (len 0 or larger than a quarter of the ring). */
int aeg_dgram_ring_push(struct aeg_dgram_ring *r, const void *data, uint32_t len);
/* Consumer: the oldest record, in place (valid until pop); false when empty. */
bool aeg_dgram_ring_peek(struct aeg_dgram_ring *r, const uint8_t **data, uint32_t *len);
/* Consumer: releases the record peek returned. */
void aeg_dgram_ring_pop(struct aeg_dgram_ring *r);

/* Records' bytes in the ring (headers included), a snapshot from any thread. */
uint32_t aeg_dgram_ring_used(const struct aeg_dgram_ring *r);

#endif
