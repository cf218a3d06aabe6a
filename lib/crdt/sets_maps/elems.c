/* Tables of plain elements: the storage of G-Set and both halves of the
 * 2P-Set, with their merge callbacks and list encoding. */
#include "slot_table.h"

int aeg_elem_key_cmp(const uint8_t *slot, const void *key)
{
	const struct aeg_elem_key *k = key;
	return aeg_elem_cmp_raw(slot, k->elem, k->len);
}

bool aeg_elems_find(const struct aeg_slot_table *t, const void *elem, size_t len,
		    uint32_t *idx)
{
	struct aeg_elem_key key = { elem, len };
	bool found;
	*idx = 0;
	if (elem == NULL && len != 0)
		return false; /* a bad query finds nothing */
	*idx = aeg_slot_table_search(t, aeg_elem_key_cmp, &key, &found);
	return found;
}

int aeg_elems_insert(struct aeg_slot_table *t, uint32_t elem_bytes_max, const void *elem,
		     size_t len)
{
	uint32_t idx;
	if (aeg_elems_find(t, elem, len, &idx))
		return 0;
	if (t->len == t->cap)
		return -ENOSPC;
	elem = aeg_slot_follow_insert(t, idx, elem);
	aeg_elem_pack(aeg_slot_table_insert_at(t, idx), elem_bytes_max, elem, len);
	return 0;
}

int aeg_elems_fits(const uint8_t *s, const void *arg)
{
	return aeg_elem_len(s) > *(const uint32_t *)arg ? -EMSGSIZE : 0;
}

void aeg_elems_copy(uint8_t *d, const uint8_t *s, const void *arg)
{
	aeg_elem_pack(d, *(const uint32_t *)arg, aeg_elem_data(s), aeg_elem_len(s));
}

int aeg_elems_cmp(const uint8_t *a, const uint8_t *b, const void *arg)
{
	(void)arg;
	return aeg_elem_cmp(a, b);
}

bool aeg_elems_always(const uint8_t *slot, const void *arg)
{
	(void)slot;
	(void)arg;
	return true;
}

size_t aeg_elems_encoded_size(const struct aeg_slot_table *t)
{
	size_t n = aeg_varint_size(t->len);
	for (uint32_t i = 0; i < t->len; i++)
		n += aeg_elem_encoded_size(aeg_slot_at(t, i));
	return n;
}

void aeg_elems_put(struct aeg_writer *w, const struct aeg_slot_table *t)
{
	aeg_put_varint(w, t->len);
	for (uint32_t i = 0; i < t->len; i++)
		aeg_elem_put(w, aeg_slot_at(t, i));
}

int aeg_elems_get(struct aeg_reader *r, struct aeg_slot_table *t, uint32_t elem_bytes_max)
{
	assert(t->len == 0);
	uint64_t n = aeg_get_varint(r);
	if (r->error)
		return aeg_codec_error(r);
	if (n > t->cap)
		return -ENOSPC;
	for (uint64_t i = 0; i < n; i++) {
		const uint8_t *elem;
		size_t len;
		int err = aeg_elem_get(r, elem_bytes_max, &elem, &len);
		if (err < 0)
			return err;
		/* Strictly increasing: canonical and free of duplicates. */
		if (t->len > 0 && aeg_elem_cmp_raw(aeg_slot_at(t, t->len - 1), elem, len) >= 0)
			return -EINVAL;
		aeg_elem_pack(aeg_slot_table_insert_at(t, t->len), elem_bytes_max, elem, len);
	}
	return 0;
}
