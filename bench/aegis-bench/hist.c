/* The log-linear histogram of hist.h. */
#include "hist.h"

#include <assert.h>
#include <string.h>

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

uint32_t hist_bucket(uint64_t v)
{
	if (v < HIST_SUB)
		return (uint32_t)v;
	uint32_t e = 63u - (uint32_t)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	uint32_t sub = (uint32_t)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return ((e - HIST_SUB_BITS + 1) << HIST_SUB_BITS) + sub;
}

void hist_bucket_range(uint32_t i, uint64_t *lo, uint64_t *hi)
{
	assert(i < HIST_BUCKETS);
	if (i < HIST_SUB) {
		*lo = *hi = i;
		return;
	}
	uint32_t e = (i >> HIST_SUB_BITS) + HIST_SUB_BITS - 1;
	uint64_t sub = i & (HIST_SUB - 1);
	uint64_t width = 1ull << (e - HIST_SUB_BITS);
	*lo = (1ull << e) | (sub << (e - HIST_SUB_BITS));
	*hi = *lo + (width - 1);
}

void hist_add(struct hist *h, uint64_t v)
{
	uint32_t i = hist_bucket(v);
	assert(i < HIST_BUCKETS);
	h->b[i]++;
	h->n++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->n == 0)
		return;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->n += src->n;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	assert(q >= 0 && q <= 1);
	if (h->n == 0)
		return 0;
	/* rank = ceil(q n) without floating error pushing it one too far */
	double r = q * (double)h->n;
	uint64_t rank = (uint64_t)r;
	if ((double)rank < r - 1e-9)
		rank++;
	if (rank == 0)
		rank = 1;
	if (rank >= h->n)
		return h->max;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen < rank)
			continue;
		uint64_t lo, hi;
		hist_bucket_range(i, &lo, &hi);
		uint64_t mid = lo + (hi - lo) / 2;
		return mid < h->min ? h->min : mid > h->max ? h->max : mid;
	}
	return h->max;
}

double hist_mean(const struct hist *h)
{
	return h->n ? (double)h->sum / (double)h->n : 0.0;
}
