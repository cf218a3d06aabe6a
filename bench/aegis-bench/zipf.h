/* Key choosers: uniform, and zipfian by the method of Gray et al.,
 * "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD 1994), as
 * YCSB's ZipfianGenerator does it: O(n) set-up for zeta(n, theta) (an
 * Euler-Maclaurin tail above ZIPF_EXACT_MAX items), then O(1) per draw with
 * one pow(). Rank 0 is the most popular item; P(0) = 1 / zeta(n, theta). */
#ifndef AEGIS_BENCH_ZIPF_H
#define AEGIS_BENCH_ZIPF_H

#include <stdint.h>

#define ZIPF_EXACT_MAX 10000000u

struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta, half_pow_theta;
};

/* n >= 1, 0 < theta < 1. 0 or -EINVAL. */
int zipf_init(struct zipf *z, uint64_t n, double theta);
/* u uniform in [0, 1): a rank in [0, n). */
uint64_t zipf_rank(const struct zipf *z, double u);
/* sum_{i=1..n} i^-theta */
double zipf_zeta(uint64_t n, double theta);
/* sum_{i=m+1..n} i^-theta by Euler-Maclaurin (what zipf_zeta adds above
 * ZIPF_EXACT_MAX; exposed for its test). */
double zipf_zeta_tail(uint64_t m, uint64_t n, double theta);

/* splitmix64 (Vigna): the per-thread generator; one 64-bit add and three
 * multiply-xorshift steps per draw. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) by multiply-shift (bias below 2^-32 for n < 2^32). */
static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(s) * n) >> 64);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

#endif
