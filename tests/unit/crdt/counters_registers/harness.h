/* Property-test harness shared by the counter and register tests.
 *
 * A type plugs in through struct h_type (state operations behind void
 * pointers, plus a random local operation and a reference-model check).
 * One scenario: 3..5 replicas apply random operations, each writing its
 * delta, and gossip full states in random pairs; the harness tracks which
 * operations each replica knows (a bitmask over operation ids) so the
 * type's check compares every replica with its reference model after each
 * step. At the end it checks convergence (equal objects and equal bytes),
 * that shipping only deltas (random order, duplicates, to each replica
 * separately, and folded in a random merge tree) gives the same state,
 * the merge laws on snapshots, and the codec (round trip, truncations,
 * bit flips). Random draws come from tests/common/test_prng.h. Every
 * failure prints the type and the seed; AEGIS_TEST_SEED in the environment
 * replays that one seed. */
#ifndef AEGIS_TEST_CR_HARNESS_H
#define AEGIS_TEST_CR_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_prng.h"

/* n distinct random ids with random magnitudes (varints of every size). */
static inline void h_random_ids(struct prng *rng, uint32_t *ids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		bool dup;
		do {
			ids[i] = (uint32_t)prng_next(rng) >> prng_below(rng, 32);
			dup = false;
			for (uint32_t k = 0; k < i; k++)
				dup |= ids[k] == ids[i];
		} while (dup);
	}
}

#define H_REPLICAS_MAX 5
#define H_OPS_MAX 48
#define H_SNAPSHOTS 4
#define H_BUF_BYTES 8192

struct h_type {
	const char *name;
	size_t size;
	int (*init)(void *obj);
	void (*fini)(void *obj);
	void (*clear)(void *obj);
	int (*merge)(void *dst, const void *src);
	bool (*equal)(const void *a, const void *b);
	size_t (*encoded_size)(const void *obj);
	int (*encode)(const void *obj, uint8_t *buf, size_t cap);
	int (*decode)(void *obj, const uint8_t *buf, size_t len);
	/* A random local operation at `replica` recorded as op `op_id` in
	 * model; writes its delta. 0 or a negative error. */
	int (*random_op)(void *obj, uint32_t replica, struct prng *rng, void *delta,
			 void *model, uint32_t op_id);
	/* Reference check: obj holds exactly the effect of the ops in `known`. */
	bool (*check)(const void *obj, const void *model, uint64_t known);
	void (*model_reset)(void *model, uint32_t replicas, struct prng *rng);
};

/* Defines `static const struct h_type var` for type aeg_<prefix>, created
 * by `init` (an expression over the object `o`). */
#define H_DEFINE_TYPE(var, prefix, init, random_op, check, model_reset)                   \
	static int var##_init(void *o) { return init; }                                   \
	static void var##_fini(void *o) { aeg_##prefix##_fini(o); }                       \
	static void var##_clear(void *o) { aeg_##prefix##_clear(o); }                     \
	static int var##_merge(void *d, const void *s) { return aeg_##prefix##_merge(d, s); } \
	static bool var##_equal(const void *a, const void *b)                             \
	{                                                                                 \
		return aeg_##prefix##_equal(a, b);                                        \
	}                                                                                 \
	static size_t var##_size(const void *o) { return aeg_##prefix##_encoded_size(o); } \
	static int var##_encode(const void *o, uint8_t *b, size_t c)                      \
	{                                                                                 \
		return aeg_##prefix##_encode(o, b, c);                                    \
	}                                                                                 \
	static int var##_decode(void *o, const uint8_t *b, size_t l)                      \
	{                                                                                 \
		return aeg_##prefix##_decode(o, b, l);                                    \
	}                                                                                 \
	static const struct h_type var = {                                                \
		#prefix, sizeof(struct aeg_##prefix), var##_init, var##_fini, var##_clear,  \
		var##_merge, var##_equal, var##_size, var##_encode, var##_decode,         \
		random_op, check, model_reset,                                            \
	}

/* Whether AEGIS_TEST_SEED picks the one scenario to run. */
static inline bool h_seed_fixed(void)
{
	uint64_t seed;
	return test_seed_from_env(&seed);
}

#define H_CHECK(t, seed, cond) CHECK_SEED((t)->name, (seed), cond)

static void *h_new(const struct h_type *t)
{
	void *obj = calloc(1, t->size);
	assert_non_null(obj);
	assert_int_equal(t->init(obj), 0);
	return obj;
}

static void h_free(const struct h_type *t, void *obj)
{
	t->fini(obj);
	free(obj);
}

static void h_copy(const struct h_type *t, void *dst, const void *src)
{
	t->clear(dst);
	assert_int_equal(t->merge(dst, src), 0);
}

/* Encodes obj into buf; checks the size and the -ENOBUFS path. */
static size_t h_encode(const struct h_type *t, uint64_t seed, const void *obj, uint8_t *buf)
{
	size_t n = t->encoded_size(obj);
	H_CHECK(t, seed, n >= 2 && n <= H_BUF_BYTES);
	H_CHECK(t, seed, t->encode(obj, buf, n - 1) == -ENOBUFS);
	H_CHECK(t, seed, t->encode(obj, buf, H_BUF_BYTES) == (int)n);
	return n;
}

/* Round trip, canonical re-encoding, and every truncation failing cleanly
 * (the object is left empty). */
static void h_check_codec(const struct h_type *t, uint64_t seed, const void *obj)
{
	static uint8_t buf[H_BUF_BYTES], again[H_BUF_BYTES];
	size_t n = h_encode(t, seed, obj, buf);
	void *dec = h_new(t), *empty = h_new(t);
	H_CHECK(t, seed, t->decode(dec, buf, n) == (int)n);
	H_CHECK(t, seed, t->equal(dec, obj));
	H_CHECK(t, seed, h_encode(t, seed, dec, again) == n && memcmp(buf, again, n) == 0);
	/* Trailing bytes are left to the caller. */
	buf[n] = 0xab;
	H_CHECK(t, seed, t->decode(dec, buf, n + 1) == (int)n);
	for (size_t cut = 0; cut < n; cut++) {
		H_CHECK(t, seed, t->decode(dec, buf, cut) == -EMSGSIZE);
		H_CHECK(t, seed, t->equal(dec, empty));
	}
	h_free(t, dec);
	h_free(t, empty);
}

/* Single-bit flips never crash; an accepted flip decodes to a canonical
 * state that merges idempotently. A flip of the tag is always refused. */
static void h_check_bitflips(const struct h_type *t, uint64_t seed, const void *obj)
{
	static uint8_t buf[H_BUF_BYTES], again[H_BUF_BYTES];
	size_t n = h_encode(t, seed, obj, buf);
	void *dec = h_new(t), *copy = h_new(t);
	for (size_t bit = 0; bit < n * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = t->decode(dec, buf, n);
		H_CHECK(t, seed, rc != 0 && (bit >= 16 || rc < 0));
		if (rc > 0) {
			H_CHECK(t, seed, h_encode(t, seed, dec, again) == (size_t)rc);
			H_CHECK(t, seed, memcmp(buf, again, (size_t)rc) == 0);
			h_copy(t, copy, dec);
			H_CHECK(t, seed, t->merge(copy, dec) == 0 && t->equal(copy, dec));
		}
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	h_free(t, dec);
	h_free(t, copy);
}

/* Commutative, associative, idempotent. */
static void h_check_laws(const struct h_type *t, uint64_t seed, const void *a, const void *b,
			 const void *c)
{
	void *x = h_new(t), *y = h_new(t);
	h_copy(t, x, a);
	H_CHECK(t, seed, t->merge(x, b) == 0);
	h_copy(t, y, b);
	H_CHECK(t, seed, t->merge(y, a) == 0);
	H_CHECK(t, seed, t->equal(x, y));
	H_CHECK(t, seed, t->merge(x, c) == 0); /* (a+b)+c */
	h_copy(t, y, b);
	H_CHECK(t, seed, t->merge(y, c) == 0);
	void *z = h_new(t);
	h_copy(t, z, a);
	H_CHECK(t, seed, t->merge(z, y) == 0); /* a+(b+c) */
	H_CHECK(t, seed, t->equal(x, z));
	H_CHECK(t, seed, t->merge(z, z) == 0 && t->merge(z, x) == 0 && t->equal(x, z));
	h_free(t, x);
	h_free(t, y);
	h_free(t, z);
}

static void h_shuffle(struct prng *rng, uint32_t *v, uint32_t n)
{
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = prng_below(rng, i);
		uint32_t tmp = v[i - 1];
		v[i - 1] = v[j];
		v[j] = tmp;
	}
}

struct h_run {
	const struct h_type *t;
	uint64_t seed;
	struct prng rng;
	void *model;
	uint32_t replicas;
	uint32_t ops;
	void *full[H_REPLICAS_MAX];
	uint64_t known[H_REPLICAS_MAX];
	void *deltas[H_OPS_MAX];
	void *snaps[H_SNAPSHOTS];
};

static void h_step(struct h_run *run)
{
	const struct h_type *t = run->t;
	uint32_t a = prng_below(&run->rng, run->replicas);
	if (run->ops < H_OPS_MAX && prng_below(&run->rng, 100) < 55) {
		uint32_t id = run->ops++;
		int rc = t->random_op(run->full[a], a, &run->rng, run->deltas[id], run->model, id);
		H_CHECK(t, run->seed, rc == 0);
		run->known[a] |= 1ull << id;
	} else {
		uint32_t b = prng_below(&run->rng, run->replicas);
		H_CHECK(t, run->seed, t->merge(run->full[a], run->full[b]) == 0);
		run->known[a] |= run->known[b];
	}
	H_CHECK(t, run->seed, t->check(run->full[a], run->model, run->known[a]));
	if (prng_below(&run->rng, 16) == 0)
		h_copy(t, run->snaps[prng_below(&run->rng, H_SNAPSHOTS)], run->full[a]);
}

/* Ships every delta (each once or twice, shuffled) into an empty replica. */
static void h_ship_deltas(struct h_run *run, void *dst)
{
	uint32_t order[2 * H_OPS_MAX], n = 0;
	for (uint32_t i = 0; i < run->ops; i++) {
		order[n++] = i;
		if (prng_below(&run->rng, 3) == 0)
			order[n++] = i;
	}
	h_shuffle(&run->rng, order, n);
	run->t->clear(dst);
	for (uint32_t i = 0; i < n; i++)
		H_CHECK(run->t, run->seed, run->t->merge(dst, run->deltas[order[i]]) == 0);
}

/* Folds copies of the deltas pairwise in a random tree. */
static void h_delta_tree(struct h_run *run, const void *expect)
{
	const struct h_type *t = run->t;
	void *nodes[H_OPS_MAX];
	uint32_t n = run->ops;
	for (uint32_t i = 0; i < n; i++) {
		nodes[i] = h_new(t);
		h_copy(t, nodes[i], run->deltas[i]);
	}
	while (n > 1) {
		uint32_t i = prng_below(&run->rng, n), j = prng_below(&run->rng, n - 1);
		j += j >= i;
		H_CHECK(t, run->seed, t->merge(nodes[i], nodes[j]) == 0);
		h_free(t, nodes[j]);
		nodes[j] = nodes[--n];
	}
	if (n == 1) {
		H_CHECK(t, run->seed, t->equal(nodes[0], expect));
		h_free(t, nodes[0]);
	}
}

static void h_converge(struct h_run *run)
{
	const struct h_type *t = run->t;
	uint32_t order[H_REPLICAS_MAX];
	for (uint32_t i = 0; i < run->replicas; i++)
		order[i] = i;
	h_shuffle(&run->rng, order, run->replicas);
	for (uint32_t i = 1; i < run->replicas; i++)
		H_CHECK(t, run->seed, t->merge(run->full[order[0]], run->full[order[i]]) == 0);
	for (uint32_t i = 1; i < run->replicas; i++)
		H_CHECK(t, run->seed, t->merge(run->full[order[i]], run->full[order[0]]) == 0);
}

static void h_scenario(const struct h_type *t, void *model, uint64_t seed, bool flips)
{
	struct h_run run = { .t = t, .seed = seed, .model = model };
	prng_init_seed(&run.rng, seed);
	run.replicas = 3 + prng_below(&run.rng, H_REPLICAS_MAX - 2);
	t->model_reset(model, run.replicas, &run.rng);
	for (uint32_t i = 0; i < run.replicas; i++)
		run.full[i] = h_new(t);
	for (uint32_t i = 0; i < H_OPS_MAX; i++)
		run.deltas[i] = h_new(t);
	for (uint32_t i = 0; i < H_SNAPSHOTS; i++)
		run.snaps[i] = h_new(t);
	uint32_t steps = 40 + prng_below(&run.rng, 80);
	for (uint32_t s = 0; s < steps; s++)
		h_step(&run);
	h_converge(&run);
	uint64_t all = run.ops == 64 ? UINT64_MAX : (1ull << run.ops) - 1;
	static uint8_t b0[H_BUF_BYTES], bi[H_BUF_BYTES];
	size_t n0 = h_encode(t, seed, run.full[0], b0);
	for (uint32_t i = 0; i < run.replicas; i++) {
		H_CHECK(t, seed, t->equal(run.full[i], run.full[0]));
		H_CHECK(t, seed, h_encode(t, seed, run.full[i], bi) == n0 && memcmp(b0, bi, n0) == 0);
		H_CHECK(t, seed, t->check(run.full[i], model, all));
	}
	void *d = h_new(t);
	for (uint32_t i = 0; i < run.replicas; i++) {
		h_ship_deltas(&run, d);
		H_CHECK(t, seed, t->equal(d, run.full[0]));
	}
	h_free(t, d);
	h_delta_tree(&run, run.full[0]);
	for (uint32_t i = 0; i < H_SNAPSHOTS; i++) {
		h_check_laws(t, seed, run.snaps[i], run.snaps[(i + 1) % H_SNAPSHOTS], run.full[0]);
		h_check_codec(t, seed, run.snaps[i]);
	}
	h_check_codec(t, seed, run.full[0]);
	if (flips)
		h_check_bitflips(t, seed, run.full[0]);
	for (uint32_t i = 0; i < run.replicas; i++)
		h_free(t, run.full[i]);
	for (uint32_t i = 0; i < H_OPS_MAX; i++)
		h_free(t, run.deltas[i]);
	for (uint32_t i = 0; i < H_SNAPSHOTS; i++)
		h_free(t, run.snaps[i]);
}

/* `count` scenarios from consecutive seeds (one if AEGIS_TEST_SEED is
 * set); bit flips on every eighth. */
static void h_run_scenarios(const struct h_type *t, void *model, uint32_t count)
{
	uint64_t base = 0x5eed0001ull;
	if (test_seed_from_env(&base))
		count = 1;
	for (uint32_t i = 0; i < count; i++)
		h_scenario(t, model, base + i, i % 8 == 0);
}

#endif
