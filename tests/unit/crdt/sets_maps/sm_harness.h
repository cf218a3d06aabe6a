/* Test harness shared by the set/map CRDT tests: test elements and
 * generic property tests
 * (merge laws, convergence under random delivery, delta vs full-state
 * merging, codec round trips, truncation and bit flips) driven through a
 * small table of function pointers per CRDT type. */
#ifndef AEGIS_TEST_SM_HARNESS_H
#define AEGIS_TEST_SM_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sm_type.h"
#include "test_prng.h"

/* Test element k: element 0 is empty, 1..TEST_ELEMS-1 have 1..4 bytes, so
 * lengths and bytes both matter for the order; larger k give distinct
 * 8-byte elements. */
#define TEST_ELEMS 12
#define TEST_ELEM_BYTES_MAX 8
size_t test_elem(unsigned k, uint8_t buf[TEST_ELEM_BYTES_MAX]);
/* A random element index below n, or below the wider universe that
 * prop_small_into_large sets while it runs. */
unsigned test_pick(struct prng *p, unsigned n);

void *crdt_new(const struct sm_type *t);
void crdt_free(const struct sm_type *t, void *obj);
/* dst = copy of src (through encode/decode, which is also checked). */
void crdt_copy(const struct sm_type *t, void *dst, const void *src, struct prng *p);

/* The generic properties; each runs `rounds` seeds from seed0 (or from
 * AEGIS_TEST_SEED if set: a printed seed replays its round first). Random
 * draws come from tests/common/test_prng.h; TEST_CHECK prints the seed. */
void prop_merge_laws(const struct sm_type *t, uint64_t seed0, int rounds);
void prop_convergence(const struct sm_type *t, uint64_t seed0, int rounds);
void prop_codec(const struct sm_type *t, uint64_t seed0, int rounds);
/* Deltas merged into a large state (where merges may take the lookup
 * path for a small src) equal the same merge done with the roles swapped.
 * Needs objects with room for ~600 entries. */
void prop_small_into_large(const struct sm_type *t, uint64_t seed0, int rounds);

/* The three generic properties as cmocka tests of one type. */
#define SM_PROPERTY_TESTS(type, seed)                                           \
	static void test_merge_laws(void **state)                              \
	{                                                                      \
		(void)state;                                                   \
		prop_merge_laws(&(type), (seed) + 0x1000, 300);                \
	}                                                                      \
	static void test_convergence(void **state)                             \
	{                                                                      \
		(void)state;                                                   \
		prop_convergence(&(type), (seed) + 0x2000, 400);               \
	}                                                                      \
	static void test_codec(void **state)                                   \
	{                                                                      \
		(void)state;                                                   \
		prop_codec(&(type), (seed) + 0x3000, 60);                      \
	}                                                                      \
	static void test_small_into_large(void **state)                        \
	{                                                                      \
		(void)state;                                                   \
		prop_small_into_large(&(type), (seed) + 0x4000, 8);            \
	}

#define SM_PROPERTY_TEST_LIST                                                  \
	cmocka_unit_test(test_merge_laws), cmocka_unit_test(test_convergence), \
	cmocka_unit_test(test_codec), cmocka_unit_test(test_small_into_large)

#endif
