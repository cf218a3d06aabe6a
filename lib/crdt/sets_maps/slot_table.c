/* Sorted fixed-size slot table and packed elements: the storage under every
 * set and map CRDT. */
#include "slot_table.h"

#include <stdlib.h>

void aeg_elem_pack(uint8_t *slot, uint32_t elem_bytes_max, const void *elem, size_t len)
{
	assert(len <= elem_bytes_max && len <= AEG_CRDT_ELEM_BYTES_MAX);
	slot[0] = (uint8_t)(len >> 8);
	slot[1] = (uint8_t)len;
	if (len != 0)
		memmove(slot + AEG_ELEM_HDR_BYTES, elem, len); /* elem may be this slot's own */
	memset(slot + AEG_ELEM_HDR_BYTES + len, 0, elem_bytes_max - len);
}

int aeg_elem_cmp_raw(const uint8_t *slot, const void *elem, size_t len)
{
	size_t slot_len = aeg_elem_len(slot);
	if (slot_len != len)
		return slot_len < len ? -1 : 1;
	return len == 0 ? 0 : memcmp(aeg_elem_data(slot), elem, len);
}

int aeg_elem_cmp(const uint8_t *a, const uint8_t *b)
{
	return aeg_elem_cmp_raw(a, aeg_elem_data(b), aeg_elem_len(b));
}

void aeg_elem_put(struct aeg_writer *w, const uint8_t *slot)
{
	aeg_put_varint(w, aeg_elem_len(slot));
	aeg_put_bytes(w, aeg_elem_data(slot), aeg_elem_len(slot));
}

size_t aeg_elem_encoded_size(const uint8_t *slot)
{
	return aeg_varint_size(aeg_elem_len(slot)) + aeg_elem_len(slot);
}

int aeg_elem_get(struct aeg_reader *r, uint32_t elem_bytes_max, const uint8_t **elem,
		 size_t *len)
{
	uint64_t n = aeg_get_varint(r);
	if (r->error)
		return aeg_codec_error(r);
	if (n > elem_bytes_max)
		return -EMSGSIZE;
	*elem = aeg_get_bytes(r, (size_t)n);
	*len = (size_t)n;
	return r->error ? aeg_codec_error(r) : 0;
}

void aeg_crdt_put_header(struct aeg_writer *w, uint8_t tag)
{
	aeg_put_u8(w, tag);
	aeg_put_u8(w, AEG_CRDT_SET_FORMAT);
}

int aeg_crdt_get_header(struct aeg_reader *r, uint8_t tag)
{
	uint8_t got_tag = aeg_get_u8(r);
	uint8_t got_version = aeg_get_u8(r);
	if (r->error)
		return -EMSGSIZE;
	return got_tag == tag && got_version == AEG_CRDT_SET_FORMAT ? 0 : -EINVAL;
}

int aeg_codec_error(const struct aeg_reader *r)
{
	assert(r->error);
	/* The codec's sticky error does not say whether the input ran out or a
	 * varint was not minimal; both are reported as -EMSGSIZE. */
	(void)r;
	return -EMSGSIZE;
}

int aeg_crdt_encode(uint8_t *buf, size_t cap, uint8_t tag, const void *obj,
		    void (*body)(struct aeg_writer *w, const void *obj))
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_crdt_put_header(&w, tag);
	body(&w, obj);
	if (w.error)
		return -ENOBUFS;
	assert(w.len <= INT32_MAX);
	return (int)w.len;
}

int aeg_crdt_decode(const uint8_t *buf, size_t len, uint8_t tag, void *obj,
		    int (*body)(struct aeg_reader *r, void *obj), void (*clear)(void *obj))
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	clear(obj);
	int err = aeg_crdt_get_header(&r, tag);
	if (err == 0)
		err = body(&r, obj);
	if (err < 0) {
		clear(obj);
		return err;
	}
	assert(r.pos <= INT32_MAX);
	return (int)r.pos;
}

int aeg_slot_table_init(struct aeg_slot_table *t, uint32_t cap, size_t slot_bytes)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || slot_bytes == 0 || slot_bytes > SIZE_MAX / cap)
		return -EINVAL;
	t->slots = calloc(cap, slot_bytes);
	if (t->slots == NULL)
		return -ENOMEM;
	t->cap = cap;
	t->slot_bytes = slot_bytes;
	return 0;
}

void aeg_slot_table_fini(struct aeg_slot_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

uint32_t aeg_slot_table_search(const struct aeg_slot_table *t, aeg_slot_key_cmp cmp,
			       const void *key, bool *found)
{
	uint32_t lo = 0, hi = t->len;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (cmp(aeg_slot_at(t, mid), key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < t->len && cmp(aeg_slot_at(t, lo), key) == 0;
	return lo;
}

uint8_t *aeg_slot_table_insert_at(struct aeg_slot_table *t, uint32_t idx)
{
	assert(t->len < t->cap && idx <= t->len);
	uint8_t *p = t->slots + (size_t)idx * t->slot_bytes;
	memmove(p + t->slot_bytes, p, (size_t)(t->len - idx) * t->slot_bytes);
	t->len++;
	return p;
}

void aeg_slot_table_remove_range(struct aeg_slot_table *t, uint32_t lo, uint32_t hi)
{
	assert(lo <= hi && hi <= t->len);
	uint8_t *p = t->slots + (size_t)lo * t->slot_bytes;
	memmove(p, p + (size_t)(hi - lo) * t->slot_bytes, (size_t)(t->len - hi) * t->slot_bytes);
	t->len -= hi - lo;
}

static bool keep_dst(const struct aeg_slot_merge_ops *ops, const uint8_t *d)
{
	return ops->keep == NULL || ops->keep(d, ops->arg);
}

/* Lower bound of a src slot among the dst slots. */
static uint32_t merge_search(const struct aeg_slot_table *dst, const uint8_t *s,
			     const struct aeg_slot_merge_ops *ops, bool *found)
{
	uint32_t lo = 0, hi = dst->len;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ops->cmp(aeg_slot_at(dst, mid), s, ops->arg) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < dst->len && ops->cmp(aeg_slot_at(dst, lo), s, ops->arg) == 0;
	return lo;
}

/* A src much smaller than dst: few enough binary searches and shifts. */
static bool merge_is_sparse(const struct aeg_slot_table *dst, const struct aeg_slot_table *src,
			    const struct aeg_slot_merge_ops *ops)
{
	return ops->keep == NULL && (uint64_t)src->len * 16 < dst->len;
}

int aeg_slot_table_merge_check(const struct aeg_slot_table *dst, const struct aeg_slot_table *src,
			       const struct aeg_slot_merge_ops *ops)
{
	/* Fast accept without walking dst: room for everything, and every
	 * src slot fits the dst layout. */
	bool all_fit = (uint64_t)dst->len + src->len <= dst->cap;
	for (uint32_t j = 0; all_fit && j < src->len; j++)
		all_fit = ops->fits(aeg_slot_at(src, j), ops->arg) == 0;
	if (all_fit)
		return 0;
	uint64_t n = dst->len;
	if (merge_is_sparse(dst, src, ops)) {
		/* Nothing of dst goes: count the src slots that come in. */
		for (uint32_t j = 0; j < src->len; j++) {
			const uint8_t *s = aeg_slot_at(src, j);
			bool found;
			(void)merge_search(dst, s, ops, &found);
			if ((found && ops->update == NULL) || (!found && !ops->take(s, ops->arg)))
				continue;
			int err = ops->fits(s, ops->arg);
			if (err < 0)
				return err;
			n += !found;
		}
		return n > dst->cap ? -ENOSPC : 0;
	}

	n = 0;
	uint32_t i = 0, j = 0;
	while (i < dst->len || j < src->len) {
		int c = i == dst->len ? 1 : j == src->len ? -1 :
			ops->cmp(aeg_slot_at(dst, i), aeg_slot_at(src, j), ops->arg);
		if (c < 0) {
			n += keep_dst(ops, aeg_slot_at(dst, i++));
			continue;
		}
		const uint8_t *s = aeg_slot_at(src, j++);
		if (c == 0)
			i++;
		if (c == 0 || ops->take(s, ops->arg)) {
			if (c != 0 || ops->update != NULL) {
				int err = ops->fits(s, ops->arg);
				if (err < 0)
					return err;
			}
			n++;
		}
	}
	return n > dst->cap ? -ENOSPC : 0;
}

static void merge_apply_sparse(struct aeg_slot_table *dst, const struct aeg_slot_table *src,
			       const struct aeg_slot_merge_ops *ops)
{
	for (uint32_t j = 0; j < src->len; j++) {
		const uint8_t *s = aeg_slot_at(src, j);
		bool found;
		uint32_t idx = merge_search(dst, s, ops, &found);
		if (found && ops->update != NULL)
			ops->update(aeg_slot_at(dst, idx), s, ops->arg);
		else if (!found && ops->take(s, ops->arg))
			ops->copy(aeg_slot_table_insert_at(dst, idx), s, ops->arg);
	}
}

void aeg_slot_table_merge_apply(struct aeg_slot_table *dst, const struct aeg_slot_table *src,
				const struct aeg_slot_merge_ops *ops)
{
	if (merge_is_sparse(dst, src, ops)) {
		merge_apply_sparse(dst, src, ops);
		return;
	}
	/* Pass 1, forward: drop the dst-only slots that keep() refuses and
	 * update the shared ones. Pass 2, backward: insert the src-only slots
	 * that take() accepts; merging from the end never overwrites a dst
	 * slot not yet moved, so no scratch memory is needed. */
	uint32_t w = 0, j = 0, added = 0;
	for (uint32_t i = 0; i < dst->len; i++) {
		uint8_t *d = aeg_slot_at(dst, i);
		int c = 1;
		while (j < src->len && (c = ops->cmp(d, aeg_slot_at(src, j), ops->arg)) > 0)
			added += ops->take(aeg_slot_at(src, j++), ops->arg);
		if (j < src->len && c == 0) {
			if (ops->update != NULL)
				ops->update(d, aeg_slot_at(src, j), ops->arg);
			j++;
		} else if (!keep_dst(ops, d)) {
			continue;
		}
		if (w != i)
			memcpy(aeg_slot_at(dst, w), d, dst->slot_bytes);
		w++;
	}
	while (j < src->len)
		added += ops->take(aeg_slot_at(src, j++), ops->arg);
	assert((uint64_t)w + added <= dst->cap);

	int64_t di = (int64_t)w - 1, sj = (int64_t)src->len - 1, out = (int64_t)w + added - 1;
	dst->len = w + added;
	while (sj >= 0 && out > di) {
		const uint8_t *s = aeg_slot_at(src, (uint32_t)sj);
		int c = di < 0 ? -1 : ops->cmp(aeg_slot_at(dst, (uint32_t)di), s, ops->arg);
		if (c > 0) {
			memcpy(aeg_slot_at(dst, (uint32_t)out--), aeg_slot_at(dst, (uint32_t)di--),
			       dst->slot_bytes);
			continue;
		}
		sj--;
		if (c < 0 && ops->take(s, ops->arg))
			ops->copy(aeg_slot_at(dst, (uint32_t)out--), s, ops->arg);
	}
	assert(out == di);
}

int aeg_slot_table_merge(struct aeg_slot_table *dst, const struct aeg_slot_table *src,
			 const struct aeg_slot_merge_ops *ops)
{
	int n = aeg_slot_table_merge_check(dst, src, ops);
	if (n < 0)
		return n;
	aeg_slot_table_merge_apply(dst, src, ops);
	return 0;
}

bool aeg_slot_table_equal(const struct aeg_slot_table *a, const struct aeg_slot_table *b,
			  int (*cmp)(const uint8_t *a, const uint8_t *b, const void *arg),
			  const void *arg)
{
	if (a->len != b->len)
		return false;
	for (uint32_t i = 0; i < a->len; i++)
		if (cmp(aeg_slot_at(a, i), aeg_slot_at(b, i), arg) != 0)
			return false;
	return true;
}
