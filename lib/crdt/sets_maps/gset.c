/* G-Set: a grow-only set; merge is union. */
#include "slot_table.h"

int aeg_gset_init(struct aeg_gset *s, uint32_t elems_max, uint32_t elem_bytes_max)
{
	s->elem_bytes_max = elem_bytes_max;
	if (elem_bytes_max > AEG_CRDT_ELEM_BYTES_MAX) {
		memset(&s->elems, 0, sizeof(s->elems));
		return -EINVAL;
	}
	return aeg_slot_table_init(&s->elems, elems_max, aeg_elem_slot_bytes(elem_bytes_max));
}

void aeg_gset_fini(struct aeg_gset *s)
{
	aeg_slot_table_fini(&s->elems);
}

void aeg_gset_clear(struct aeg_gset *s)
{
	aeg_slot_table_clear(&s->elems);
}

int aeg_gset_add(struct aeg_gset *s, const void *elem, size_t len, struct aeg_gset *delta)
{
	uint32_t idx;
	int err = aeg_mutator_check(s, s->elem_bytes_max, delta,
				    delta != NULL ? delta->elem_bytes_max : 0, elem, len);
	if (err < 0)
		return err;
	if (!aeg_elems_find(&s->elems, elem, len, &idx) && s->elems.len == s->elems.cap)
		return -ENOSPC;
	if (delta != NULL) {
		aeg_gset_clear(delta);
		err = aeg_elems_insert(&delta->elems, delta->elem_bytes_max, elem, len);
		assert(err == 0); /* an empty table has room for one */
	}
	return aeg_elems_insert(&s->elems, s->elem_bytes_max, elem, len);
}

bool aeg_gset_contains(const struct aeg_gset *s, const void *elem, size_t len)
{
	uint32_t idx;
	return aeg_elems_find(&s->elems, elem, len, &idx);
}

uint32_t aeg_gset_size(const struct aeg_gset *s)
{
	return s->elems.len;
}

void aeg_gset_elem(const struct aeg_gset *s, uint32_t i, const uint8_t **elem, size_t *len)
{
	assert(i < s->elems.len);
	const uint8_t *slot = aeg_slot_at(&s->elems, i);
	*elem = aeg_elem_data(slot);
	*len = aeg_elem_len(slot);
}

int aeg_gset_merge(struct aeg_gset *dst, const struct aeg_gset *src)
{
	if (dst == src)
		return 0; /* idempotent; also keeps the in-place passes apart */
	const struct aeg_slot_merge_ops ops = {
		.cmp = aeg_elems_cmp,
		.take = aeg_elems_always,
		.fits = aeg_elems_fits,
		.copy = aeg_elems_copy,
		.arg = &dst->elem_bytes_max,
	};
	return aeg_slot_table_merge(&dst->elems, &src->elems, &ops);
}

bool aeg_gset_equal(const struct aeg_gset *a, const struct aeg_gset *b)
{
	return aeg_slot_table_equal(&a->elems, &b->elems, aeg_elems_cmp, NULL);
}

size_t aeg_gset_encoded_size(const struct aeg_gset *s)
{
	return 2 + aeg_elems_encoded_size(&s->elems);
}

static void put_body(struct aeg_writer *w, const void *obj)
{
	aeg_elems_put(w, &((const struct aeg_gset *)obj)->elems);
}

int aeg_gset_encode(const struct aeg_gset *s, uint8_t *buf, size_t cap)
{
	return aeg_crdt_encode(buf, cap, AEG_CRDT_TAG_GSET, s, put_body);
}

static int get_body(struct aeg_reader *r, void *obj)
{
	struct aeg_gset *s = obj;
	return aeg_elems_get(r, &s->elems, s->elem_bytes_max);
}

static void clear(void *obj)
{
	aeg_gset_clear(obj);
}

int aeg_gset_decode(struct aeg_gset *s, const uint8_t *buf, size_t len)
{
	return aeg_crdt_decode(buf, len, AEG_CRDT_TAG_GSET, s, get_body, clear);
}
