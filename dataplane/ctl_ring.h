/* Control ring: a single-producer single-consumer queue of fixed 64-byte
 * messages between the main lcore and one worker (one ring per direction).
 * Lock-free and syscall-free: C11 atomics with acquire/release only, in
 * the Lamport / FastForward style (each side owns one index on its own
 * cache line and keeps a cached copy of the other side's index, so it
 * reads the shared line only when its copy says full or empty).
 *
 * Threads: exactly one thread pushes and exactly one thread pops;
 * aeg_ctl_ring_count / _empty may be called from either.
 *
 * Sizes: capacity (a power of two, 1..AEG_CTL_RING_CAPACITY_MAX) x 64
 * bytes of slots plus three cache lines, allocated by init, freed by fini.
 * Nothing is allocated after init. */
#ifndef AEGIS_DATAPLANE_CTL_RING_H
#define AEGIS_DATAPLANE_CTL_RING_H

#include <stdbool.h>
#include <stdint.h>

/* One message: type and len are the caller's (len = bytes of arg used,
 * by convention); exactly one cache line. */
struct aeg_ctl_msg {
	uint32_t type;
	uint32_t len;
	uint64_t arg[7];
};
_Static_assert(sizeof(struct aeg_ctl_msg) == 64, "one control message is one cache line");

#define AEG_CTL_RING_CAPACITY_MAX (1u << 20) /* 64 MiB of slots */

/* Handled by the worker itself, not passed to on_ctl: arg[0] is the new
 * peer_count (<= peer_cap); the entries up to it were written before the
 * push (the ring's release/acquire orders them). */
#define AEG_CTL_WORKER_PEERS 0x57500001u

struct aeg_ctl_ring;

/* Returns 0, -EINVAL (capacity 0, not a power of two, or above the max)
 * or -ENOMEM. */
int aeg_ctl_ring_init(struct aeg_ctl_ring **r, uint32_t capacity);
void aeg_ctl_ring_fini(struct aeg_ctl_ring *r);

/* Producer side: copies *m into the ring; false when the ring is full. */
bool aeg_ctl_ring_push(struct aeg_ctl_ring *r, const struct aeg_ctl_msg *m);
/* Consumer side: copies up to n messages, oldest first, into out[];
 * returns how many (0 when empty). */
uint32_t aeg_ctl_ring_pop_burst(struct aeg_ctl_ring *r, struct aeg_ctl_msg *out, uint32_t n);

/* Consumer side, for a poll loop: pops up to max messages and calls
 * fn(arg, m) for each in order (m is valid during the call only).
 * Returns how many were handled. */
typedef void (*aeg_ctl_fn)(void *arg, const struct aeg_ctl_msg *m);
uint32_t aeg_ctl_ring_drain(struct aeg_ctl_ring *r, aeg_ctl_fn fn, void *arg, uint32_t max);

/* Messages in the ring; from another thread it is a snapshot that may be
 * stale by the time it returns. */
uint32_t aeg_ctl_ring_count(const struct aeg_ctl_ring *r);
bool aeg_ctl_ring_empty(const struct aeg_ctl_ring *r);
uint32_t aeg_ctl_ring_capacity(const struct aeg_ctl_ring *r);

#endif
