/* PN-Counter: a G-Counter of increments and one of decrements. */
#include "aegis/crdt_counter.h"

#include <assert.h>
#include <errno.h>

#include "cr_internal.h"

int aeg_pncounter_init(struct aeg_pncounter *pn, uint32_t replicas_max)
{
	if (pn == NULL)
		return -EINVAL;
	int rc = aeg_gcounter_init(&pn->p, replicas_max);
	if (rc < 0)
		return rc;
	rc = aeg_gcounter_init(&pn->n, replicas_max);
	if (rc < 0)
		aeg_gcounter_fini(&pn->p);
	return rc;
}

void aeg_pncounter_fini(struct aeg_pncounter *pn)
{
	aeg_gcounter_fini(&pn->p);
	aeg_gcounter_fini(&pn->n);
}

void aeg_pncounter_clear(struct aeg_pncounter *pn)
{
	aeg_gcounter_clear(&pn->p);
	aeg_gcounter_clear(&pn->n);
}

/* The delta of one side is that side's delta with the other side empty. */
static int pn_add(struct aeg_pncounter *pn, bool negative, uint32_t replica, uint64_t n,
		  struct aeg_pncounter *delta)
{
	if (pn == NULL || delta == pn)
		return -EINVAL;
	struct aeg_gcounter *side = negative ? &pn->n : &pn->p;
	struct aeg_gcounter *delta_side = NULL;
	if (delta != NULL)
		delta_side = negative ? &delta->n : &delta->p;
	int rc = aeg_gcounter_increment(side, replica, n, delta_side);
	if (rc == 0 && delta != NULL)
		aeg_gcounter_clear(negative ? &delta->p : &delta->n);
	return rc;
}

int aeg_pncounter_increment(struct aeg_pncounter *pn, uint32_t replica, uint64_t n,
			    struct aeg_pncounter *delta)
{
	return pn_add(pn, false, replica, n, delta);
}

int aeg_pncounter_decrement(struct aeg_pncounter *pn, uint32_t replica, uint64_t n,
			    struct aeg_pncounter *delta)
{
	return pn_add(pn, true, replica, n, delta);
}

int aeg_pncounter_value(const struct aeg_pncounter *pn, int64_t *value_out)
{
	uint64_t p, n;
	int rc = aeg_gcounter_value(&pn->p, &p);
	if (rc == 0)
		rc = aeg_gcounter_value(&pn->n, &n);
	if (rc < 0)
		return rc;
	if (p >= n) {
		if (p - n > (uint64_t)INT64_MAX)
			return -EOVERFLOW;
		*value_out = (int64_t)(p - n);
	} else {
		/* -(n - p) down to INT64_MIN, whose magnitude is INT64_MAX + 1. */
		if (n - p > (uint64_t)INT64_MAX + 1)
			return -EOVERFLOW;
		*value_out = -(int64_t)(n - p - 1) - 1;
	}
	return 0;
}

int aeg_pncounter_merge(struct aeg_pncounter *dst, const struct aeg_pncounter *src)
{
	if (dst == NULL || src == NULL)
		return -EINVAL;
	if (dst == src)
		return 0;
	/* Deltas touch one side: that merge alone is atomic and skips a pass. */
	if (src->n.len == 0)
		return aeg_gcounter_merge(&dst->p, &src->p);
	if (src->p.len == 0)
		return aeg_gcounter_merge(&dst->n, &src->n);
	/* Check both sides fit before changing either, so -ENOSPC is atomic. */
	if (aeg_cr_gcounter_union_len(&dst->p, &src->p) > dst->p.replicas_max ||
	    aeg_cr_gcounter_union_len(&dst->n, &src->n) > dst->n.replicas_max)
		return -ENOSPC;
	int rc = aeg_gcounter_merge(&dst->p, &src->p);
	assert(rc == 0);
	rc = aeg_gcounter_merge(&dst->n, &src->n);
	assert(rc == 0);
	return rc;
}

bool aeg_pncounter_equal(const struct aeg_pncounter *a, const struct aeg_pncounter *b)
{
	return aeg_gcounter_equal(&a->p, &b->p) && aeg_gcounter_equal(&a->n, &b->n);
}

size_t aeg_pncounter_encoded_size(const struct aeg_pncounter *pn)
{
	return 2 + aeg_cr_gcounter_body_size(&pn->p) + aeg_cr_gcounter_body_size(&pn->n);
}

int aeg_pncounter_encode(const struct aeg_pncounter *pn, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	cr_put_header(&w, AEG_CRDT_TAG_PNCOUNTER, AEG_CRDT_COUNTER_FORMAT);
	aeg_cr_gcounter_body_put(&w, &pn->p);
	aeg_cr_gcounter_body_put(&w, &pn->n);
	return cr_encode_result(&w);
}

static int pn_body(struct aeg_reader *r, void *obj)
{
	struct aeg_pncounter *pn = obj;
	int rc = aeg_cr_gcounter_body_get(r, &pn->p);
	return rc < 0 ? rc : aeg_cr_gcounter_body_get(r, &pn->n);
}

static void pn_clear(void *pn)
{
	aeg_pncounter_clear(pn);
}

int aeg_pncounter_decode(struct aeg_pncounter *pn, const uint8_t *buf, size_t len)
{
	return cr_decode(pn, buf, len, AEG_CRDT_TAG_PNCOUNTER, AEG_CRDT_COUNTER_FORMAT, pn_body,
			 pn_clear);
}
