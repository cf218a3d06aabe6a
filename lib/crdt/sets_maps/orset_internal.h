/* Internal: OR-Set entry layout, causal context helpers and the dot index
 * shared by orset.c, orset_ctx.c, orset_dots.c and orset_fast.c. */
#ifndef AEGIS_CRDT_ORSET_INTERNAL_H
#define AEGIS_CRDT_ORSET_INTERNAL_H

#include "slot_table.h"

/* Entry slot: packed element, then the dot as big-endian node (4 bytes) and
 * counter (8 bytes). */
#define AEG_ORSET_DOT_BYTES 12

static inline struct aeg_dot aeg_orset_slot_dot(const uint8_t *slot, uint32_t elem_bytes_max)
{
	const uint8_t *p = slot + aeg_elem_slot_bytes(elem_bytes_max);
	struct aeg_dot d = { 0, 0 };
	for (int i = 0; i < 4; i++)
		d.node = d.node << 8 | p[i];
	for (int i = 4; i < AEG_ORSET_DOT_BYTES; i++)
		d.counter = d.counter << 8 | p[i];
	return d;
}

static inline struct aeg_dot aeg_orset_dot_at(const struct aeg_orset *s, uint32_t i)
{
	return aeg_orset_slot_dot(aeg_slot_at(&s->entries, i), s->elem_bytes_max);
}

void aeg_orset_slot_pack(uint8_t *slot, uint32_t elem_bytes_max, const void *elem, size_t len,
			 const struct aeg_dot *dot);
/* Slot vs (elem, dot) in a table of elem_bytes_max. */
int aeg_orset_slot_cmp(const uint8_t *slot, uint32_t elem_bytes_max, const void *elem,
		       size_t len, const struct aeg_dot *dot);

/* Lower bound in s of the entry in slot (of a table of slot_bytes_max);
 * *found if s holds it. */
uint32_t aeg_orset_search(const struct aeg_orset *s, const uint8_t *slot, uint32_t slot_bytes_max,
			  bool *found);

int aeg_dot_cmp(const struct aeg_dot *a, const struct aeg_dot *b);
bool aeg_orset_ctx_equal(const struct aeg_orset_ctx *a, const struct aeg_orset_ctx *b);
size_t aeg_orset_ctx_encoded_size(const struct aeg_orset_ctx *c);
void aeg_orset_ctx_put(struct aeg_writer *w, const struct aeg_orset_ctx *c);
/* 0, or -EINVAL / -EMSGSIZE / -ENOSPC; c is valid (maybe partial) after. */
int aeg_orset_ctx_get(struct aeg_reader *r, struct aeg_orset_ctx *c);

/* ---- dot index (orset_dots.c) ---------------------------------------------
 * Mutators keep it in step with the entries while it is valid: forget the
 * refs of entries about to go (their slots still hold the dots), change the
 * slots, shift the positions of the entries that moved, place new ones. */
void aeg_orset_dots_forget(struct aeg_orset *s, uint32_t entry);
/* Refs to entries >= from move by delta positions. */
void aeg_orset_dots_shift(struct aeg_orset *s, uint32_t from, int32_t delta);
void aeg_orset_dots_place(struct aeg_orset *s, uint32_t entry);
/* Makes the index valid again (a heapsort, no scratch memory). */
void aeg_orset_dots_rebuild(struct aeg_orset *s);
/* First ref whose dot is above (node, counter). */
uint32_t aeg_orset_dots_after(const struct aeg_orset *s, uint32_t node, uint64_t counter);
/* Valid, sorted and matching the entries (tests). */
bool aeg_orset_dots_consistent(const struct aeg_orset *s);

/* ---- merge paths (tests compare them) -------------------------------------- */

/* The walk over all of dst. */
int aeg_orset_merge_walk(struct aeg_orset *dst, const struct aeg_orset *src);
/* The small-src path through the index; -EAGAIN (nothing changed but the
 * count of walks towards a rebuild) when src is not small enough or the
 * index is stale and not yet worth rebuilding; then the caller walks. */
int aeg_orset_merge_fast(struct aeg_orset *dst, const struct aeg_orset *src);

#endif
