/* G-Counter: per-replica counts, merge = pointwise max. */
#include "aegis/crdt_counter.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "common/sorted_max_merge.h"
#include "cr_internal.h"

int aeg_gcounter_init(struct aeg_gcounter *gc, uint32_t replicas_max)
{
	if (gc == NULL || replicas_max == 0)
		return -EINVAL;
	gc->len = 0;
	gc->replicas_max = replicas_max;
	gc->entries = calloc(replicas_max, sizeof(*gc->entries));
	return gc->entries == NULL ? -ENOMEM : 0;
}

void aeg_gcounter_fini(struct aeg_gcounter *gc)
{
	free(gc->entries);
	gc->entries = NULL;
	gc->len = 0;
	gc->replicas_max = 0;
}

void aeg_gcounter_clear(struct aeg_gcounter *gc)
{
	gc->len = 0;
}

/* Index of the first entry with replica >= `replica`. */
static uint32_t gc_lower_bound(const struct aeg_gcounter *gc, uint32_t replica)
{
	uint32_t lo = 0, hi = gc->len;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (gc->entries[mid].replica < replica)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint64_t aeg_gcounter_get(const struct aeg_gcounter *gc, uint32_t replica)
{
	uint32_t i = gc_lower_bound(gc, replica);
	return (i < gc->len && gc->entries[i].replica == replica) ? gc->entries[i].count : 0;
}

/* The entry for replica, inserted with count 0 if missing (the caller
 * sets a count > 0 right away); NULL when a new entry does not fit. */
static struct aeg_gcounter_entry *gc_slot(struct aeg_gcounter *gc, uint32_t replica)
{
	uint32_t i = gc_lower_bound(gc, replica);
	if (i < gc->len && gc->entries[i].replica == replica)
		return &gc->entries[i];
	if (gc->len == gc->replicas_max)
		return NULL;
	memmove(&gc->entries[i + 1], &gc->entries[i], (gc->len - i) * sizeof(gc->entries[0]));
	gc->entries[i] = (struct aeg_gcounter_entry){ replica, 0 };
	gc->len++;
	return &gc->entries[i];
}

int aeg_gcounter_increment(struct aeg_gcounter *gc, uint32_t replica, uint64_t n,
			   struct aeg_gcounter *delta)
{
	if (gc == NULL || n == 0 || delta == gc)
		return -EINVAL;
	uint64_t old = aeg_gcounter_get(gc, replica);
	if (n > UINT64_MAX - old)
		return -EOVERFLOW;
	struct aeg_gcounter_entry *e = gc_slot(gc, replica);
	if (e == NULL)
		return -ENOSPC;
	e->count = old + n;
	if (delta != NULL) {
		/* replicas_max >= 1, so the one entry always fits. */
		assert(delta->replicas_max >= 1);
		delta->entries[0] = *e;
		delta->len = 1;
	}
	return 0;
}

int aeg_gcounter_value(const struct aeg_gcounter *gc, uint64_t *value_out)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < gc->len; i++) {
		if (gc->entries[i].count > UINT64_MAX - sum)
			return -EOVERFLOW;
		sum += gc->entries[i].count;
	}
	*value_out = sum;
	return 0;
}

AEG_SORTED_MAX_MERGE_DEFINE(gc_entries, struct aeg_gcounter_entry, replica, count)

uint32_t aeg_cr_gcounter_union_len(const struct aeg_gcounter *a, const struct aeg_gcounter *b)
{
	return gc_entries_union_len(a->entries, a->len, b->entries, b->len);
}

/* The common delta (one entry): binary search instead of a full pass. */
static int gc_merge_one(struct aeg_gcounter *dst, const struct aeg_gcounter_entry *src)
{
	struct aeg_gcounter_entry *e = gc_slot(dst, src->replica);
	if (e == NULL)
		return -ENOSPC;
	if (src->count > e->count)
		e->count = src->count;
	return 0;
}

int aeg_gcounter_merge(struct aeg_gcounter *dst, const struct aeg_gcounter *src)
{
	if (dst == NULL || src == NULL)
		return -EINVAL;
	if (dst == src)
		return 0;
	if (src->len == 1)
		return gc_merge_one(dst, &src->entries[0]);
	uint32_t n = aeg_cr_gcounter_union_len(dst, src);
	if (n > dst->replicas_max)
		return -ENOSPC;
	if (n == dst->len) {
		/* Steady state: src knows no new replica, raise counts in place. */
		uint32_t i = 0;
		for (uint32_t j = 0; j < src->len; j++) {
			while (dst->entries[i].replica != src->entries[j].replica)
				i++;
			if (src->entries[j].count > dst->entries[i].count)
				dst->entries[i].count = src->entries[j].count;
		}
		return 0;
	}
	gc_entries_merge(dst->entries, dst->len, src->entries, src->len, n);
	dst->len = n;
	return 0;
}

bool aeg_gcounter_equal(const struct aeg_gcounter *a, const struct aeg_gcounter *b)
{
	if (a->len != b->len)
		return false;
	for (uint32_t i = 0; i < a->len; i++) {
		if (a->entries[i].replica != b->entries[i].replica ||
		    a->entries[i].count != b->entries[i].count)
			return false;
	}
	return true;
}

size_t aeg_cr_gcounter_body_size(const struct aeg_gcounter *gc)
{
	size_t n = aeg_varint_size(gc->len);
	uint32_t prev = 0;
	for (uint32_t i = 0; i < gc->len; i++) {
		const struct aeg_gcounter_entry *e = &gc->entries[i];
		n += aeg_varint_size(e->replica - prev);
		n += aeg_varint_size(e->count);
		prev = e->replica;
	}
	return n;
}

void aeg_cr_gcounter_body_put(struct aeg_writer *w, const struct aeg_gcounter *gc)
{
	aeg_put_varint(w, gc->len);
	uint32_t prev = 0;
	for (uint32_t i = 0; i < gc->len; i++) {
		const struct aeg_gcounter_entry *e = &gc->entries[i];
		aeg_put_varint(w, e->replica - prev);
		aeg_put_varint(w, e->count);
		prev = e->replica;
	}
}

int aeg_cr_gcounter_body_get(struct aeg_reader *r, struct aeg_gcounter *gc)
{
	gc->len = 0;
	uint32_t count = aeg_get_varint32(r);
	if (r->error)
		return cr_reader_error(r);
	if (count > gc->replicas_max)
		return -ENOSPC;
	uint32_t replica = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t gap = aeg_get_varint(r);
		uint64_t c = aeg_get_varint(r);
		int rc = r->error ? cr_reader_error(r) : 0;
		/* Strictly increasing replicas: later gaps are >= 1. */
		if (rc == 0 && ((i > 0 && gap == 0) || gap > UINT32_MAX - replica || c == 0))
			rc = -EINVAL;
		if (rc < 0) {
			gc->len = 0;
			return rc;
		}
		replica += (uint32_t)gap;
		gc->entries[i] = (struct aeg_gcounter_entry){ replica, c };
		gc->len = i + 1;
	}
	return 0;
}

size_t aeg_gcounter_encoded_size(const struct aeg_gcounter *gc)
{
	return 2 + aeg_cr_gcounter_body_size(gc);
}

int aeg_gcounter_encode(const struct aeg_gcounter *gc, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	cr_put_header(&w, AEG_CRDT_TAG_GCOUNTER, AEG_CRDT_COUNTER_FORMAT);
	aeg_cr_gcounter_body_put(&w, gc);
	return cr_encode_result(&w);
}

static int gc_body(struct aeg_reader *r, void *gc)
{
	return aeg_cr_gcounter_body_get(r, gc);
}

static void gc_clear(void *gc)
{
	aeg_gcounter_clear(gc);
}

int aeg_gcounter_decode(struct aeg_gcounter *gc, const uint8_t *buf, size_t len)
{
	return cr_decode(gc, buf, len, AEG_CRDT_TAG_GCOUNTER, AEG_CRDT_COUNTER_FORMAT, gc_body,
			 gc_clear);
}
