/* aegis-bench-crdt: merge throughput of the CRDT types, full-state merges
 * against delta merges, at a few sizes.
 *
 * Each case is one row of `cases[]`: a setup function that builds
 * destinations and sources (states or deltas) the way a replica would
 * receive them, a merge function that merges source i into destination i, a
 * reset that puts the destinations back (untimed), and a teardown. A
 * measurement times whole batches (one merge per source, in order) until
 * the time budget of the case is spent; only merge calls are inside the
 * timed region.
 *
 * Counters and registers merge BATCH distinct sources, in order, into one
 * destination (each source is newer than the last, so every merge changes
 * it). Sets and maps merge into fresh copies of one local state instead
 * (one copy per merge, reset between batches), so that every merge does the
 * change it measures at the size it names, rather than the no-change path
 * or a state that grows over the batch. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis/crdt_counter.h"
#include "aegis/crdt_map.h"
#include "aegis/crdt_register.h"
#include "aegis/crdt_set.h"
#include "common.h"

#define BATCH 1024
#define VALUE_BYTES 16

/* ---- generic state: a destination and BATCH sources of one type ---------- */

struct bench_type {
	size_t size;
	void (*fini)(void *obj);
	void (*clear)(void *obj);
	int (*merge)(void *dst, const void *src);
	bool (*equal)(const void *a, const void *b);
	size_t (*encoded_size)(const void *obj);
};

/* Defines `static const struct bench_type var` for type aeg_<prefix>. */
#define BENCH_TYPE(var, prefix)                                                            \
	static void var##_fini(void *o) { aeg_##prefix##_fini(o); }                        \
	static void var##_clear(void *o) { aeg_##prefix##_clear(o); }                      \
	static int var##_merge(void *d, const void *s) { return aeg_##prefix##_merge(d, s); } \
	static bool var##_equal(const void *a, const void *b)                              \
	{                                                                                  \
		return aeg_##prefix##_equal(a, b);                                         \
	}                                                                                  \
	static size_t var##_size(const void *o) { return aeg_##prefix##_encoded_size(o); } \
	static const struct bench_type var = { sizeof(struct aeg_##prefix), var##_fini,    \
					       var##_clear, var##_merge, var##_equal,      \
					       var##_size }

/* Merge i joins source i (or the only source) into destination i (or the
 * only destination): `copies` and `srcs` are each 1 or `batch`, so that the
 * timed loop picks objects without a division. */
struct bench_state {
	const struct bench_type *t;
	uint32_t copies; /* destinations, each reset to base before a batch */
	uint32_t srcs;
	uint32_t batch;  /* merges per timed batch */
	uint8_t *dst;
	uint8_t *base;   /* what reset copies into every destination */
	uint8_t *src;
};

static void *obj_at(uint8_t *array, const struct bench_type *t, uint32_t i)
{
	return array + (size_t)i * t->size;
}

static struct bench_state *state_new(const struct bench_type *t, uint32_t copies,
				     uint32_t srcs, uint32_t batch)
{
	struct bench_state *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	*s = (struct bench_state){ t, copies, srcs, batch, NULL, NULL, NULL };
	s->dst = calloc(copies, t->size);
	s->base = calloc(1, t->size);
	s->src = calloc(srcs, t->size);
	if (s->dst == NULL || s->base == NULL || s->src == NULL) {
		free(s->dst);
		free(s->base);
		free(s->src);
		free(s);
		return NULL;
	}
	return s;
}

/* Frees objects that init created; all of them were initialised. */
static void state_free(void *state)
{
	struct bench_state *s = state;
	for (uint32_t i = 0; i < s->copies; i++)
		s->t->fini(obj_at(s->dst, s->t, i));
	s->t->fini(s->base);
	for (uint32_t i = 0; i < s->srcs; i++)
		s->t->fini(obj_at(s->src, s->t, i));
	free(s->dst);
	free(s->base);
	free(s->src);
	free(s);
}

static int state_merge(void *state, uint32_t i)
{
	struct bench_state *s = state;
	void *dst = s->copies == 1 ? s->dst : obj_at(s->dst, s->t, i);
	const void *src = s->srcs == 1 ? s->src : obj_at(s->src, s->t, i);
	return s->t->merge(dst, src);
}

/* dst = src, for objects of one type (dst's capacity must hold src). */
static int obj_copy(const struct bench_type *t, void *dst, const void *src)
{
	t->clear(dst);
	return t->merge(dst, src);
}

static int state_reset(void *state)
{
	struct bench_state *s = state;
	int rc = 0;
	for (uint32_t i = 0; i < s->copies && rc == 0; i++)
		rc = obj_copy(s->t, obj_at(s->dst, s->t, i), s->base);
	return rc;
}

/* After a batch: did every merge change its destination? (Each batch
 * starts from base, so a destination equal to base saw no change.) */
static bool state_changed(void *state)
{
	struct bench_state *s = state;
	bool changed = true;
	for (uint32_t i = 0; i < s->copies; i++)
		changed &= !s->t->equal(obj_at(s->dst, s->t, i), s->base);
	return changed;
}

static uint32_t state_batch(void *state)
{
	return ((struct bench_state *)state)->batch;
}

static size_t state_bytes(void *state)
{
	struct bench_state *s = state;
	return s->t->encoded_size(s->dst);
}

/* ---- counters ------------------------------------------------------------ */

BENCH_TYPE(gcounter_type, gcounter);

BENCH_TYPE(pncounter_type, pncounter);

static uint32_t replica_id(uint32_t i)
{
	return 1000 + 7 * i; /* sparse ids, as real node ids are */
}

/* One counter step at replica r: G increments; PN alternates. */
static int counter_step(bool pn, void *obj, uint32_t r, uint64_t n, void *delta)
{
	if (!pn)
		return aeg_gcounter_increment(obj, replica_id(r), n, delta);
	if (n % 2 == 0)
		return aeg_pncounter_decrement(obj, replica_id(r), n, delta);
	return aeg_pncounter_increment(obj, replica_id(r), n, delta);
}

static int counter_init(bool pn, void *obj, uint32_t replicas)
{
	return pn ? aeg_pncounter_init(obj, replicas) : aeg_gcounter_init(obj, replicas);
}

/* Full: source k has every replica at count ~k, so each merge raises every
 * entry of dst. Delta: source k is the delta of one increment at a random
 * replica of a driver counter; dst starts with all replicas present. */
static void *counter_setup(bool pn, uint32_t replicas, bool delta)
{
	const struct bench_type *t = pn ? &pncounter_type : &gcounter_type;
	struct bench_state *s = state_new(t, 1, BATCH, BATCH);
	if (s == NULL)
		return NULL;
	union {
		struct aeg_gcounter g;
		struct aeg_pncounter p;
	} driver;
	int rc = counter_init(pn, s->dst, replicas);
	rc = rc < 0 ? rc : counter_init(pn, s->base, replicas);
	rc = rc < 0 ? rc : counter_init(pn, &driver, replicas);
	for (uint32_t r = 0; r < replicas && rc == 0; r++)
		rc = counter_step(pn, s->base, r, 1, NULL);
	rc = rc < 0 ? rc : t->merge(&driver, s->base);
	uint64_t x = 12345;
	for (uint32_t k = 0; k < BATCH && rc == 0; k++) {
		void *src = obj_at(s->src, t, k);
		rc = counter_init(pn, src, delta ? 1 : replicas);
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		if (rc == 0 && delta)
			rc = counter_step(pn, &driver, (uint32_t)(x >> 33) % replicas, 1 + (x >> 60), src);
		for (uint32_t r = 0; r < replicas && rc == 0 && !delta; r++)
			rc = counter_step(pn, src, r, 2 + k + (x >> 62), NULL);
	}
	t->fini(&driver);
	if (rc < 0) {
		fprintf(stderr, "counter setup: %s\n", strerror(-rc));
		exit(1);
	}
	return s;
}

static void *gc_full(uint32_t n) { return counter_setup(false, n, false); }
static void *gc_delta(uint32_t n) { return counter_setup(false, n, true); }
static void *pn_full(uint32_t n) { return counter_setup(true, n, false); }
static void *pn_delta(uint32_t n) { return counter_setup(true, n, true); }

/* ---- registers ----------------------------------------------------------- */

BENCH_TYPE(lwwreg_type, lwwreg);

BENCH_TYPE(mvreg_type, mvreg);

static void setup_failed(const char *what, int rc)
{
	fprintf(stderr, "%s setup: %s\n", what, strerror(-rc));
	exit(1);
}

/* Source k is a write with a newer timestamp than source k-1, so every
 * merge replaces dst's value. A delta of an LWW write is the whole state,
 * so there is no separate delta case. */
static void *lww_full(uint32_t value_bytes)
{
	struct bench_state *s = state_new(&lwwreg_type, 1, BATCH, BATCH);
	if (s == NULL)
		return NULL;
	uint8_t value[4096];
	if (value_bytes > sizeof(value))
		setup_failed("lwwreg", -EINVAL);
	memset(value, 'v', sizeof(value));
	int rc = aeg_lwwreg_init((void *)s->dst, value_bytes);
	rc = rc < 0 ? rc : aeg_lwwreg_init((void *)s->base, value_bytes);
	for (uint32_t k = 0; k < BATCH && rc == 0; k++) {
		struct aeg_hlc_ts ts = { 1000 + k, 0, k % 3 };
		value[0] = (uint8_t)k;
		rc = aeg_lwwreg_init(obj_at(s->src, s->t, k), value_bytes);
		if (rc == 0)
			rc = aeg_lwwreg_set(obj_at(s->src, s->t, k), value, value_bytes, &ts, NULL);
		rc = rc < 0 ? rc : 0;
	}
	if (rc < 0)
		setup_failed("lwwreg", rc);
	return s;
}

/* Rounds of `versions` concurrent writers: in round k each writer has seen
 * all of round k-1 and writes once, so round k's versions replace round
 * k-1's. Full: source k is the whole round (versions concurrent values).
 * Delta: the sources are the writes' deltas, one version each, in order. */
static void *mv_setup(uint32_t versions, bool delta)
{
	struct bench_state *s = state_new(&mvreg_type, 1, BATCH, BATCH);
	struct aeg_mvreg writers[8], round;
	if (s == NULL || versions > 8)
		return NULL;
	uint8_t value[VALUE_BYTES];
	memset(value, 'v', sizeof(value));
	int rc = aeg_mvreg_init((void *)s->dst, versions, VALUE_BYTES);
	rc = rc < 0 ? rc : aeg_mvreg_init((void *)s->base, versions, VALUE_BYTES);
	rc = rc < 0 ? rc : aeg_mvreg_init(&round, versions, VALUE_BYTES);
	for (uint32_t j = 0; j < versions && rc == 0; j++)
		rc = aeg_mvreg_init(&writers[j], versions, VALUE_BYTES);
	for (uint32_t k = 0; k < BATCH && rc == 0; k++)
		rc = aeg_mvreg_init(obj_at(s->src, s->t, k), delta ? 1 : versions, VALUE_BYTES);
	uint32_t rounds = delta ? BATCH / versions : BATCH;
	for (uint32_t k = 0; k < rounds && rc == 0; k++) {
		for (uint32_t j = 0; j < versions && rc == 0; j++) {
			value[0] = (uint8_t)j;
			aeg_mvreg_clear(&writers[j]);
			rc = aeg_mvreg_merge(&writers[j], &round);
			void *d = delta ? obj_at(s->src, s->t, k * versions + j) : NULL;
			rc = rc < 0 ? rc : aeg_mvreg_write(&writers[j], 1 + j, value, sizeof(value), d);
		}
		aeg_mvreg_clear(&round);
		for (uint32_t j = 0; j < versions && rc == 0; j++)
			rc = aeg_mvreg_merge(&round, &writers[j]);
		if (rc == 0 && !delta)
			rc = aeg_mvreg_merge(obj_at(s->src, s->t, k), &round);
	}
	for (uint32_t j = 0; j < versions; j++)
		aeg_mvreg_fini(&writers[j]);
	aeg_mvreg_fini(&round);
	if (rc < 0)
		setup_failed("mvreg", rc);
	return s;
}

static void *mv_full(uint32_t n) { return mv_setup(n, false); }
static void *mv_delta(uint32_t n) { return mv_setup(n, true); }

/* ---- sets and maps ------------------------------------------------------- */

BENCH_TYPE(gset_type, gset);

BENCH_TYPE(twopset_type, twopset);

BENCH_TYPE(orset_type, orset);

BENCH_TYPE(lwwmap_type, lwwmap);

/* Element (or key) k: VALUE_BYTES bytes, a hash of k first so that
 * consecutive k land at random places in the sorted order. */
static void elem_of(uint32_t k, uint8_t e[VALUE_BYTES])
{
	uint64_t z = k + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	uint64_t id = k;
	memcpy(e, &z, 8);
	memcpy(e + 8, &id, 8);
}

/* One interface over the four types: init with room for `cap` elements,
 * add element k (the map puts k at wall time `wall`), remove element k.
 * `replica` is the OR-Set's replica id and the map timestamp's node. */
struct sm_type {
	const struct bench_type *t;
	int (*init)(void *obj, uint32_t cap);
	int (*add)(void *obj, uint32_t k, uint32_t replica, uint64_t wall, void *delta);
	int (*remove)(void *obj, uint32_t k, void *delta);
};

static int gset_init_cap(void *o, uint32_t cap)
{
	return aeg_gset_init(o, cap, VALUE_BYTES);
}

static int gset_add_k(void *o, uint32_t k, uint32_t replica, uint64_t wall, void *delta)
{
	uint8_t e[VALUE_BYTES];
	(void)replica;
	(void)wall;
	elem_of(k, e);
	return aeg_gset_add(o, e, sizeof(e), delta);
}

static int twopset_init_cap(void *o, uint32_t cap)
{
	return aeg_twopset_init(o, cap, 8, VALUE_BYTES); /* a remove delta adds one tomb */
}

static int twopset_add_k(void *o, uint32_t k, uint32_t replica, uint64_t wall, void *delta)
{
	uint8_t e[VALUE_BYTES];
	(void)replica;
	(void)wall;
	elem_of(k, e);
	return aeg_twopset_add(o, e, sizeof(e), delta);
}

static int twopset_remove_k(void *o, uint32_t k, void *delta)
{
	uint8_t e[VALUE_BYTES];
	elem_of(k, e);
	return aeg_twopset_remove(o, e, sizeof(e), delta);
}

static int orset_init_cap(void *o, uint32_t cap)
{
	return aeg_orset_init(o, cap, VALUE_BYTES);
}

static int orset_add_k(void *o, uint32_t k, uint32_t replica, uint64_t wall, void *delta)
{
	uint8_t e[VALUE_BYTES];
	(void)wall;
	elem_of(k, e);
	return aeg_orset_add(o, e, sizeof(e), replica, delta);
}

static int orset_remove_k(void *o, uint32_t k, void *delta)
{
	uint8_t e[VALUE_BYTES];
	elem_of(k, e);
	return aeg_orset_remove(o, e, sizeof(e), delta);
}

static int lwwmap_init_cap(void *o, uint32_t cap)
{
	return aeg_lwwmap_init(o, cap, VALUE_BYTES, VALUE_BYTES);
}

static int lwwmap_put_k(void *o, uint32_t k, uint32_t replica, uint64_t wall, void *delta)
{
	uint8_t key[VALUE_BYTES], value[VALUE_BYTES];
	struct aeg_hlc_ts ts = { wall, 0, replica };
	elem_of(k, key);
	memset(value, (int)(wall + replica), sizeof(value));
	return aeg_lwwmap_put(o, key, sizeof(key), value, sizeof(value), &ts, delta);
}

static const struct sm_type sm_gset = { &gset_type, gset_init_cap, gset_add_k, NULL };
static const struct sm_type sm_twopset = { &twopset_type, twopset_init_cap, twopset_add_k,
					   twopset_remove_k };
static const struct sm_type sm_orset = { &orset_type, orset_init_cap, orset_add_k,
					 orset_remove_k };
static const struct sm_type sm_lwwmap = { &lwwmap_type, lwwmap_init_cap, lwwmap_put_k, NULL };

/* What a source is: the peer's whole state, or the delta of one operation
 * at the peer: add a new element, re-add (the map: put a newer value of)
 * an element the local state holds, remove one it holds. */
enum sm_src { SM_FULL, SM_ADD, SM_READD, SM_REMOVE };

/* Elements on one side only when two replicas share most of them. */
static uint32_t sm_diff(uint32_t n)
{
	return n / 16 > 0 ? n / 16 : 1;
}

/* Destination copies per batch: as many as fit in ~4 MiB (slots of about
 * 32 bytes plus the object), so that they stay mostly in cache, as a
 * replica's own, recently touched state would; at least 16, at most BATCH. */
static uint32_t sm_copies(uint32_t n)
{
	uint32_t copies = (4u << 20) / (n * 32 + 2048);
	return copies < 16 ? 16 : copies > BATCH ? BATCH : copies;
}

static int sm_init_all(const struct sm_type *st, struct bench_state *s, uint32_t cap)
{
	int rc = st->init(s->base, cap);
	for (uint32_t i = 0; i < s->copies && rc == 0; i++)
		rc = st->init(obj_at(s->dst, s->t, i), cap);
	/* a delta needs room for one element */
	for (uint32_t i = 0; i < s->srcs && rc == 0; i++)
		rc = st->init(obj_at(s->src, s->t, i), s->srcs == 1 ? cap : 2);
	return rc;
}

/* The peer's state: elements 0..n-1 go to both replicas (the map puts
 * them at wall time 1); the local state (base) also has d = n/16 elements
 * of its own; the peer d others, and has re-added (the map: updated at a
 * later time) d of the shared ones. */
static int sm_build_peer(const struct sm_type *st, void *base, void *peer, uint32_t n)
{
	uint32_t d = sm_diff(n);
	int rc = 0;
	for (uint32_t k = d; k < n && rc == 0; k++)
		rc = st->add(base, k, 1, 1, NULL);
	rc = rc < 0 ? rc : obj_copy(st->t, peer, base);
	for (uint32_t k = 0; k < d && rc == 0; k++)
		rc = st->add(base, k, 2, 2, NULL);
	for (uint32_t k = n; k < n + d && rc == 0; k++)
		rc = st->add(peer, k, 3, 3, NULL);
	for (uint32_t k = d; k < 2 * d && rc == 0; k++)
		rc = st->add(peer, k, 3, 3, NULL);
	return rc;
}

/* Source i of a delta case: the delta of one operation at a replica whose
 * state is base (replica 2, the next event of base's own). Distinct
 * elements for distinct i (cycling through the n held ones). */
static int sm_delta(const struct sm_type *st, enum sm_src kind, void *peer, const void *base,
		    uint32_t n, uint32_t i, void *delta)
{
	int rc = obj_copy(st->t, peer, base);
	if (rc < 0)
		return rc;
	switch (kind) {
	case SM_ADD:
		return st->add(peer, n + sm_diff(n) + i, 2, 4, delta);
	case SM_READD:
		return st->add(peer, i % n, 2, 4, delta);
	default:
		return st->remove(peer, i % n, delta);
	}
}

static void *sm_setup(const struct sm_type *st, uint32_t n, enum sm_src kind)
{
	uint32_t copies = sm_copies(n), cap = n + 2 * sm_diff(n) + 2;
	struct bench_state *s = state_new(st->t, copies, kind == SM_FULL ? 1 : copies, copies);
	void *peer = calloc(1, st->t->size);
	if (s == NULL || peer == NULL)
		setup_failed("set/map", -ENOMEM);
	int rc = sm_init_all(st, s, cap);
	rc = rc < 0 ? rc : st->init(peer, cap);
	rc = rc < 0 ? rc : sm_build_peer(st, s->base, peer, n);
	if (rc == 0 && kind == SM_FULL)
		rc = obj_copy(st->t, s->src, peer);
	for (uint32_t i = 0; i < s->srcs && rc == 0 && kind != SM_FULL; i++)
		rc = sm_delta(st, kind, peer, s->base, n, i, obj_at(s->src, s->t, i));
	st->t->fini(peer);
	free(peer);
	if (rc < 0)
		setup_failed("set/map", rc);
	return s;
}

static void *gs_full(uint32_t n) { return sm_setup(&sm_gset, n, SM_FULL); }
static void *gs_add(uint32_t n) { return sm_setup(&sm_gset, n, SM_ADD); }
static void *tp_full(uint32_t n) { return sm_setup(&sm_twopset, n, SM_FULL); }
static void *tp_remove(uint32_t n) { return sm_setup(&sm_twopset, n, SM_REMOVE); }
static void *or_full(uint32_t n) { return sm_setup(&sm_orset, n, SM_FULL); }
static void *or_add(uint32_t n) { return sm_setup(&sm_orset, n, SM_ADD); }
static void *or_remove(uint32_t n) { return sm_setup(&sm_orset, n, SM_REMOVE); }
static void *lm_full(uint32_t n) { return sm_setup(&sm_lwwmap, n, SM_FULL); }
static void *lm_put(uint32_t n) { return sm_setup(&sm_lwwmap, n, SM_READD); }

/* ---- the case table ------------------------------------------------------ */

struct bench_case {
	const char *name;       /* type/kind/size, unique */
	const char *type;
	const char *kind;       /* "full" or "delta" */
	const char *op;         /* sets/maps: the delta's operation, else NULL */
	const char *size_name;  /* what `size` counts */
	uint32_t size;
	void *(*setup)(uint32_t size);
	int (*merge)(void *state, uint32_t i); /* merges source i into dst */
	int (*reset)(void *state);             /* untimed, before each batch */
	uint32_t (*batch)(void *state);        /* merges per batch */
	bool (*changed)(void *state);          /* after a batch, untimed */
	size_t (*state_bytes)(void *state);    /* encoded size of dst */
	void (*teardown)(void *state);
};

#define CASE_OP(name, type, kind, op, size_name, size, setup)                                 \
	{ name, type, kind, op, size_name, size, setup, state_merge, state_reset, state_batch,  \
	  state_changed, state_bytes, state_free }
#define CASE(name, type, kind, size_name, size, setup)                                        \
	CASE_OP(name, type, kind, NULL, size_name, size, setup)
/* A set/map case at 16, 256 and 1024 elements (or keys), named
 * type/label/size. */
#define SM_CASES(type, label, kind, op, size_name, setup)                                     \
	CASE_OP(type "/" label "/16", type, kind, op, size_name, 16, setup),                  \
	CASE_OP(type "/" label "/256", type, kind, op, size_name, 256, setup),                \
	CASE_OP(type "/" label "/1024", type, kind, op, size_name, 1024, setup)

static const struct bench_case cases[] = {
	CASE("gcounter/full/3", "gcounter", "full", "replicas", 3, gc_full),
	CASE("gcounter/full/16", "gcounter", "full", "replicas", 16, gc_full),
	CASE("gcounter/full/64", "gcounter", "full", "replicas", 64, gc_full),
	CASE("gcounter/delta/3", "gcounter", "delta", "replicas", 3, gc_delta),
	CASE("gcounter/delta/16", "gcounter", "delta", "replicas", 16, gc_delta),
	CASE("gcounter/delta/64", "gcounter", "delta", "replicas", 64, gc_delta),
	CASE("pncounter/full/3", "pncounter", "full", "replicas", 3, pn_full),
	CASE("pncounter/full/16", "pncounter", "full", "replicas", 16, pn_full),
	CASE("pncounter/full/64", "pncounter", "full", "replicas", 64, pn_full),
	CASE("pncounter/delta/16", "pncounter", "delta", "replicas", 16, pn_delta),
	CASE("pncounter/delta/64", "pncounter", "delta", "replicas", 64, pn_delta),
	CASE("lwwreg/full/16", "lwwreg", "full", "value_bytes", 16, lww_full),
	CASE("lwwreg/full/1024", "lwwreg", "full", "value_bytes", 1024, lww_full),
	CASE("mvreg/full/1", "mvreg", "full", "versions", 1, mv_full),
	CASE("mvreg/full/4", "mvreg", "full", "versions", 4, mv_full),
	CASE("mvreg/delta/1", "mvreg", "delta", "versions", 1, mv_delta),
	CASE("mvreg/delta/4", "mvreg", "delta", "versions", 4, mv_delta),
	SM_CASES("gset", "full", "full", NULL, "elems", gs_full),
	SM_CASES("gset", "delta-add", "delta", "add", "elems", gs_add),
	SM_CASES("twopset", "full", "full", NULL, "elems", tp_full),
	SM_CASES("twopset", "delta-rm", "delta", "remove", "elems", tp_remove),
	SM_CASES("orset", "full", "full", NULL, "elems", or_full),
	SM_CASES("orset", "delta-add", "delta", "add", "elems", or_add),
	SM_CASES("orset", "delta-rm", "delta", "remove", "elems", or_remove),
	SM_CASES("lwwmap", "full", "full", NULL, "keys", lm_full),
	SM_CASES("lwwmap", "delta-put", "delta", "put", "keys", lm_put),
};

#define CASES (sizeof(cases) / sizeof(cases[0]))
/* Keeps a default run of all cases under ~20 s here. */
#define SECONDS_DEFAULT 0.2

struct result {
	uint64_t merges;
	uint64_t ns;     /* wall time inside the timed region */
	uint64_t cpu_ns; /* this thread's CPU time there: steadier on a shared machine */
	size_t state_bytes;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int run_case(const struct bench_case *c, double seconds, struct result *out)
{
	void *state = c->setup(c->size);
	if (state == NULL)
		return -ENOMEM;
	uint64_t budget_ns = (uint64_t)(seconds * 1e9);
	uint32_t batch = c->batch(state);
	/* Resets can cost more than the merges they prepare: bound the wall
	 * time of the case too. */
	uint64_t start = bench_now_ns();
	int rc = 0;
	*out = (struct result){ 0 };
	while (rc == 0 && out->ns < budget_ns && bench_now_ns() - start < 3 * budget_ns) {
		rc = c->reset(state);
		uint64_t t0 = bench_now_ns(), c0 = thread_cpu_ns();
		for (uint32_t i = 0; i < batch && rc == 0; i++)
			rc = c->merge(state, i);
		out->cpu_ns += thread_cpu_ns() - c0;
		out->ns += bench_now_ns() - t0;
		out->merges += batch;
		if (rc == 0 && out->merges == batch && !c->changed(state))
			rc = -EPROTO; /* the case would time the no-change path */
	}
	out->state_bytes = c->state_bytes(state);
	c->teardown(state);
	return rc;
}

static void print_json(const struct bench_case *c, const struct result *r)
{
	double ns_per = (double)r->ns / (double)r->merges;
	struct bench_json j;
	bench_json_begin(&j, "aegis-bench-crdt");
	bench_json_str(&j, "case", c->name);
	bench_json_str(&j, "type", c->type);
	bench_json_str(&j, "kind", c->kind);
	if (c->op != NULL)
		bench_json_str(&j, "op", c->op);
	bench_json_u64(&j, c->size_name, c->size);
	bench_json_u64(&j, "merges", r->merges);
	bench_json_f64(&j, "merges_per_s", 1e9 / ns_per);
	bench_json_f64(&j, "ns_per_merge", ns_per);
	bench_json_f64(&j, "cpu_ns_per_merge", (double)r->cpu_ns / (double)r->merges);
	bench_json_u64(&j, "state_bytes", r->state_bytes);
	bench_json_end(&j);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aegis-bench-crdt [--seconds S] [--filter SUBSTRING] [--list] [--help]\n"
		"  Merge throughput of the CRDT types: full-state and delta merges.\n"
		"  --seconds S   timed seconds per case (default %.2f; %zu cases; a case\n"
		"                stops after 3 S of wall time, resets included)\n"
		"  --filter STR  run only cases whose name contains STR\n"
		"  --list        print the case names and exit\n"
		"Counters and registers merge batches of %d prepared sources (states or\n"
		"deltas) into one destination. Sets and maps merge the peer's state, or a\n"
		"distinct one-operation delta, into each of a batch of fresh copies of the\n"
		"local state (size = elements/keys of the local state). Destinations are\n"
		"reset untimed between batches. merges/s and ns/merge are wall time;\n"
		"cpu_ns/mrg is this thread's CPU time (less affected by other load on the\n"
		"machine).\n",
		SECONDS_DEFAULT, CASES, BATCH);
}

int main(int argc, char **argv)
{
	double seconds = SECONDS_DEFAULT;
	const char *filter = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--list") == 0) {
			for (size_t k = 0; k < CASES; k++)
				printf("%s\n", cases[k].name);
			return 0;
		} else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], NULL);
		} else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
			filter = argv[++i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!(seconds > 0 && seconds <= 600)) {
		fprintf(stderr, "aegis-bench-crdt: --seconds must be in (0, 600]\n");
		return 2;
	}
	char extra[256];
	snprintf(extra, sizeof(extra),
		 "single thread; %.2f s per case; batches of %d merges; values %d bytes (mvreg)",
		 seconds, BATCH, VALUE_BYTES);
	bench_print_setup("aegis-bench-crdt", extra);
	printf("# sets/maps: %d-byte elements, keys and values. full/N: a local state of N\n"
	       "# (N/16 its own) takes the peer's state (N/16 others, N/16 shared ones\n"
	       "# re-added or updated there) into a fresh copy per merge. delta-OP/N: one\n"
	       "# distinct delta per merge (add a new element, remove or put a held one)\n"
	       "# into a fresh copy of the N-element state. Copies reset untimed.\n",
	       VALUE_BYTES);
	printf("%-22s %-6s %6s %12s %10s %10s %12s\n", "case", "kind", "size", "merges/s",
	       "ns/merge", "cpu_ns/mrg", "state_bytes");
	int failed = 0;
	struct result results[CASES];
	bool ran[CASES];
	for (size_t k = 0; k < CASES; k++) {
		const struct bench_case *c = &cases[k];
		struct result *r = &results[k];
		ran[k] = filter == NULL || strstr(c->name, filter) != NULL;
		if (!ran[k])
			continue;
		int rc = run_case(c, seconds, r);
		if (rc < 0) {
			fprintf(stderr, "%s: merge failed: %s\n", c->name, strerror(-rc));
			ran[k] = false;
			failed = 1;
			continue;
		}
		double ns_per = (double)r->ns / (double)r->merges;
		printf("%-22s %-6s %6u %12.0f %10.1f %10.1f %12zu\n", c->name, c->kind, c->size,
		       1e9 / ns_per, ns_per, (double)r->cpu_ns / (double)r->merges,
		       r->state_bytes);
		fflush(stdout);
	}
	for (size_t k = 0; k < CASES; k++) {
		if (ran[k])
			print_json(&cases[k], &results[k]);
	}
	return failed;
}
