/* Internal: rendezvous scores. The integer part (mixing the key hash with
 * a node's hash) is inline for the lookup loop; the weighted score needs a
 * natural log, computed here without libm so that it is the same on every
 * machine with IEEE doubles (and so libaegis does not need -lm). */
#ifndef AEGIS_HASH_HRW_SCORE_H
#define AEGIS_HASH_HRW_SCORE_H

#include <stdbool.h>
#include <stdint.h>

/* splitmix64's finalizer (Stafford's mix13): a bijection with full
 * avalanche, so the scores of different nodes for one key look independent. */
static inline uint64_t aeg_hrw_mix(uint64_t key_hash, uint64_t node_hash)
{
	uint64_t z = key_hash ^ node_hash;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* -weight / ln(u), u = ((mixed >> 12) + 0.5) / 2^52 in (0, 1), returned as
 * the bits of the (positive, finite) double: they order like the values. */
uint64_t aeg_hrw_weighted_score(uint64_t mixed, uint32_t weight);

/* ln(x) for finite x > 0 normal, to within a few ulp. */
double aeg_hrw_ln(double x);

static inline uint64_t aeg_hrw_score(uint64_t key_hash, uint64_t node_hash,
				     uint32_t weight, bool uniform)
{
	uint64_t mixed = aeg_hrw_mix(key_hash, node_hash);
	/* Equal weights: -w/ln(u) is increasing in u, so the hash orders alike. */
	return uniform ? mixed : aeg_hrw_weighted_score(mixed, weight);
}

#endif
