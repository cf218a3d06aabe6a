/* aegis/crdt_set.h — state-based set CRDTs with delta mutators:
 * G-Set (grow-only), 2P-Set (add, then remove forever) and OR-Set
 * (add-wins observed-remove, the optimized causal-context form of Almeida et
 * al. "Delta state replicated data types").
 *
 * Elements are opaque byte strings of 0..elem_bytes_max bytes
 * (elem_bytes_max <= AEG_CRDT_ELEM_BYTES_MAX). Every set keeps its elements
 * in a sorted array of fixed-size slots allocated by *_init and freed by
 * *_fini; nothing else allocates. Order: shorter elements first, then
 * bytewise, so one abstract state has one in-memory and one encoded form.
 *
 * Sizes (bytes of memory per slot; the slot count is fixed at init):
 *   G-Set   elems_max  slots of 2 + elem_bytes_max
 *   2P-Set  elems_max live slots + tombs_max tombstone slots, 2 + elem_bytes_max each
 *   OR-Set  entries_max slots of 14 + elem_bytes_max, entries_max dot index
 *           refs of 16 bytes, plus an inline causal context (a struct
 *           aeg_vclock and AEG_ORSET_CLOUD_MAX dots, ~1.6 KiB)
 *
 * Errors: -EINVAL bad argument, -EMSGSIZE element longer than
 * elem_bytes_max, -ENOSPC a fixed capacity is full (the object is
 * unchanged), -ENOBUFS output buffer too small.
 *
 * Delta mutators: a mutator given a non-NULL `delta` (an object of the same
 * type, any capacity) resets it and writes exactly this operation's delta
 * there; the delta is a state like any other: ship it, and join deltas into
 * a delta group with *_merge. If the delta cannot hold it, the operation
 * fails before changing anything.
 *
 * Queries with elem == NULL and len != 0 find nothing.
 *
 * Merge: *_merge(dst, src) joins src into dst in place, without scratch
 * memory. -ENOSPC (or -EMSGSIZE for an element over dst's elem_bytes_max)
 * leaves dst unchanged. Cost: G-Set and 2P-Set merge a small src (a delta,
 * |src| * 16 < |dst|) with a binary search per src item plus one shift of
 * the array; otherwise one pass over both. The OR-Set keeps an index from
 * dot to entry next to its entries: a small src (at most 16 entries, 16
 * cloud dots, and a context covering at most 16 of dst's entries — a delta)
 * finds the dst entries its context covers through the index and inserts its
 * entries by binary search, O(log |dst|) searches plus one shift of the
 * arrays per change. Any other src walks all of dst, with a binary search
 * per entry in the other context, O(|dst| + |src|), and leaves the index to
 * be rebuilt, except when dst had no entries and takes all of src's (a
 * copy), whose index it copies. Decoding also leaves the index stale. A
 * rebuild (O(|dst| log |dst|), about two walks) happens at the third small
 * merge into a stale index; the first two walk, so that states alternating
 * with single deltas cost no more than before.
 *
 * Encoding: u8 type tag, u8 format version (AEG_CRDT_SET_FORMAT), then the
 * type's body; lists are a varint count then the items in canonical order,
 * elements are varint length + bytes. *_decode returns bytes consumed
 * (trailing bytes are the caller's) or -EINVAL (other type, bad version,
 * non-canonical or inconsistent content), -EMSGSIZE (input ends early, a
 * varint is not minimal — the shared codec does not tell the two apart — or
 * an element is too long for this object), -ENOSPC (more items than the
 * capacity); on error the object is left empty. */
#ifndef AEGIS_CRDT_SET_H
#define AEGIS_CRDT_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/vclock.h"

AEG_API_BEGIN

/* Type tags of the set/map encodings (counters/registers use 0x10..). */
#define AEG_CRDT_TAG_GSET 0x20
#define AEG_CRDT_TAG_TWOPSET 0x21
#define AEG_CRDT_TAG_ORSET 0x22
#define AEG_CRDT_TAG_LWWMAP 0x23
#define AEG_CRDT_SET_FORMAT 1

#define AEG_CRDT_ELEM_BYTES_MAX 65535u

/* Internal storage; read through the accessors below. */
struct aeg_slot_table {
	uint8_t *slots;
	uint32_t len;
	uint32_t cap;
	size_t slot_bytes;
};

/* ---- G-Set -------------------------------------------------------------- */

struct aeg_gset {
	struct aeg_slot_table elems;
	uint32_t elem_bytes_max;
};

/* elems_max >= 1. -ENOMEM if the allocation fails. */
int aeg_gset_init(struct aeg_gset *s, uint32_t elems_max, uint32_t elem_bytes_max);
void aeg_gset_fini(struct aeg_gset *s);
void aeg_gset_clear(struct aeg_gset *s);
/* Delta: a G-Set holding just elem. */
int aeg_gset_add(struct aeg_gset *s, const void *elem, size_t len, struct aeg_gset *delta);
bool aeg_gset_contains(const struct aeg_gset *s, const void *elem, size_t len);
uint32_t aeg_gset_size(const struct aeg_gset *s);
/* The i-th element in canonical order, i < size. */
void aeg_gset_elem(const struct aeg_gset *s, uint32_t i, const uint8_t **elem, size_t *len);
/* Union. */
int aeg_gset_merge(struct aeg_gset *dst, const struct aeg_gset *src);
bool aeg_gset_equal(const struct aeg_gset *a, const struct aeg_gset *b);
size_t aeg_gset_encoded_size(const struct aeg_gset *s);
int aeg_gset_encode(const struct aeg_gset *s, uint8_t *buf, size_t cap);
int aeg_gset_decode(struct aeg_gset *s, const uint8_t *buf, size_t len);

/* ---- 2P-Set ------------------------------------------------------------- */

/* State (A \ R, R): the live elements and the removed ones. R is a set of
 * tombstones, inherent to the 2P-Set: a removed element can never be
 * re-added, and that is only decidable if R is kept forever. Keeping A \ R
 * instead of A stores each element once and maps joins exactly:
 * (A1 u A2) \ (R1 u R2). */
struct aeg_twopset {
	struct aeg_slot_table live;
	struct aeg_slot_table tombs;
	uint32_t elem_bytes_max;
};

int aeg_twopset_init(struct aeg_twopset *s, uint32_t elems_max, uint32_t tombs_max,
		     uint32_t elem_bytes_max);
void aeg_twopset_fini(struct aeg_twopset *s);
void aeg_twopset_clear(struct aeg_twopset *s);
/* -EPERM if elem was removed (here or anywhere this replica heard of).
 * Adding a present element is a no-op that still writes the delta. */
int aeg_twopset_add(struct aeg_twopset *s, const void *elem, size_t len,
		    struct aeg_twopset *delta);
/* Precondition as in Shapiro et al.: the element is present. -ENOENT if it
 * was never added here (nothing changes); removing a removed element is a
 * no-op that still writes the delta. Delta: a 2P-Set with just the tombstone. */
int aeg_twopset_remove(struct aeg_twopset *s, const void *elem, size_t len,
		       struct aeg_twopset *delta);
bool aeg_twopset_contains(const struct aeg_twopset *s, const void *elem, size_t len);
bool aeg_twopset_removed(const struct aeg_twopset *s, const void *elem, size_t len);
/* Live elements. */
uint32_t aeg_twopset_size(const struct aeg_twopset *s);
void aeg_twopset_elem(const struct aeg_twopset *s, uint32_t i, const uint8_t **elem,
		      size_t *len);
uint32_t aeg_twopset_tombstones(const struct aeg_twopset *s);
int aeg_twopset_merge(struct aeg_twopset *dst, const struct aeg_twopset *src);
bool aeg_twopset_equal(const struct aeg_twopset *a, const struct aeg_twopset *b);
size_t aeg_twopset_encoded_size(const struct aeg_twopset *s);
int aeg_twopset_encode(const struct aeg_twopset *s, uint8_t *buf, size_t cap);
int aeg_twopset_decode(struct aeg_twopset *s, const uint8_t *buf, size_t len);

/* ---- OR-Set (add-wins) -------------------------------------------------- */

/* Dots seen out of order that cannot be folded into the version vector yet.
 * After every replica has seen every event the cloud is empty. */
#define AEG_ORSET_CLOUD_MAX 64

/* Causal context: every dot (node, c) with c <= vv[node], plus the cloud
 * (sorted by node then counter, none covered by vv and none equal to
 * vv[node] + 1: such dots are folded into vv at once). */
struct aeg_orset_ctx {
	struct aeg_vclock vv;
	uint32_t cloud_len;
	struct aeg_dot cloud[AEG_ORSET_CLOUD_MAX];
};

/* Entries (element, dot), sorted by element then dot, each dot in ctx.
 * An element is present iff it has an entry. Removes keep no tombstone
 * entries: the removed dots stay in ctx, which is what stops a merge from
 * bringing the element back. An add drops every dot of the element its
 * replica holds, so once all replicas have seen all events an element has
 * at most one dot per replica (before that, a dot that a remove killed
 * elsewhere can sit next to a newer one until the remove arrives).
 *
 * Delivery: deltas and states may be merged in any order, duplicated or
 * lost and resent; the state converges. A dot that arrives before the
 * ones before it waits in the context's cloud (AEG_ORSET_CLOUD_MAX, else
 * -ENOSPC: ship the full state or deliver in causal order). The
 * observed-remove meaning (a remove cancels exactly the adds that causally
 * precede it) needs causal delivery of deltas, as in Almeida et al.: a
 * remove delta names only the dots its replica holds. */
/* Index ref: entry `entry` has dot (node, counter). */
struct aeg_orset_dot_ref {
	uint64_t counter;
	uint32_t node;
	uint32_t entry;
};

struct aeg_orset {
	struct aeg_slot_table entries;
	/* by_dot_len refs sorted by (node, counter, entry); when by_dot_ok,
	 * one per entry. Not part of the abstract state. */
	struct aeg_orset_dot_ref *by_dot;
	uint32_t by_dot_len;
	bool by_dot_ok;
	uint8_t by_dot_walks; /* small merges walked since the index went stale */
	struct aeg_orset_ctx ctx;
	uint32_t elem_bytes_max;
};

int aeg_orset_init(struct aeg_orset *s, uint32_t entries_max, uint32_t elem_bytes_max);
void aeg_orset_fini(struct aeg_orset *s);
void aeg_orset_clear(struct aeg_orset *s);
/* New dot (replica, next counter of replica in ctx); drops elem's older dots.
 * Delta: entry (elem, new dot), context {new dot} u {dropped dots}.
 * -EOVERFLOW if replica's counter would wrap; -ENOSPC also when the context
 * (version vector of AEG_VCLOCK_NODES_MAX replicas, or dot cloud) is full. */
int aeg_orset_add(struct aeg_orset *s, const void *elem, size_t len, uint32_t replica,
		  struct aeg_orset *delta);
/* Drops elem's dots (they stay in the context). Removing an absent element
 * is a no-op whose delta is the empty state. Delta: no entries, context =
 * the dropped dots. */
int aeg_orset_remove(struct aeg_orset *s, const void *elem, size_t len,
		     struct aeg_orset *delta);
bool aeg_orset_contains(const struct aeg_orset *s, const void *elem, size_t len);
/* Distinct elements present. */
uint32_t aeg_orset_size(const struct aeg_orset *s);
/* Entries (one per live dot), for iteration: i < aeg_orset_entries(s). */
uint32_t aeg_orset_entries(const struct aeg_orset *s);
void aeg_orset_entry(const struct aeg_orset *s, uint32_t i, const uint8_t **elem,
		     size_t *len, struct aeg_dot *dot);
/* Keep an entry iff it is in both, or in one and not covered by the other's
 * context; contexts are joined. */
int aeg_orset_merge(struct aeg_orset *dst, const struct aeg_orset *src);
bool aeg_orset_equal(const struct aeg_orset *a, const struct aeg_orset *b);
size_t aeg_orset_encoded_size(const struct aeg_orset *s);
int aeg_orset_encode(const struct aeg_orset *s, uint8_t *buf, size_t cap);
int aeg_orset_decode(struct aeg_orset *s, const uint8_t *buf, size_t len);

/* Causal context helpers (also used by tests). */
void aeg_orset_ctx_init(struct aeg_orset_ctx *c);
bool aeg_orset_ctx_covers(const struct aeg_orset_ctx *c, const struct aeg_dot *dot);
/* Adds one dot and compacts. -ENOSPC (c unchanged) if vv or cloud is full. */
int aeg_orset_ctx_add(struct aeg_orset_ctx *c, const struct aeg_dot *dot);
/* c = c u src, compacted. -ENOSPC leaves c unchanged. */
int aeg_orset_ctx_merge(struct aeg_orset_ctx *c, const struct aeg_orset_ctx *src);

AEG_API_END

#endif
