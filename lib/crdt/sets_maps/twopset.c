/* 2P-Set: stored as (live = A \ R, tombs = R); see aegis/crdt_set.h. */
#include "slot_table.h"

int aeg_twopset_init(struct aeg_twopset *s, uint32_t elems_max, uint32_t tombs_max,
		     uint32_t elem_bytes_max)
{
	memset(s, 0, sizeof(*s));
	s->elem_bytes_max = elem_bytes_max;
	if (elem_bytes_max > AEG_CRDT_ELEM_BYTES_MAX)
		return -EINVAL;
	size_t slot = aeg_elem_slot_bytes(elem_bytes_max);
	int err = aeg_slot_table_init(&s->live, elems_max, slot);
	if (err == 0)
		err = aeg_slot_table_init(&s->tombs, tombs_max, slot);
	if (err < 0)
		aeg_twopset_fini(s);
	return err;
}

void aeg_twopset_fini(struct aeg_twopset *s)
{
	aeg_slot_table_fini(&s->live);
	aeg_slot_table_fini(&s->tombs);
}

void aeg_twopset_clear(struct aeg_twopset *s)
{
	aeg_slot_table_clear(&s->live);
	aeg_slot_table_clear(&s->tombs);
}

static int check_args(const struct aeg_twopset *s, const void *elem, size_t len,
		      const struct aeg_twopset *delta)
{
	return aeg_mutator_check(s, s->elem_bytes_max, delta,
				 delta != NULL ? delta->elem_bytes_max : 0, elem, len);
}

int aeg_twopset_add(struct aeg_twopset *s, const void *elem, size_t len,
		    struct aeg_twopset *delta)
{
	uint32_t idx;
	int err = check_args(s, elem, len, delta);
	if (err < 0)
		return err;
	if (aeg_elems_find(&s->tombs, elem, len, &idx))
		return -EPERM;
	if (!aeg_elems_find(&s->live, elem, len, &idx) && s->live.len == s->live.cap)
		return -ENOSPC;
	if (delta != NULL) {
		aeg_twopset_clear(delta);
		err = aeg_elems_insert(&delta->live, delta->elem_bytes_max, elem, len);
		assert(err == 0);
	}
	return aeg_elems_insert(&s->live, s->elem_bytes_max, elem, len);
}

int aeg_twopset_remove(struct aeg_twopset *s, const void *elem, size_t len,
		       struct aeg_twopset *delta)
{
	uint32_t live_idx, tomb_idx;
	int err = check_args(s, elem, len, delta);
	if (err < 0)
		return err;
	bool removed = aeg_elems_find(&s->tombs, elem, len, &tomb_idx);
	bool live = aeg_elems_find(&s->live, elem, len, &live_idx);
	if (!removed && !live)
		return -ENOENT;
	if (!removed && s->tombs.len == s->tombs.cap)
		return -ENOSPC;
	if (delta != NULL) {
		aeg_twopset_clear(delta);
		err = aeg_elems_insert(&delta->tombs, delta->elem_bytes_max, elem, len);
		assert(err == 0);
	}
	/* Tombstone first: elem may point into the live slot about to go. */
	err = aeg_elems_insert(&s->tombs, s->elem_bytes_max, elem, len);
	assert(err == 0);
	if (live)
		aeg_slot_table_remove_at(&s->live, live_idx);
	return err;
}

bool aeg_twopset_contains(const struct aeg_twopset *s, const void *elem, size_t len)
{
	uint32_t idx;
	return aeg_elems_find(&s->live, elem, len, &idx);
}

bool aeg_twopset_removed(const struct aeg_twopset *s, const void *elem, size_t len)
{
	uint32_t idx;
	return aeg_elems_find(&s->tombs, elem, len, &idx);
}

uint32_t aeg_twopset_size(const struct aeg_twopset *s)
{
	return s->live.len;
}

void aeg_twopset_elem(const struct aeg_twopset *s, uint32_t i, const uint8_t **elem,
		      size_t *len)
{
	assert(i < s->live.len);
	const uint8_t *slot = aeg_slot_at(&s->live, i);
	*elem = aeg_elem_data(slot);
	*len = aeg_elem_len(slot);
}

uint32_t aeg_twopset_tombstones(const struct aeg_twopset *s)
{
	return s->tombs.len;
}

struct live_merge {
	uint32_t elem_bytes_max; /* first: the aeg_elems_* callbacks read it */
	const struct aeg_slot_table *dst_tombs;
	const struct aeg_slot_table *src_tombs;
};

static bool in_table(const struct aeg_slot_table *t, const uint8_t *slot)
{
	uint32_t idx;
	return aeg_elems_find(t, aeg_elem_data(slot), aeg_elem_len(slot), &idx);
}

static bool live_keep(const uint8_t *d, const void *arg)
{
	return !in_table(((const struct live_merge *)arg)->src_tombs, d);
}

static bool live_take(const uint8_t *s, const void *arg)
{
	return !in_table(((const struct live_merge *)arg)->dst_tombs, s);
}

/* live = (L1 u L2) \ (R1 u R2); an element live in both is in neither R
 * (L and R are disjoint in every state), so keeping shared slots is right. */
int aeg_twopset_merge(struct aeg_twopset *dst, const struct aeg_twopset *src)
{
	if (dst == src)
		return 0; /* idempotent; also keeps the in-place passes apart */
	const struct live_merge arg = { dst->elem_bytes_max, &dst->tombs, &src->tombs };
	struct aeg_slot_merge_ops live_ops = {
		.cmp = aeg_elems_cmp, .keep = live_keep, .take = live_take,
		.fits = aeg_elems_fits, .copy = aeg_elems_copy, .arg = &arg,
	};
	const struct aeg_slot_merge_ops tomb_ops = {
		.cmp = aeg_elems_cmp, .take = aeg_elems_always,
		.fits = aeg_elems_fits, .copy = aeg_elems_copy, .arg = &arg,
	};
	int err = aeg_slot_table_merge_check(&dst->live, &src->live, &live_ops);
	if (err >= 0)
		err = aeg_slot_table_merge_check(&dst->tombs, &src->tombs, &tomb_ops);
	if (err < 0)
		return err;
	if ((uint64_t)src->tombs.len * 16 < dst->live.len) {
		/* A small src (a delta): drop what it removed by lookup, then
		 * keep every other live slot, so that the merge below can use
		 * lookups too instead of walking all of dst. */
		for (uint32_t i = 0; i < src->tombs.len; i++) {
			const uint8_t *t = aeg_slot_at(&src->tombs, i);
			uint32_t idx;
			if (aeg_elems_find(&dst->live, aeg_elem_data(t), aeg_elem_len(t), &idx))
				aeg_slot_table_remove_at(&dst->live, idx);
		}
		live_ops.keep = NULL;
	}
	/* Live first: its callbacks read dst's tombstones before the union. */
	aeg_slot_table_merge_apply(&dst->live, &src->live, &live_ops);
	aeg_slot_table_merge_apply(&dst->tombs, &src->tombs, &tomb_ops);
	return 0;
}

bool aeg_twopset_equal(const struct aeg_twopset *a, const struct aeg_twopset *b)
{
	return aeg_slot_table_equal(&a->live, &b->live, aeg_elems_cmp, NULL) &&
	       aeg_slot_table_equal(&a->tombs, &b->tombs, aeg_elems_cmp, NULL);
}

size_t aeg_twopset_encoded_size(const struct aeg_twopset *s)
{
	return 2 + aeg_elems_encoded_size(&s->live) + aeg_elems_encoded_size(&s->tombs);
}

static void put_body(struct aeg_writer *w, const void *obj)
{
	const struct aeg_twopset *s = obj;
	aeg_elems_put(w, &s->live);
	aeg_elems_put(w, &s->tombs);
}

int aeg_twopset_encode(const struct aeg_twopset *s, uint8_t *buf, size_t cap)
{
	return aeg_crdt_encode(buf, cap, AEG_CRDT_TAG_TWOPSET, s, put_body);
}

static bool disjoint(const struct aeg_slot_table *a, const struct aeg_slot_table *b)
{
	for (uint32_t i = 0; i < a->len; i++)
		if (in_table(b, aeg_slot_at(a, i)))
			return false;
	return true;
}

static int get_body(struct aeg_reader *r, void *obj)
{
	struct aeg_twopset *s = obj;
	int err = aeg_elems_get(r, &s->live, s->elem_bytes_max);
	if (err == 0)
		err = aeg_elems_get(r, &s->tombs, s->elem_bytes_max);
	if (err == 0 && !disjoint(&s->live, &s->tombs))
		err = -EINVAL;
	return err;
}

static void clear(void *obj)
{
	aeg_twopset_clear(obj);
}

int aeg_twopset_decode(struct aeg_twopset *s, const uint8_t *buf, size_t len)
{
	return aeg_crdt_decode(buf, len, AEG_CRDT_TAG_TWOPSET, s, get_body, clear);
}
