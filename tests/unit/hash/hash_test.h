/* Shared by the hash unit tests: seeds, random key hashes, and the
 * checks every scheme goes through (golden table, balance and weights,
 * disruption on a membership change), written once against a lookup
 * callback. */
#ifndef AEGIS_TEST_HASH_TEST_H
#define AEGIS_TEST_HASH_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "test_prng.h"

/* Keys per balance/disruption test. */
#define HT_KEYS 1000000u

/* Sigmas allowed on a share. Bonferroni over <= 11 nodes with a one-in-1e4
 * false alarm budget needs |Z| > 4.4 on a normal tail; the ring's shares are
 * Beta (right-skewed by ~2/sqrt(points)), which adds ~0.4 sigma at that
 * depth, so k = 5 covers both. */
#define HT_SIGMAS 5.0

/* A scheme under test: writes n node ids for the key, best first. Node ids
 * in these tests are 1..HT_IDS_MAX; 0 means "no node". */
#define HT_IDS_MAX 64u
typedef int (*ht_lookup_fn)(const void *scheme, uint64_t key_hash,
			    uint32_t *out, uint32_t n);

/* AEGIS_TEST_SEED from the environment, else AEGIS_TEST_SEED_DEFAULT;
 * printed (test_seed_print) so that a failure can be replayed. Random
 * draws come from tests/common/test_prng.h. */
uint64_t ht_seed(const char *test_name);

/* n key hashes: aeg_hash_key of 16 random bytes each. Caller frees. */
uint64_t *ht_key_hashes(size_t n, uint64_t seed);

/* Fisher-Yates shuffle of ids[0..len). */
void ht_shuffle(uint32_t *ids, uint32_t len, struct prng *rng);

/* Tolerance on a node's observed share (count / keys) whose expected share
 * is p: HT_SIGMAS standard deviations of the sum of two independent errors,
 * the placement (a share of a ring with `points` uniform points is
 * Beta(p*points, (1-p)*points), variance p(1-p)/(points+1); points == 0
 * means an exact scheme such as jump or HRW) and the sampling of `keys`
 * keys (binomial, variance p(1-p)/keys). */
double ht_share_tolerance(double p, uint32_t points, uint32_t keys);

/* Fails unless lookups of "key-0".."key-7" (aeg_hash_key, seed 0) with
 * n = 3 equal golden; prints the actual table when they do not. */
void ht_check_golden(const char *what, const void *scheme, ht_lookup_fn lookup,
		     const uint32_t (*golden)[3]);

/* Fails unless two schemes agree on `count` random keys (n replicas). */
void ht_check_same(const void *a, const void *b, ht_lookup_fn lookup,
		   uint32_t count, uint32_t n, struct prng *rng);

/* Primaries of HT_KEYS random keys over nodes 1..len with weights[id - 1].
 * Fails unless each share is within ht_share_tolerance of weight / sum; with
 * equal weights also unless max/mean <= 1 + len * tolerance(1/len), the same
 * bound as a whole. Prints max/mean and stddev/mean. */
void ht_check_spread(const char *what, const void *scheme, ht_lookup_fn lookup,
		     const uint32_t *weights, uint32_t len, uint32_t points);

/* Compares n-replica lookups of HT_KEYS random keys before and after one
 * membership change: node `added` joined (or 0), node `removed` left (or
 * 0). Fails unless, dropping `added` from the new list and `removed` from
 * the old one, one list is a prefix of the other (so a primary moves only
 * to `added` or from `removed`, and the other replicas keep their order).
 * If expect_share > 0, also fails unless the moved fraction is within
 * ht_share_tolerance(expect_share, points) of it. Returns the moved count. */
uint32_t ht_check_change(const char *what, const void *before, const void *after,
			 ht_lookup_fn lookup, uint32_t n, uint32_t added,
			 uint32_t removed, double expect_share, uint32_t points);

#endif
