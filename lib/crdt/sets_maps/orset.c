/* OR-Set, add-wins, optimized (causal-context) form: entries (element, dot)
 * and a causal context; removes leave no tombstone entries. */
#include "orset_internal.h"

#include <stdlib.h>

#define DOT_BYTES AEG_ORSET_DOT_BYTES

static size_t dot_offset(uint32_t elem_bytes_max)
{
	return aeg_elem_slot_bytes(elem_bytes_max);
}

void aeg_orset_slot_pack(uint8_t *slot, uint32_t elem_bytes_max, const void *elem, size_t len,
			 const struct aeg_dot *dot)
{
	aeg_elem_pack(slot, elem_bytes_max, elem, len);
	uint8_t *p = slot + dot_offset(elem_bytes_max);
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(dot->node >> (8 * (3 - i)));
	for (int i = 0; i < 8; i++)
		p[4 + i] = (uint8_t)(dot->counter >> (8 * (7 - i)));
}

int aeg_orset_init(struct aeg_orset *s, uint32_t entries_max, uint32_t elem_bytes_max)
{
	memset(s, 0, sizeof(*s));
	aeg_orset_ctx_init(&s->ctx);
	s->elem_bytes_max = elem_bytes_max;
	s->by_dot_ok = true;
	if (elem_bytes_max > AEG_CRDT_ELEM_BYTES_MAX)
		return -EINVAL;
	int err = aeg_slot_table_init(&s->entries, entries_max,
				      dot_offset(elem_bytes_max) + DOT_BYTES);
	if (err < 0)
		return err;
	s->by_dot = calloc(entries_max, sizeof(s->by_dot[0]));
	if (s->by_dot == NULL) {
		aeg_slot_table_fini(&s->entries);
		return -ENOMEM;
	}
	return 0;
}

void aeg_orset_fini(struct aeg_orset *s)
{
	aeg_slot_table_fini(&s->entries);
	free(s->by_dot);
	s->by_dot = NULL;
	s->by_dot_len = 0;
}

void aeg_orset_clear(struct aeg_orset *s)
{
	aeg_slot_table_clear(&s->entries);
	aeg_orset_ctx_init(&s->ctx);
	s->by_dot_len = 0;
	s->by_dot_ok = true;
	s->by_dot_walks = 0;
}

/* ---- lookup --------------------------------------------------------------- */

struct entry_key {
	const void *elem;
	size_t len;
	uint32_t elem_bytes_max; /* of the table searched */
	struct aeg_dot dot;
};

int aeg_orset_slot_cmp(const uint8_t *slot, uint32_t elem_bytes_max, const void *elem,
		       size_t len, const struct aeg_dot *dot)
{
	int c = aeg_elem_cmp_raw(slot, elem, len);
	if (c != 0)
		return c;
	struct aeg_dot d = aeg_orset_slot_dot(slot, elem_bytes_max);
	return aeg_dot_cmp(&d, dot);
}

static int entry_key_cmp(const uint8_t *slot, const void *key)
{
	const struct entry_key *k = key;
	return aeg_orset_slot_cmp(slot, k->elem_bytes_max, k->elem, k->len, &k->dot);
}

uint32_t aeg_orset_search(const struct aeg_orset *s, const uint8_t *slot, uint32_t slot_bytes_max,
			  bool *found)
{
	struct entry_key key = { aeg_elem_data(slot), aeg_elem_len(slot), s->elem_bytes_max,
				 aeg_orset_slot_dot(slot, slot_bytes_max) };
	return aeg_slot_table_search(&s->entries, entry_key_cmp, &key, found);
}

/* [*lo, *hi): the entries of elem. */
static void elem_range(const struct aeg_orset *s, const void *elem, size_t len, uint32_t *lo,
		       uint32_t *hi)
{
	struct entry_key key = { elem, len, s->elem_bytes_max, { 0, 0 } };
	bool found;
	*lo = *hi = 0;
	if (elem == NULL && len != 0)
		return; /* a bad query finds nothing */
	*lo = aeg_slot_table_search(&s->entries, entry_key_cmp, &key, &found);
	*hi = *lo;
	while (*hi < s->entries.len &&
	       aeg_elem_cmp_raw(aeg_slot_at(&s->entries, *hi), elem, len) == 0)
		(*hi)++;
}

bool aeg_orset_contains(const struct aeg_orset *s, const void *elem, size_t len)
{
	uint32_t lo, hi;
	elem_range(s, elem, len, &lo, &hi);
	return hi > lo;
}

uint32_t aeg_orset_size(const struct aeg_orset *s)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->entries.len; i++)
		n += i == 0 || aeg_elem_cmp(aeg_slot_at(&s->entries, i - 1),
					    aeg_slot_at(&s->entries, i)) != 0;
	return n;
}

uint32_t aeg_orset_entries(const struct aeg_orset *s)
{
	return s->entries.len;
}

void aeg_orset_entry(const struct aeg_orset *s, uint32_t i, const uint8_t **elem,
		     size_t *len, struct aeg_dot *dot)
{
	assert(i < s->entries.len);
	const uint8_t *slot = aeg_slot_at(&s->entries, i);
	*elem = aeg_elem_data(slot);
	*len = aeg_elem_len(slot);
	*dot = aeg_orset_slot_dot(slot, s->elem_bytes_max);
}

/* ---- mutators --------------------------------------------------------------- */

/* Context of the delta: the element's current dots (and the new one). */
static int old_dots_ctx(const struct aeg_orset *s, uint32_t lo, uint32_t hi,
			struct aeg_orset_ctx *out)
{
	aeg_orset_ctx_init(out);
	for (uint32_t i = lo; i < hi; i++) {
		struct aeg_dot d = aeg_orset_dot_at(s, i);
		int err = aeg_orset_ctx_add(out, &d);
		if (err < 0)
			return err;
	}
	return 0;
}

/* The next dot of replica: past everything the context holds of it. */
static int next_dot(const struct aeg_orset_ctx *c, uint32_t replica, struct aeg_dot *dot)
{
	uint64_t max = aeg_vclock_get(&c->vv, replica);
	for (uint32_t i = 0; i < c->cloud_len; i++)
		if (c->cloud[i].node == replica && c->cloud[i].counter > max)
			max = c->cloud[i].counter;
	if (max == UINT64_MAX)
		return -EOVERFLOW;
	dot->node = replica;
	dot->counter = max + 1;
	return 0;
}

static int check_args(const struct aeg_orset *s, const void *elem, size_t len,
		      const struct aeg_orset *delta)
{
	return aeg_mutator_check(s, s->elem_bytes_max, delta,
				 delta != NULL ? delta->elem_bytes_max : 0, elem, len);
}

int aeg_orset_add(struct aeg_orset *s, const void *elem, size_t len, uint32_t replica,
		  struct aeg_orset *delta)
{
	struct aeg_orset_ctx delta_ctx;
	struct aeg_dot dot;
	uint32_t lo, hi;
	int err = check_args(s, elem, len, delta);
	if (err == 0)
		err = next_dot(&s->ctx, replica, &dot);
	if (err < 0)
		return err;
	elem_range(s, elem, len, &lo, &hi);
	if (s->entries.len - (hi - lo) + 1 > s->entries.cap)
		return -ENOSPC;
	if (delta != NULL) {
		err = old_dots_ctx(s, lo, hi, &delta_ctx);
		if (err == 0)
			err = aeg_orset_ctx_add(&delta_ctx, &dot);
	}
	/* Last check: adding one dot either succeeds or leaves ctx as it was. */
	if (err == 0)
		err = aeg_orset_ctx_add(&s->ctx, &dot);
	if (err < 0)
		return err;

	if (delta != NULL) {
		aeg_orset_clear(delta);
		aeg_orset_slot_pack(aeg_slot_table_insert_at(&delta->entries, 0), delta->elem_bytes_max,
				    elem, len, &dot);
		aeg_orset_dots_place(delta, 0);
		delta->ctx = delta_ctx;
	}
	for (uint32_t i = lo; i < hi; i++)
		aeg_orset_dots_forget(s, i);
	/* elem may point into this table: write the new entry over the first
	 * old one before dropping the rest, or follow the insert's shift. */
	if (hi > lo) {
		aeg_orset_slot_pack(aeg_slot_at(&s->entries, lo), s->elem_bytes_max, elem, len, &dot);
		aeg_slot_table_remove_range(&s->entries, lo + 1, hi);
		aeg_orset_dots_shift(s, hi, -(int32_t)(hi - lo - 1));
	} else {
		elem = aeg_slot_follow_insert(&s->entries, lo, elem);
		aeg_orset_slot_pack(aeg_slot_table_insert_at(&s->entries, lo), s->elem_bytes_max, elem, len,
			   &dot);
		aeg_orset_dots_shift(s, lo, 1);
	}
	aeg_orset_dots_place(s, lo);
	return 0;
}

int aeg_orset_remove(struct aeg_orset *s, const void *elem, size_t len,
		     struct aeg_orset *delta)
{
	struct aeg_orset_ctx delta_ctx;
	uint32_t lo, hi;
	int err = check_args(s, elem, len, delta);
	if (err < 0)
		return err;
	elem_range(s, elem, len, &lo, &hi);
	if (delta != NULL) {
		err = old_dots_ctx(s, lo, hi, &delta_ctx);
		if (err < 0)
			return err;
		aeg_orset_clear(delta);
		delta->ctx = delta_ctx;
	}
	/* The dots stay in s->ctx: that is what keeps the element removed. */
	for (uint32_t i = lo; i < hi; i++)
		aeg_orset_dots_forget(s, i);
	aeg_slot_table_remove_range(&s->entries, lo, hi);
	aeg_orset_dots_shift(s, hi, -(int32_t)(hi - lo));
	return 0;
}

/* ---- merge ------------------------------------------------------------------ */

struct merge_arg {
	uint32_t dst_max; /* first: aeg_elems_fits reads it */
	uint32_t src_max;
	const struct aeg_orset_ctx *dst_ctx;
	const struct aeg_orset_ctx *src_ctx;
};

static int merge_cmp(const uint8_t *d, const uint8_t *s, const void *arg)
{
	const struct merge_arg *a = arg;
	struct entry_key key = { aeg_elem_data(s), aeg_elem_len(s), a->dst_max,
				 aeg_orset_slot_dot(s, a->src_max) };
	return entry_key_cmp(d, &key);
}

static bool merge_keep(const uint8_t *d, const void *arg)
{
	const struct merge_arg *a = arg;
	struct aeg_dot dot = aeg_orset_slot_dot(d, a->dst_max);
	return !aeg_orset_ctx_covers(a->src_ctx, &dot);
}

static bool merge_take(const uint8_t *s, const void *arg)
{
	const struct merge_arg *a = arg;
	struct aeg_dot dot = aeg_orset_slot_dot(s, a->src_max);
	return !aeg_orset_ctx_covers(a->dst_ctx, &dot);
}

static void merge_copy(uint8_t *d, const uint8_t *s, const void *arg)
{
	const struct merge_arg *a = arg;
	struct aeg_dot dot = aeg_orset_slot_dot(s, a->src_max);
	aeg_orset_slot_pack(d, a->dst_max, aeg_elem_data(s), aeg_elem_len(s), &dot);
}

static struct aeg_slot_merge_ops merge_ops(const struct merge_arg *arg)
{
	const struct aeg_slot_merge_ops ops = {
		.cmp = merge_cmp, .keep = merge_keep, .take = merge_take,
		.fits = aeg_elems_fits, .copy = merge_copy, .arg = arg,
	};
	return ops;
}

int aeg_orset_merge_walk(struct aeg_orset *dst, const struct aeg_orset *src)
{
	if (dst == src)
		return 0; /* idempotent; also keeps the in-place passes apart */
	bool was_empty = dst->entries.len == 0;
	const struct merge_arg arg = { dst->elem_bytes_max, src->elem_bytes_max, &dst->ctx,
				       &src->ctx };
	const struct aeg_slot_merge_ops ops = merge_ops(&arg);
	struct aeg_orset_ctx ctx = dst->ctx;
	int err = aeg_orset_ctx_merge(&ctx, &src->ctx);
	if (err == 0)
		err = aeg_slot_table_merge_check(&dst->entries, &src->entries, &ops);
	if (err < 0)
		return err;
	/* Entries first: keep/take read both original contexts. */
	aeg_slot_table_merge_apply(&dst->entries, &src->entries, &ops);
	dst->ctx = ctx;
	/* A copy (every src entry taken into an empty dst) keeps src's entry
	 * positions, so src's index fits; otherwise rebuild when needed. */
	bool was_ok = dst->by_dot_ok;
	dst->by_dot_ok = was_empty && src->by_dot_ok && dst->entries.len == src->entries.len;
	if (was_ok)
		dst->by_dot_walks = 0; /* stale from here (or copied): count afresh */
	dst->by_dot_len = dst->by_dot_ok ? src->by_dot_len : 0;
	if (dst->by_dot_ok)
		memcpy(dst->by_dot, src->by_dot, src->by_dot_len * sizeof(src->by_dot[0]));
	return 0;
}

int aeg_orset_merge(struct aeg_orset *dst, const struct aeg_orset *src)
{
	if (dst == src)
		return 0;
	int err = aeg_orset_merge_fast(dst, src);
	return err == -EAGAIN ? aeg_orset_merge_walk(dst, src) : err;
}

bool aeg_orset_equal(const struct aeg_orset *a, const struct aeg_orset *b)
{
	const struct merge_arg arg = { a->elem_bytes_max, b->elem_bytes_max, NULL, NULL };
	return aeg_orset_ctx_equal(&a->ctx, &b->ctx) &&
	       aeg_slot_table_equal(&a->entries, &b->entries, merge_cmp, &arg);
}

/* ---- encoding: header, context, varint count, entries (element, varint
 * node, varint counter) --------------------------------------------------- */

size_t aeg_orset_encoded_size(const struct aeg_orset *s)
{
	size_t n = 2 + aeg_orset_ctx_encoded_size(&s->ctx) + aeg_varint_size(s->entries.len);
	for (uint32_t i = 0; i < s->entries.len; i++) {
		const uint8_t *slot = aeg_slot_at(&s->entries, i);
		struct aeg_dot d = aeg_orset_slot_dot(slot, s->elem_bytes_max);
		n += aeg_elem_encoded_size(slot) + aeg_varint_size(d.node) +
		     aeg_varint_size(d.counter);
	}
	return n;
}

static void put_body(struct aeg_writer *w, const void *obj)
{
	const struct aeg_orset *s = obj;
	aeg_orset_ctx_put(w, &s->ctx);
	aeg_put_varint(w, s->entries.len);
	for (uint32_t i = 0; i < s->entries.len; i++) {
		const uint8_t *slot = aeg_slot_at(&s->entries, i);
		struct aeg_dot d = aeg_orset_slot_dot(slot, s->elem_bytes_max);
		aeg_elem_put(w, slot);
		aeg_put_varint(w, d.node);
		aeg_put_varint(w, d.counter);
	}
}

int aeg_orset_encode(const struct aeg_orset *s, uint8_t *buf, size_t cap)
{
	return aeg_crdt_encode(buf, cap, AEG_CRDT_TAG_ORSET, s, put_body);
}

static int get_body(struct aeg_reader *r, void *obj)
{
	struct aeg_orset *s = obj;
	s->by_dot_ok = false; /* rebuilt by a later small merge */
	s->by_dot_walks = 0;
	int err = aeg_orset_ctx_get(r, &s->ctx);
	if (err < 0)
		return err;
	uint64_t count = aeg_get_varint(r);
	if (r->error)
		return aeg_codec_error(r);
	if (count > s->entries.cap)
		return -ENOSPC;
	for (uint64_t i = 0; i < count; i++) {
		struct entry_key key = { NULL, 0, s->elem_bytes_max, { 0, 0 } };
		const uint8_t *elem;
		err = aeg_elem_get(r, s->elem_bytes_max, &elem, &key.len);
		if (err < 0)
			return err;
		key.elem = elem;
		key.dot.node = aeg_get_varint32(r);
		key.dot.counter = aeg_get_varint(r);
		if (r->error)
			return aeg_codec_error(r);
		/* Sorted, and every dot inside the context (a state invariant). */
		if ((i > 0 && entry_key_cmp(aeg_slot_at(&s->entries, s->entries.len - 1), &key) >= 0) ||
		    key.dot.counter == 0 || !aeg_orset_ctx_covers(&s->ctx, &key.dot))
			return -EINVAL;
		aeg_orset_slot_pack(aeg_slot_table_insert_at(&s->entries, s->entries.len), s->elem_bytes_max,
			   key.elem, key.len, &key.dot);
	}
	return 0;
}

static void clear(void *obj)
{
	aeg_orset_clear(obj);
}

int aeg_orset_decode(struct aeg_orset *s, const uint8_t *buf, size_t len)
{
	return aeg_crdt_decode(buf, len, AEG_CRDT_TAG_ORSET, s, get_body, clear);
}
