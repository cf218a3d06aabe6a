/* aegis/crdt_counter.h — state-based counters with delta mutators:
 * G-Counter (grow-only) and PN-Counter (increments and decrements).
 *
 * A G-Counter is a fixed-capacity array of (replica, count) entries sorted
 * by replica id with every count > 0 (a missing replica counts 0), so one
 * abstract state has one in-memory and one encoded form. Merge is the
 * pointwise max; the delta of an increment is the one changed entry (a
 * G-Counter holding only it), which merges like any other state.
 *
 * Sizes: a G-Counter holds at most `replicas_max` entries (16 bytes each),
 * allocated by *_init and freed by *_fini; nothing else allocates. A
 * PN-Counter is two G-Counters of the same capacity.
 *
 * Overflow: an increment that would wrap one replica's count fails with
 * -EOVERFLOW (state unchanged). Reading the value never saturates: if the
 * sum does not fit (uint64_t for G, int64_t for PN) it returns -EOVERFLOW.
 *
 * Errors: -EINVAL bad argument, -ENOSPC more replicas than capacity (merge
 * and decode leave dst unchanged / empty), -ENOBUFS output buffer too small,
 * -EINVAL malformed encoding, -EMSGSIZE truncated encoding.
 *
 * Delta objects: a mutator given a non-NULL `delta` resets it and writes
 * exactly this operation's delta there; join deltas into a delta group with
 * *_merge. If the delta cannot hold it the operation fails before changing
 * anything.
 *
 * Encoding: u8 type tag, u8 format version, then for each G-Counter a varint
 * entry count and per entry varint (replica - previous replica, >= 1; the
 * first one absolute, as in the aeg_vclock encoding) and varint count.
 * Decoders return bytes consumed and leave trailing bytes to the caller; on
 * error the object is left empty. */
#ifndef AEGIS_CRDT_COUNTER_H
#define AEGIS_CRDT_COUNTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

/* Type tags shared by the counter/register encodings (sets/maps use others). */
#define AEG_CRDT_TAG_GCOUNTER 0x10
#define AEG_CRDT_TAG_PNCOUNTER 0x11
#define AEG_CRDT_TAG_LWWREG 0x12
#define AEG_CRDT_TAG_MVREG 0x13
#define AEG_CRDT_COUNTER_FORMAT 1

/* ---- G-Counter ---------------------------------------------------------- */

struct aeg_gcounter_entry {
	uint32_t replica;
	uint64_t count; /* never 0 inside a counter */
};

struct aeg_gcounter {
	uint32_t len;          /* entries in use, sorted by replica, strictly increasing */
	uint32_t replicas_max; /* capacity */
	struct aeg_gcounter_entry *entries;
};

/* replicas_max >= 1. -ENOMEM if the allocation fails. */
int aeg_gcounter_init(struct aeg_gcounter *gc, uint32_t replicas_max);
void aeg_gcounter_fini(struct aeg_gcounter *gc);
/* Back to the empty state (value 0); capacity kept. */
void aeg_gcounter_clear(struct aeg_gcounter *gc);
/* Adds n (> 0) to replica's count. -EOVERFLOW if that count would wrap. */
int aeg_gcounter_increment(struct aeg_gcounter *gc, uint32_t replica, uint64_t n,
			   struct aeg_gcounter *delta);
/* Sum of all counts, or -EOVERFLOW if it does not fit in 64 bits. */
int aeg_gcounter_value(const struct aeg_gcounter *gc, uint64_t *value_out);
uint64_t aeg_gcounter_get(const struct aeg_gcounter *gc, uint32_t replica);
/* dst = pointwise max(dst, src), O(dst + src). -ENOSPC leaves dst unchanged. */
int aeg_gcounter_merge(struct aeg_gcounter *dst, const struct aeg_gcounter *src);
bool aeg_gcounter_equal(const struct aeg_gcounter *a, const struct aeg_gcounter *b);
size_t aeg_gcounter_encoded_size(const struct aeg_gcounter *gc);
int aeg_gcounter_encode(const struct aeg_gcounter *gc, uint8_t *buf, size_t cap);
int aeg_gcounter_decode(struct aeg_gcounter *gc, const uint8_t *buf, size_t len);

/* ---- PN-Counter --------------------------------------------------------- */

struct aeg_pncounter {
	struct aeg_gcounter p; /* increments */
	struct aeg_gcounter n; /* decrements */
};

int aeg_pncounter_init(struct aeg_pncounter *pn, uint32_t replicas_max);
void aeg_pncounter_fini(struct aeg_pncounter *pn);
void aeg_pncounter_clear(struct aeg_pncounter *pn);
int aeg_pncounter_increment(struct aeg_pncounter *pn, uint32_t replica, uint64_t n,
			    struct aeg_pncounter *delta);
int aeg_pncounter_decrement(struct aeg_pncounter *pn, uint32_t replica, uint64_t n,
			    struct aeg_pncounter *delta);
/* P - N, or -EOVERFLOW if P or N overflows or the difference leaves int64_t. */
int aeg_pncounter_value(const struct aeg_pncounter *pn, int64_t *value_out);
/* -ENOSPC leaves dst unchanged. */
int aeg_pncounter_merge(struct aeg_pncounter *dst, const struct aeg_pncounter *src);
bool aeg_pncounter_equal(const struct aeg_pncounter *a, const struct aeg_pncounter *b);
size_t aeg_pncounter_encoded_size(const struct aeg_pncounter *pn);
int aeg_pncounter_encode(const struct aeg_pncounter *pn, uint8_t *buf, size_t cap);
int aeg_pncounter_decode(struct aeg_pncounter *pn, const uint8_t *buf, size_t len);

AEG_API_END

#endif
