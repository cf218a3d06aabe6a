/* Generic property tests for the set/map CRDTs; see sm_harness.h. */
#include "sm_harness.h"

#include <errno.h>

size_t test_elem(unsigned k, uint8_t buf[TEST_ELEM_BYTES_MAX])
{
	if (k >= TEST_ELEMS) {
		char tmp[16];
		snprintf(tmp, sizeof(tmp), "z%07u", k % 10000000);
		memcpy(buf, tmp, TEST_ELEM_BYTES_MAX);
		return TEST_ELEM_BYTES_MAX;
	}
	size_t len = k == 0 ? 0 : 1 + k % 4;
	memset(buf, 'a' + (int)k, len);
	return len;
}

/* Tests are single-threaded; this is test code, not lib/. */
static unsigned wide_universe;

unsigned test_pick(struct prng *p, unsigned n)
{
	return (unsigned)prng_below(p, wide_universe != 0 ? wide_universe : n);
}

void *crdt_new(const struct sm_type *t)
{
	void *obj = malloc(t->obj_size);
	assert_non_null(obj);
	assert_int_equal(t->init(obj), 0);
	return obj;
}

void crdt_free(const struct sm_type *t, void *obj)
{
	t->fini(obj);
	free(obj);
}

void crdt_copy(const struct sm_type *t, void *dst, const void *src, struct prng *p)
{
	size_t n = t->encoded_size(src);
	uint8_t *buf = malloc(n);
	assert_non_null(buf);
	CHECK(p, t->encode(src, buf, n) == (int)n);
	CHECK(p, t->decode(dst, buf, n) == (int)n);
	CHECK(p, t->equal(dst, src));
	free(buf);
}

/* ---- random histories ------------------------------------------------------ */

#define REPLICAS_MAX 5
/* Few enough that out-of-order delta delivery fits an OR-Set dot cloud. */
#define OPS_MAX 56
#define DELTAS_MAX (OPS_MAX)

struct history {
	const struct sm_type *t;
	struct prng *p;
	unsigned replicas;
	void *full[REPLICAS_MAX];  /* replicas gossiping states and deltas */
	void *recv[REPLICAS_MAX];  /* replicas fed nothing but deltas */
	uint8_t *deltas[DELTAS_MAX];
	size_t delta_len[DELTAS_MAX];
	unsigned ndeltas;
};

static void deliver(struct history *h, void *dst, unsigned d)
{
	void *tmp = crdt_new(h->t);
	CHECK(h->p, h->t->decode(tmp, h->deltas[d], h->delta_len[d]) == (int)h->delta_len[d]);
	CHECK(h->p, h->t->merge(dst, tmp) == 0);
	crdt_free(h->t, tmp);
}

static void history_run(struct history *h, const struct sm_type *t, struct prng *p)
{
	memset(h, 0, sizeof(*h));
	h->t = t;
	h->p = p;
	h->replicas = 3 + (unsigned)prng_below(p, REPLICAS_MAX - 2);
	for (unsigned r = 0; r < h->replicas; r++) {
		h->full[r] = crdt_new(t);
		h->recv[r] = crdt_new(t);
	}
	void *delta = crdt_new(t), *check = crdt_new(t);
	unsigned ops = OPS_MAX / 2 + (unsigned)prng_below(p, OPS_MAX / 2 + 1);
	for (unsigned i = 0; i < ops; i++) {
		unsigned r = (unsigned)prng_below(p, h->replicas);
		int rc = t->random_op(h->full[r], 10 + r, delta, p);
		CHECK(p, rc >= 0);
		if (rc == 0) {
			/* The delta is below the new state: joining it is a no-op. */
			crdt_copy(t, check, h->full[r], p);
			CHECK(p, t->merge(check, delta) == 0 && t->equal(check, h->full[r]));
			size_t n = t->encoded_size(delta);
			h->deltas[h->ndeltas] = malloc(n);
			CHECK(p, t->encode(delta, h->deltas[h->ndeltas], n) == (int)n);
			h->delta_len[h->ndeltas++] = n;
		}
		unsigned a = (unsigned)prng_below(p, h->replicas);
		unsigned b = (unsigned)prng_below(p, h->replicas);
		switch (prng_below(p, 4)) {
		case 0: /* full-state gossip */
			CHECK(p, t->merge(h->full[a], h->full[b]) == 0);
			break;
		case 1: /* a (maybe duplicate, maybe stale) delta */
			if (h->ndeltas > 0)
				deliver(h, h->full[a], (unsigned)prng_below(p, h->ndeltas));
			break;
		case 2:
			if (h->ndeltas > 0)
				deliver(h, h->recv[a], (unsigned)prng_below(p, h->ndeltas));
			break;
		default:
			break;
		}
	}
	crdt_free(t, delta);
	crdt_free(t, check);
}

static void history_free(struct history *h)
{
	for (unsigned r = 0; r < h->replicas; r++) {
		crdt_free(h->t, h->full[r]);
		crdt_free(h->t, h->recv[r]);
	}
	for (unsigned d = 0; d < h->ndeltas; d++)
		free(h->deltas[d]);
}

/* Runs body on `rounds` random histories, seeds seed0, seed0 + 1, ... */
static void for_each_history(const struct sm_type *t, uint64_t seed0, int rounds,
			     void (*body)(struct history *h))
{
	uint64_t base = test_seed(seed0);
	for (int round = 0; round < rounds; round++) {
		struct prng p;
		struct history h;
		prng_init_seed(&p, base + (uint64_t)round);
		history_run(&h, t, &p);
		body(&h);
		history_free(&h);
	}
}

/* ---- merge laws ------------------------------------------------------------ */

/* out = a u b */
static void joined(const struct sm_type *t, void *out, const void *a, const void *b,
		   struct prng *p)
{
	crdt_copy(t, out, a, p);
	CHECK(p, t->merge(out, b) == 0);
}

static void merge_laws_one(struct history *h)
{
	const struct sm_type *t = h->t;
	struct prng *p = h->p;
	void *a = h->full[0], *b = h->full[1], *c = h->full[2];
	void *x = crdt_new(t), *y = crdt_new(t), *z = crdt_new(t), *empty = crdt_new(t);

	joined(t, x, a, b, p); /* commutative */
	joined(t, y, b, a, p);
	CHECK(p, t->equal(x, y));
	joined(t, z, x, c, p); /* associative */
	joined(t, y, b, c, p);
	joined(t, x, a, y, p);
	CHECK(p, t->equal(x, z));
	joined(t, x, a, a, p); /* idempotent, also in place */
	CHECK(p, t->equal(x, a));
	CHECK(p, t->merge(x, x) == 0 && t->equal(x, a));
	joined(t, x, a, b, p); /* absorbs: a u (a u b) = a u b */
	joined(t, y, a, x, p);
	CHECK(p, t->equal(x, y));
	joined(t, x, a, empty, p); /* the empty state is the bottom */
	joined(t, y, empty, a, p);
	CHECK(p, t->equal(x, a) && t->equal(y, a));

	crdt_free(t, x);
	crdt_free(t, y);
	crdt_free(t, z);
	crdt_free(t, empty);
}

void prop_merge_laws(const struct sm_type *t, uint64_t seed0, int rounds)
{
	for_each_history(t, seed0, rounds, merge_laws_one);
}

/* ---- convergence ----------------------------------------------------------- */

static void shuffle(unsigned *v, unsigned n, struct prng *p)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)prng_below(p, i);
		unsigned tmp = v[i - 1];
		v[i - 1] = v[j];
		v[j] = tmp;
	}
}

/* A random merge tree over copies of the replicas, some merged twice. */
static void merge_tree(struct history *h, void *out)
{
	const struct sm_type *t = h->t;
	void *nodes[2 * REPLICAS_MAX] = { NULL };
	unsigned n = 0;
	for (unsigned r = 0; r < h->replicas; r++) {
		nodes[n] = crdt_new(t);
		crdt_copy(t, nodes[n++], h->full[r], h->p);
		if (prng_below(h->p, 2)) { /* a duplicate leaf */
			nodes[n] = crdt_new(t);
			crdt_copy(t, nodes[n++], h->full[r], h->p);
		}
	}
	while (n > 1) {
		unsigned i = (unsigned)prng_below(h->p, n), j = (unsigned)prng_below(h->p, n - 1);
		j += j >= i;
		CHECK(h->p, t->merge(nodes[i], nodes[j]) == 0);
		crdt_free(t, nodes[j]);
		nodes[j] = nodes[--n];
	}
	crdt_copy(t, out, nodes[0], h->p);
	crdt_free(t, nodes[0]);
}

static void check_same_bytes(const struct sm_type *t, const void *a, const void *b,
			     struct prng *p)
{
	size_t n = t->encoded_size(a);
	CHECK(p, n == t->encoded_size(b));
	uint8_t *ba = malloc(n), *bb = malloc(n);
	CHECK(p, t->encode(a, ba, n) == (int)n && t->encode(b, bb, n) == (int)n);
	CHECK(p, memcmp(ba, bb, n) == 0);
	free(ba);
	free(bb);
}

static void convergence_one(struct history *h)
{
	const struct sm_type *t = h->t;
	struct prng *p = h->p;
	void *tree = crdt_new(t), *linear = crdt_new(t);

	merge_tree(h, tree);
	for (unsigned r = 0; r < h->replicas; r++)
		CHECK(p, t->merge(linear, h->full[r]) == 0);
	CHECK(p, t->equal(tree, linear));

	/* Every replica gets the join by its own route and converges. */
	for (unsigned r = 0; r < h->replicas; r++) {
		CHECK(p, t->merge(h->full[r], tree) == 0);
		CHECK(p, t->equal(h->full[r], tree));
		check_same_bytes(t, h->full[r], tree, p);
	}

	/* Deltas only, shuffled, each delivered once or twice, on top of
	 * whatever the receiver already got: the same state. */
	for (unsigned r = 0; r < h->replicas; r++) {
		unsigned order[2 * DELTAS_MAX], n = 0;
		for (unsigned d = 0; d < h->ndeltas; d++) {
			order[n++] = d;
			if (prng_below(p, 3) == 0)
				order[n++] = d;
		}
		shuffle(order, n, p);
		for (unsigned i = 0; i < n; i++)
			deliver(h, h->recv[r], order[i]);
		CHECK(p, t->equal(h->recv[r], tree));
		check_same_bytes(t, h->recv[r], tree, p);
	}
	if (t->check_converged != NULL)
		t->check_converged(tree, p);

	crdt_free(t, tree);
	crdt_free(t, linear);
}

void prop_convergence(const struct sm_type *t, uint64_t seed0, int rounds)
{
	for_each_history(t, seed0, rounds, convergence_one);
}

/* ---- codec ----------------------------------------------------------------- */

static void check_decoded_state(const struct sm_type *t, const uint8_t *buf, size_t len,
				int consumed, void *obj, struct prng *p)
{
	/* Canonical: re-encoding gives back the consumed bytes. */
	size_t n = t->encoded_size(obj);
	CHECK(p, n == (size_t)consumed);
	uint8_t *again = malloc(n);
	CHECK(p, t->encode(obj, again, n) == (int)n && memcmp(again, buf, n) == 0);
	free(again);
	(void)len;
	/* Merging it into the empty state gives it back; merging twice too. */
	void *fresh = crdt_new(t);
	CHECK(p, t->merge(fresh, obj) == 0 && t->equal(fresh, obj));
	CHECK(p, t->merge(fresh, obj) == 0 && t->equal(fresh, obj));
	crdt_free(t, fresh);
}

static void codec_one(const struct sm_type *t, const void *state, struct prng *p)
{
	size_t n = t->encoded_size(state);
	uint8_t *buf = malloc(n + 8);
	void *obj = crdt_new(t), *empty = crdt_new(t);
	CHECK(p, n >= 2);
	CHECK(p, t->encode(state, buf, n - 1) == -ENOBUFS);
	CHECK(p, t->encode(state, buf, n) == (int)n);

	/* Round trip, trailing bytes left alone. */
	memset(buf + n, 0xa5, 8);
	CHECK(p, t->decode(obj, buf, n + 8) == (int)n);
	CHECK(p, t->equal(obj, state));

	/* Every truncation fails and leaves the object empty. */
	for (size_t len = 0; len < n; len++) {
		CHECK(p, t->decode(obj, buf, len) < 0);
		CHECK(p, t->equal(obj, empty));
	}

	/* Another type's tag or another version is refused. */
	uint8_t saved = buf[0];
	buf[0] = 0x10;
	CHECK(p, t->decode(obj, buf, n) == -EINVAL);
	buf[0] = saved;
	buf[1]++;
	CHECK(p, t->decode(obj, buf, n) == -EINVAL);
	buf[1]--;

	/* Bit flips: an error, or a valid canonical state. */
	for (int i = 0; i < 64; i++) {
		size_t bit = (size_t)prng_below(p, n * 8);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = t->decode(obj, buf, n);
		if (rc >= 0)
			check_decoded_state(t, buf, n, rc, obj, p);
		else
			CHECK(p, t->equal(obj, empty));
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	crdt_free(t, obj);
	crdt_free(t, empty);
	free(buf);
}

static void codec_all(struct history *h)
{
	const struct sm_type *t = h->t;
	struct prng *p = h->p;
	for (unsigned r = 0; r < h->replicas; r++) {
		codec_one(t, h->full[r], p);
		codec_one(t, h->recv[r], p);
	}
}

void prop_codec(const struct sm_type *t, uint64_t seed0, int rounds)
{
	for_each_history(t, seed0, rounds, codec_all);
}

/* ---- small src into a large dst ------------------------------------------- */

void prop_small_into_large(const struct sm_type *t, uint64_t seed0, int rounds)
{
	uint64_t base = test_seed(seed0);
	wide_universe = 300;
	for (int round = 0; round < rounds; round++) {
		struct prng p;
		prng_init_seed(&p, base + (uint64_t)round);
		void *big = crdt_new(t), *other = crdt_new(t), *delta = crdt_new(t);
		void *before = crdt_new(t), *ref = crdt_new(t);
		for (int step = 0; step < 600; step++) {
			bool at_big = prng_below(&p, 2);
			int rc = t->random_op(at_big ? big : other, at_big ? 1 : 2, delta, &p);
			CHECK(&p, rc >= 0);
			if (rc == 0 && !at_big) {
				crdt_copy(t, before, big, &p);
				CHECK(&p, t->merge(big, delta) == 0);
				crdt_copy(t, ref, delta, &p);
				CHECK(&p, t->merge(ref, before) == 0);
				CHECK(&p, t->equal(big, ref));
			}
			if (prng_below(&p, 50) == 0) /* let other see (and remove) big's */
				CHECK(&p, t->merge(other, big) == 0);
		}
		crdt_free(t, big);
		crdt_free(t, other);
		crdt_free(t, delta);
		crdt_free(t, before);
		crdt_free(t, ref);
	}
	wide_universe = 0;
}
