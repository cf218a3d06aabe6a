/* Internal: a sorted table of fixed-size slots shared by the set and map
 * CRDTs (G-Set, 2P-Set, OR-Set, LWW-Map).
 *
 * The slot array is allocated once by aeg_slot_table_init; search, insert,
 * remove and the two-pass merge below never allocate. Slots are kept sorted
 * by a caller-supplied comparator so that one abstract state has one memory
 * layout. Every slot starts with a packed element (see aeg_elem_*): a
 * big-endian u16 length and then elem_bytes_max bytes, zero-padded. */
#ifndef AEGIS_CRDT_SLOT_TABLE_H
#define AEGIS_CRDT_SLOT_TABLE_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aegis/crdt_set.h"
#include "common/codec.h"

/* ---- packed elements ---------------------------------------------------- */

#define AEG_ELEM_HDR_BYTES 2

static inline size_t aeg_elem_slot_bytes(uint32_t elem_bytes_max)
{
	return AEG_ELEM_HDR_BYTES + (size_t)elem_bytes_max;
}

static inline size_t aeg_elem_len(const uint8_t *slot)
{
	return ((size_t)slot[0] << 8) | slot[1];
}

static inline const uint8_t *aeg_elem_data(const uint8_t *slot)
{
	return slot + AEG_ELEM_HDR_BYTES;
}

/* Writes elem (len <= elem_bytes_max) zero-padded, so equal elements have
 * equal slot bytes. */
void aeg_elem_pack(uint8_t *slot, uint32_t elem_bytes_max, const void *elem, size_t len);
/* Order of elements: shorter first, then bytewise. Works across tables with
 * different elem_bytes_max. */
int aeg_elem_cmp_raw(const uint8_t *slot, const void *elem, size_t len);
int aeg_elem_cmp(const uint8_t *a, const uint8_t *b);

/* An element given by the caller, checked against a table's limit. */
static inline int aeg_elem_check(const void *elem, size_t len, uint32_t elem_bytes_max)
{
	if (elem == NULL && len != 0)
		return -EINVAL;
	return len > elem_bytes_max ? -EMSGSIZE : 0;
}

/* Arguments of a set mutator: elem fits the object (elem_bytes_max) and its
 * delta (delta_bytes_max, when delta != NULL), and the delta is another
 * object. */
static inline int aeg_mutator_check(const void *obj, uint32_t elem_bytes_max, const void *delta,
				    uint32_t delta_bytes_max, const void *elem, size_t len)
{
	if (delta == obj)
		return -EINVAL;
	int err = aeg_elem_check(elem, len, elem_bytes_max);
	if (err == 0 && delta != NULL)
		err = aeg_elem_check(elem, len, delta_bytes_max);
	return err;
}

/* Encoding of one element: varint length, bytes. */
void aeg_elem_put(struct aeg_writer *w, const uint8_t *slot);
size_t aeg_elem_encoded_size(const uint8_t *slot);
/* Returns 0 with elem and len pointing into the input, -EMSGSIZE if longer
 * than elem_bytes_max, the reader error (see aeg_codec_error). */
int aeg_elem_get(struct aeg_reader *r, uint32_t elem_bytes_max, const uint8_t **elem,
		 size_t *len);

/* Common header of every set/map encoding. */
void aeg_crdt_put_header(struct aeg_writer *w, uint8_t tag);
/* 0, or -EINVAL (other type / version), -EMSGSIZE (too short). */
int aeg_crdt_get_header(struct aeg_reader *r, uint8_t tag);
/* Error for a failed reader: -EMSGSIZE (input ends early; a non-minimal
 * varint, which the codec does not tell apart, is reported the same way). */
int aeg_codec_error(const struct aeg_reader *r);
/* Encodes header + body(obj): bytes written or -ENOBUFS. */
int aeg_crdt_encode(uint8_t *buf, size_t cap, uint8_t tag, const void *obj,
		    void (*body)(struct aeg_writer *w, const void *obj));
/* Clears obj, checks the header, reads the body: bytes consumed, or the
 * body's error with obj cleared again. */
int aeg_crdt_decode(const uint8_t *buf, size_t len, uint8_t tag, void *obj,
		    int (*body)(struct aeg_reader *r, void *obj), void (*clear)(void *obj));

/* ---- the table ---------------------------------------------------------- */

/* slot vs key (search) or slot vs slot (merge, equal): <0, 0, >0. */
typedef int (*aeg_slot_key_cmp)(const uint8_t *slot, const void *key);

int aeg_slot_table_init(struct aeg_slot_table *t, uint32_t cap, size_t slot_bytes);
void aeg_slot_table_fini(struct aeg_slot_table *t);

static inline void aeg_slot_table_clear(struct aeg_slot_table *t)
{
	t->len = 0;
}

static inline uint8_t *aeg_slot_at(const struct aeg_slot_table *t, uint32_t i)
{
	assert(i < t->cap);
	return t->slots + (size_t)i * t->slot_bytes;
}

/* Lower bound of key; *found tells whether the slot there equals it. */
uint32_t aeg_slot_table_search(const struct aeg_slot_table *t, aeg_slot_key_cmp cmp,
			       const void *key, bool *found);
/* Opens a slot at idx (len < cap, checked by the caller), which the caller
 * then writes whole. Not zeroed: into an emptied table, the new slot 0 may
 * still hold the caller's argument (a delta object reused as input). */
uint8_t *aeg_slot_table_insert_at(struct aeg_slot_table *t, uint32_t idx);

/* Where a caller's pointer ends up after aeg_slot_table_insert_at(t, idx):
 * arguments may point into the object itself (an element got from an
 * accessor), and the slots from idx on move up by one. */
static inline const void *aeg_slot_follow_insert(const struct aeg_slot_table *t, uint32_t idx,
						 const void *p)
{
	uintptr_t a = (uintptr_t)p, from = (uintptr_t)(t->slots + (size_t)idx * t->slot_bytes),
		  end = (uintptr_t)(t->slots + (size_t)t->len * t->slot_bytes);
	return a >= from && a < end ? (const uint8_t *)p + t->slot_bytes : p;
}
/* Removes slots [lo, hi). */
void aeg_slot_table_remove_range(struct aeg_slot_table *t, uint32_t lo, uint32_t hi);

static inline void aeg_slot_table_remove_at(struct aeg_slot_table *t, uint32_t idx)
{
	aeg_slot_table_remove_range(t, idx, idx + 1);
}

/* Merge of a sorted src table into a sorted dst table, in place:
 * result = {d in dst that are also in src, or for which keep(d)}
 *        + {s in src only, for which take(s)}.
 * Slots present in both are always kept (update, if set, may rewrite the
 * dst slot from the src one). cmp orders a dst slot against a src slot.
 * keep == NULL keeps every dst slot, which lets a small src (a delta) be
 * merged by binary search instead of a walk over all of dst. */
struct aeg_slot_merge_ops {
	int (*cmp)(const uint8_t *d, const uint8_t *s, const void *arg);
	bool (*keep)(const uint8_t *d, const void *arg); /* may be NULL */
	bool (*take)(const uint8_t *s, const void *arg);
	/* 0 or -EMSGSIZE: whether a src slot fits the dst layout. */
	int (*fits)(const uint8_t *s, const void *arg);
	void (*copy)(uint8_t *d, const uint8_t *s, const void *arg);
	void (*update)(uint8_t *d, const uint8_t *s, const void *arg); /* may be NULL */
	const void *arg;
};

/* 0, -ENOSPC if the result is over dst's capacity, -EMSGSIZE if a src
 * slot does not fit. Changes nothing. */
int aeg_slot_table_merge_check(const struct aeg_slot_table *dst, const struct aeg_slot_table *src,
			       const struct aeg_slot_merge_ops *ops);
/* Does the merge; only after a successful check with the same inputs. */
void aeg_slot_table_merge_apply(struct aeg_slot_table *dst, const struct aeg_slot_table *src,
				const struct aeg_slot_merge_ops *ops);
/* Convenience: check, then apply. */
int aeg_slot_table_merge(struct aeg_slot_table *dst, const struct aeg_slot_table *src,
			 const struct aeg_slot_merge_ops *ops);

/* Same length and pairwise cmp == 0. */
bool aeg_slot_table_equal(const struct aeg_slot_table *a, const struct aeg_slot_table *b,
			  int (*cmp)(const uint8_t *a, const uint8_t *b, const void *arg),
			  const void *arg);

#endif

/* ---- tables of plain elements (G-Set, 2P-Set) ---------------------------- */

struct aeg_elem_key {
	const void *elem;
	size_t len;
};

int aeg_elem_key_cmp(const uint8_t *slot, const void *key);
bool aeg_elems_find(const struct aeg_slot_table *t, const void *elem, size_t len,
		    uint32_t *idx);
/* Idempotent insert; -ENOSPC if absent and full. */
int aeg_elems_insert(struct aeg_slot_table *t, uint32_t elem_bytes_max, const void *elem,
		     size_t len);
/* Merge ops for two element tables; arg points to the dst elem_bytes_max. */
int aeg_elems_fits(const uint8_t *s, const void *arg);
void aeg_elems_copy(uint8_t *d, const uint8_t *s, const void *arg);
int aeg_elems_cmp(const uint8_t *a, const uint8_t *b, const void *arg);
bool aeg_elems_always(const uint8_t *slot, const void *arg);
size_t aeg_elems_encoded_size(const struct aeg_slot_table *t);
void aeg_elems_put(struct aeg_writer *w, const struct aeg_slot_table *t);
/* Reads a strictly increasing list into an empty table. */
int aeg_elems_get(struct aeg_reader *r, struct aeg_slot_table *t, uint32_t elem_bytes_max);
