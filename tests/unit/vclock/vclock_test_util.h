/* Helpers shared by the vclock unit tests: random clocks drawn from the
 * seeded PRNG of tests/common/test_prng.h (whose TEST_CHECK prints the
 * seed on failure). */
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
#include "test_prng.h"

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
