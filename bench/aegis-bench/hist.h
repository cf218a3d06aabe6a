/* Log-linear latency histogram (HDR-like): values (ns) below 2^SUB_BITS are
 * exact; above, each power of two is split into 2^SUB_BITS equal buckets, so
 * a bucket is at most 1/128 (0.8%) of its values wide and a reported
 * quantile (the bucket's midpoint) is within 0.4% of a recorded value.
 * Fixed memory (~58 KiB), no allocation, O(1) add; merging and quantiles
 * walk the buckets (for reports, not for the hot path). */
#ifndef AEGIS_BENCH_HIST_H
#define AEGIS_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64u - HIST_SUB_BITS + 1u) * HIST_SUB)

struct hist {
	uint64_t n, sum, min, max; /* min is UINT64_MAX when empty */
	uint64_t b[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* dst += src */
void hist_merge(struct hist *dst, const struct hist *src);
/* The q-quantile, 0 <= q <= 1: the value of rank ceil(q n) (at least 1) in
 * sorted order, as its bucket's midpoint clamped to [min, max]; 0 if empty. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

/* Bucket index of v and the range [lo, hi] of values in bucket i (tests). */
uint32_t hist_bucket(uint64_t v);
void hist_bucket_range(uint32_t i, uint64_t *lo, uint64_t *hi);

#endif
