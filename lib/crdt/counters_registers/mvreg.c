/* MV-Register: an antichain of (value, vector clock) versions. */
#include "aegis/crdt_register.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "cr_internal.h"

int aeg_mvreg_init(struct aeg_mvreg *reg, uint32_t versions_max, uint32_t value_bytes_max)
{
	if (reg == NULL || versions_max == 0)
		return -EINVAL;
	memset(reg, 0, sizeof(*reg));
	size_t slot_bytes = value_bytes_max == 0 ? 1 : value_bytes_max;
	if (slot_bytes > SIZE_MAX / versions_max)
		return -ENOMEM;
	reg->versions = calloc(versions_max, sizeof(*reg->versions));
	reg->slots = malloc(slot_bytes * versions_max);
	if (reg->versions == NULL || reg->slots == NULL) {
		aeg_mvreg_fini(reg);
		return -ENOMEM;
	}
	reg->versions_max = versions_max;
	reg->value_bytes_max = value_bytes_max;
	for (uint32_t i = 0; i < versions_max; i++)
		reg->versions[i].value = reg->slots + (size_t)i * slot_bytes;
	return 0;
}

void aeg_mvreg_fini(struct aeg_mvreg *reg)
{
	free(reg->versions);
	free(reg->slots);
	memset(reg, 0, sizeof(*reg));
}

void aeg_mvreg_clear(struct aeg_mvreg *reg)
{
	reg->len = 0;
}

/* Canonical total order: clock entries lexicographically (node, then
 * counter; a prefix first), then value bytes. It only sorts; causality
 * is aeg_vclock_compare. */
static int version_order(const struct aeg_mvreg_version *a, const struct aeg_mvreg_version *b)
{
	uint32_t n = a->clock.len < b->clock.len ? a->clock.len : b->clock.len;
	for (uint32_t i = 0; i < n; i++) {
		const struct aeg_vclock_entry *x = &a->clock.entries[i], *y = &b->clock.entries[i];
		if (x->node != y->node)
			return x->node < y->node ? -1 : 1;
		if (x->counter != y->counter)
			return x->counter < y->counter ? -1 : 1;
	}
	if (a->clock.len != b->clock.len)
		return a->clock.len < b->clock.len ? -1 : 1;
	return cr_bytes_compare(a->value, a->value_len, b->value, b->value_len);
}

static void version_swap(struct aeg_mvreg_version *a, struct aeg_mvreg_version *b)
{
	struct aeg_mvreg_version t = *a;
	*a = *b;
	*b = t;
}

/* Insertion sort: a few versions, almost always already in order. */
static void mv_sort(struct aeg_mvreg *reg)
{
	for (uint32_t i = 1; i < reg->len; i++) {
		for (uint32_t j = i; j > 0 && version_order(&reg->versions[j - 1], &reg->versions[j]) > 0; j--)
			version_swap(&reg->versions[j - 1], &reg->versions[j]);
	}
}

/* Copies into v's own slot (value may alias another slot of the register). */
static void version_store(struct aeg_mvreg_version *v, const struct aeg_vclock *clock,
			  const void *value, size_t len)
{
	/* Only the used entries: a clock is mostly unused capacity. */
	v->clock.len = clock->len;
	memcpy(v->clock.entries, clock->entries, clock->len * sizeof(clock->entries[0]));
	v->value_len = (uint32_t)len;
	if (len != 0)
		memmove(v->value, value, len);
}

int aeg_mvreg_write(struct aeg_mvreg *reg, uint32_t node, const void *value, size_t len,
		    struct aeg_mvreg *delta)
{
	if (reg == NULL || (value == NULL && len != 0) || delta == reg)
		return -EINVAL;
	if (len > reg->value_bytes_max || (delta != NULL && len > delta->value_bytes_max))
		return -EMSGSIZE;
	struct aeg_vclock clock;
	aeg_vclock_init(&clock);
	for (uint32_t i = 0; i < reg->len; i++) {
		int rc = aeg_vclock_merge(&clock, &reg->versions[i].clock);
		if (rc < 0)
			return rc;
	}
	int rc = aeg_vclock_increment(&clock, node, NULL);
	if (rc < 0)
		return rc;
	/* The new clock dominates every held one: they all go. */
	version_store(&reg->versions[0], &clock, value, len);
	reg->len = 1;
	if (delta != NULL) {
		version_store(&delta->versions[0], &clock, value, len);
		delta->len = 1;
	}
	return 0;
}

/* Some version in set[0, n) has a clock strictly after v's. */
static bool mv_dominated(const struct aeg_mvreg_version *v, const struct aeg_mvreg_version *set,
			 uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (aeg_vclock_compare(&v->clock, &set[i].clock) == AEG_ORDER_BEFORE)
			return true;
	}
	return false;
}

/* v is dominated by or identical to a version of set[0, n). */
static bool mv_covered(const struct aeg_mvreg_version *v, const struct aeg_mvreg_version *set,
		       uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (version_order(v, &set[i]) == 0)
			return true;
	}
	return mv_dominated(v, set, n);
}

/* Both sides are antichains, so a src version never hides behind a dst
 * version that src itself dominates: checking src against the compacted
 * dst gives the same answer as against the original. */
int aeg_mvreg_merge(struct aeg_mvreg *dst, const struct aeg_mvreg *src)
{
	if (dst == NULL || src == NULL)
		return -EINVAL;
	if (dst == src)
		return 0;
	uint32_t keep = 0;
	for (uint32_t i = 0; i < dst->len; i++)
		keep += !mv_dominated(&dst->versions[i], src->versions, src->len);
	for (uint32_t j = 0; j < src->len; j++) {
		const struct aeg_mvreg_version *s = &src->versions[j];
		if (mv_covered(s, dst->versions, dst->len))
			continue;
		if (s->value_len > dst->value_bytes_max)
			return -EMSGSIZE;
		keep++;
	}
	if (keep > dst->versions_max)
		return -ENOSPC;
	uint32_t kept_dst = 0;
	for (uint32_t i = 0; i < dst->len; i++) {
		if (!mv_dominated(&dst->versions[i], src->versions, src->len))
			version_swap(&dst->versions[kept_dst++], &dst->versions[i]);
	}
	dst->len = kept_dst;
	for (uint32_t j = 0; j < src->len; j++) {
		const struct aeg_mvreg_version *s = &src->versions[j];
		if (mv_covered(s, dst->versions, kept_dst))
			continue;
		assert(dst->len < dst->versions_max);
		version_store(&dst->versions[dst->len++], &s->clock, s->value, s->value_len);
	}
	assert(dst->len == keep);
	mv_sort(dst);
	return 0;
}

bool aeg_mvreg_equal(const struct aeg_mvreg *a, const struct aeg_mvreg *b)
{
	if (a->len != b->len)
		return false;
	for (uint32_t i = 0; i < a->len; i++) {
		if (version_order(&a->versions[i], &b->versions[i]) != 0)
			return false;
	}
	return true;
}

uint32_t aeg_mvreg_versions(const struct aeg_mvreg *reg)
{
	return reg->len;
}

const struct aeg_mvreg_version *aeg_mvreg_version_at(const struct aeg_mvreg *reg, uint32_t i)
{
	return i < reg->len ? &reg->versions[i] : NULL;
}

size_t aeg_mvreg_read(const struct aeg_mvreg *reg, struct aeg_mvreg_value *out, size_t out_cap)
{
	size_t n = 0;
	for (uint32_t i = 0; i < reg->len; i++) {
		const struct aeg_mvreg_version *v = &reg->versions[i];
		bool seen = false;
		for (uint32_t k = 0; k < i && !seen; k++) {
			const struct aeg_mvreg_version *w = &reg->versions[k];
			seen = cr_bytes_compare(v->value, v->value_len, w->value, w->value_len) == 0;
		}
		if (seen)
			continue;
		/* Sorted insert into out while it fits; count the rest. */
		if (n < out_cap) {
			size_t j = n;
			while (j > 0 && cr_bytes_compare(out[j - 1].value, out[j - 1].len,
							 v->value, v->value_len) > 0) {
				out[j] = out[j - 1];
				j--;
			}
			out[j] = (struct aeg_mvreg_value){ v->value, v->value_len };
		}
		n++;
	}
	return n;
}

size_t aeg_mvreg_encoded_size(const struct aeg_mvreg *reg)
{
	size_t n = 2 + aeg_varint_size(reg->len);
	for (uint32_t i = 0; i < reg->len; i++) {
		const struct aeg_mvreg_version *v = &reg->versions[i];
		n += aeg_vclock_encoded_size(&v->clock) + aeg_varint_size(v->value_len) + v->value_len;
	}
	return n;
}

static void mv_put_clock(struct aeg_writer *w, const struct aeg_vclock *clock)
{
	if (w->error)
		return;
	int rc = aeg_vclock_encode(clock, w->buf + w->len, w->cap - w->len);
	if (rc < 0)
		w->error = true;
	else
		w->len += (size_t)rc;
}

int aeg_mvreg_encode(const struct aeg_mvreg *reg, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	cr_put_header(&w, AEG_CRDT_TAG_MVREG, AEG_CRDT_REGISTER_FORMAT);
	aeg_put_varint(&w, reg->len);
	for (uint32_t i = 0; i < reg->len; i++) {
		mv_put_clock(&w, &reg->versions[i].clock);
		aeg_put_varint(&w, reg->versions[i].value_len);
		aeg_put_bytes(&w, reg->versions[i].value, reg->versions[i].value_len);
	}
	return cr_encode_result(&w);
}

static int mv_get_version(struct aeg_reader *r, struct aeg_mvreg_version *v,
			  uint32_t value_bytes_max)
{
	int rc = aeg_vclock_decode(&v->clock, r->buf + r->pos, aeg_reader_left(r));
	if (rc < 0)
		return rc;
	r->pos += (size_t)rc;
	uint64_t len = aeg_get_varint(r);
	if (r->error)
		return cr_reader_error(r);
	if (len > value_bytes_max)
		return -EMSGSIZE;
	const uint8_t *value = cr_get_bytes(r, (size_t)len);
	if (r->error)
		return cr_reader_error(r);
	v->value_len = (uint32_t)len;
	if (len != 0)
		memcpy(v->value, value, (size_t)len);
	return 0;
}

/* Canonical: strictly increasing order (so no duplicates) and an antichain. */
static int mv_get_versions(struct aeg_reader *r, void *obj)
{
	struct aeg_mvreg *reg = obj;
	uint32_t count = aeg_get_varint32(r);
	if (r->error)
		return cr_reader_error(r);
	if (count > reg->versions_max)
		return -ENOSPC;
	for (uint32_t i = 0; i < count; i++) {
		struct aeg_mvreg_version *v = &reg->versions[i];
		int rc = mv_get_version(r, v, reg->value_bytes_max);
		if (rc < 0)
			return rc;
		if (i > 0 && version_order(&reg->versions[i - 1], v) >= 0)
			return -EINVAL;
		for (uint32_t k = 0; k < i; k++) {
			if (aeg_vclock_compare(&reg->versions[k].clock, &v->clock) == AEG_ORDER_BEFORE ||
			    aeg_vclock_compare(&v->clock, &reg->versions[k].clock) == AEG_ORDER_BEFORE)
				return -EINVAL;
		}
	}
	reg->len = count;
	return 0;
}

static void mv_clear(void *reg)
{
	aeg_mvreg_clear(reg);
}

int aeg_mvreg_decode(struct aeg_mvreg *reg, const uint8_t *buf, size_t len)
{
	return cr_decode(reg, buf, len, AEG_CRDT_TAG_MVREG, AEG_CRDT_REGISTER_FORMAT,
			 mv_get_versions, mv_clear);
}
