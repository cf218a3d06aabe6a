/* Helpers shared by the vclock unit tests: a seeded PRNG (splitmix64),
 * a check macro that prints the seed on failure, and random clocks. */
#ifndef AEGIS_VCLOCK_TEST_UTIL_H
#define AEGIS_VCLOCK_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "aegis/vclock.h"

struct prng {
	uint64_t state;
	uint64_t seed;
};

/* AEG_TEST_SEED=<n> replays a failure; otherwise a fixed default per test. */
static inline void prng_init(struct prng *p, uint64_t default_seed)
{
	const char *env = getenv("AEG_TEST_SEED");
	p->seed = env != NULL ? strtoull(env, NULL, 0) : default_seed;
	p->state = p->seed;
}

static inline uint64_t prng_next(struct prng *p)
{
	uint64_t z = (p->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for tests; n > 0. */
static inline uint64_t prng_below(struct prng *p, uint64_t n)
{
	return prng_next(p) % n;
}

#define CHECK(p, cond)                                                          \
	do {                                                                    \
		if (!(cond)) {                                                  \
			print_error("%s:%d: check failed: %s (seed %llu; rerun with " \
				    "AEG_TEST_SEED=%llu)\n", __FILE__, __LINE__, #cond, \
				    (unsigned long long)(p)->seed,              \
				    (unsigned long long)(p)->seed);             \
			fail();                                                 \
		}                                                               \
	} while (0)

/* Node ids for random clocks: a small universe makes overlaps common; the
 * ids themselves are spread out so that deltas take several varint bytes. */
#define TEST_NODES 12
static const uint32_t test_nodes[TEST_NODES] = {
	0, 1, 2, 127, 128, 300, 16384, 65535, 1000000, 0x7fffffffu, 0xfffffffeu, 0xffffffffu,
};

static inline uint64_t random_counter(struct prng *p)
{
	switch (prng_below(p, 8)) {
	case 0:
		return UINT64_MAX - prng_below(p, 4);
	case 1:
		return 1 + prng_below(p, UINT64_MAX - 1);
	default:
		return 1 + prng_below(p, 5);
	}
}

/* A random valid clock over test_nodes, built through the public API. */
static inline void random_vclock(struct prng *p, struct aeg_vclock *vc)
{
	aeg_vclock_init(vc);
	for (int i = 0; i < TEST_NODES; i++) {
		if (prng_below(p, 2) == 0)
			continue;
		int rc = aeg_vclock_set(vc, test_nodes[i], random_counter(p));
		assert_int_equal(rc, 0);
	}
}

#endif
