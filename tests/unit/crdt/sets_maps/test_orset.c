/* OR-Set (add-wins, causal context): scenarios, error paths, a reference
 * model of observed removes, context compaction, and the generic
 * merge/convergence/codec properties. */
#include "sm_harness.h"

#include <errno.h>

#include "aegis/crdt_set.h"
#include "common/codec.h"
#include "crdt/sets_maps/orset_internal.h"

#define SEED 0x0e5e0000ull
#define CAP 1024

SM_TYPE_OPS(orset, aeg_orset_init(o, CAP, TEST_ELEM_BYTES_MAX))

static int t_random_op(void *o, uint32_t replica, void *delta, struct prng *p)
{
	uint8_t e[TEST_ELEM_BYTES_MAX];
	size_t len = test_elem(test_pick(p, TEST_ELEMS), e);
	return prng_below(p, 3) ? aeg_orset_add(o, e, len, replica, delta) :
				  aeg_orset_remove(o, e, len, delta);
}

/* Converged: every event was seen everywhere, so the context is a plain
 * version vector; at most one dot per (element, replica). */
static void t_check(const void *o, struct prng *p)
{
	const struct aeg_orset *s = o;
	CHECK(p, s->ctx.cloud_len == 0);
	for (uint32_t i = 1; i < aeg_orset_entries(s); i++) {
		const uint8_t *e0, *e1;
		size_t l0, l1;
		struct aeg_dot d0, d1;
		aeg_orset_entry(s, i - 1, &e0, &l0, &d0);
		aeg_orset_entry(s, i, &e1, &l1, &d1);
		CHECK(p, !(l0 == l1 && memcmp(e0, e1, l0) == 0 && d0.node == d1.node));
	}
}

static const struct sm_type orset_type = {
	SM_TYPE_FIELDS(orset), t_random_op, t_check,
};

SM_PROPERTY_TESTS(orset_type, SEED)

static void test_local(void **state)
{
	(void)state;
	struct aeg_orset s, d;
	assert_int_equal(aeg_orset_init(&s, 2, 4), 0);
	assert_int_equal(aeg_orset_init(&d, 1, 4), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(aeg_orset_add(&s, "a", 1, 7, &d), 0);
	/* Each add drops the older dot: one entry, context 7:5. */
	assert_int_equal(aeg_orset_entries(&s), 1);
	assert_int_equal(aeg_vclock_get(&s.ctx.vv, 7), 5);
	/* Delta of the last add: entry (a, 7:5), context {7:4, 7:5}. */
	assert_int_equal(aeg_orset_entries(&d), 1);
	assert_true(aeg_orset_contains(&d, "a", 1));
	struct aeg_dot old = { 7, 4 }, older = { 7, 3 };
	assert_true(aeg_orset_ctx_covers(&d.ctx, &old));
	assert_false(aeg_orset_ctx_covers(&d.ctx, &older));

	assert_int_equal(aeg_orset_add(&s, "", 0, 8, NULL), 0);
	assert_int_equal(aeg_orset_size(&s), 2);
	assert_int_equal(aeg_orset_add(&s, "b", 1, 7, &d), -ENOSPC);
	assert_int_equal(aeg_vclock_get(&s.ctx.vv, 7), 5); /* unchanged */
	assert_true(aeg_orset_contains(&d, "a", 1));
	assert_int_equal(aeg_orset_add(&s, "abcde", 5, 7, NULL), -EMSGSIZE);
	assert_int_equal(aeg_orset_add(&s, NULL, 2, 7, NULL), -EINVAL);
	assert_false(aeg_orset_contains(&s, NULL, 1));
	assert_int_equal(aeg_orset_add(&s, "a", 1, 7, &s), -EINVAL);

	/* Remove: no entry left, the dot stays in the context. */
	assert_int_equal(aeg_orset_remove(&s, "a", 1, &d), 0);
	assert_false(aeg_orset_contains(&s, "a", 1));
	assert_int_equal(aeg_orset_entries(&s), 1);
	assert_int_equal(aeg_orset_entries(&d), 0);
	struct aeg_dot last = { 7, 5 };
	assert_true(aeg_orset_ctx_covers(&d.ctx, &last));
	assert_false(aeg_orset_ctx_covers(&d.ctx, &old));
	/* Removing an absent element: empty delta. */
	assert_int_equal(aeg_orset_remove(&s, "zz", 2, &d), 0);
	assert_int_equal(d.ctx.vv.len + d.ctx.cloud_len + aeg_orset_entries(&d), 0);
	aeg_orset_fini(&s);
	aeg_orset_fini(&d);
}

/* Arguments that point into the set itself (from the accessors). */
static void test_aliasing(void **state)
{
	(void)state;
	struct aeg_orset s, d;
	const uint8_t *e;
	size_t len;
	struct aeg_dot dot;
	assert_int_equal(aeg_orset_init(&s, 8, 4), 0);
	assert_int_equal(aeg_orset_init(&d, 1, 4), 0);
	assert_int_equal(aeg_orset_add(&s, "abc", 3, 1, NULL), 0);
	assert_int_equal(aeg_orset_add(&s, "b", 1, 1, NULL), 0);
	assert_int_equal(aeg_orset_add(&s, "b", 1, 2, NULL), 0);
	/* Re-add through its own entry: the element keeps its bytes. */
	aeg_orset_entry(&s, 0, &e, &len, &dot);
	assert_int_equal(aeg_orset_add(&s, e, len, 3, &d), 0);
	assert_int_equal(aeg_orset_entries(&s), 2);
	assert_true(aeg_orset_contains(&s, "b", 1) && aeg_orset_contains(&s, "abc", 3));
	/* A prefix of a later entry's bytes: a new element sorting before
	 * entries that move under the pointer. */
	assert_int_equal(aeg_orset_add(&s, "xyz", 3, 1, NULL), 0);
	aeg_orset_entry(&s, 2, &e, &len, &dot);
	assert_int_equal(len, 3);
	assert_int_equal(aeg_orset_add(&s, e, 2, 3, NULL), 0);
	assert_true(aeg_orset_contains(&s, "xy", 2) && aeg_orset_contains(&s, "xyz", 3));
	assert_false(aeg_orset_contains(&s, "ab", 2));
	/* The delta's own element, with the same delta. */
	aeg_orset_entry(&d, 0, &e, &len, &dot);
	assert_int_equal(aeg_orset_add(&s, e, len, 4, &d), 0);
	aeg_orset_entry(&d, 0, &e, &len, &dot);
	assert_true(len == 1 && e[0] == 'b' && dot.node == 4);
	aeg_orset_fini(&s);
	aeg_orset_fini(&d);
}

static void test_context(void **state)
{
	(void)state;
	struct aeg_orset_ctx c;
	aeg_orset_ctx_init(&c);
	struct aeg_dot d3 = { 1, 3 }, d1 = { 1, 1 }, d2 = { 1, 2 }, zero = { 1, 0 };
	assert_int_equal(aeg_orset_ctx_add(&c, &zero), -EINVAL);
	assert_int_equal(aeg_orset_ctx_add(&c, &d3), 0);
	assert_int_equal(c.cloud_len, 1);
	assert_int_equal(aeg_orset_ctx_add(&c, &d1), 0);
	assert_int_equal(c.cloud_len, 1);
	assert_int_equal(aeg_orset_ctx_add(&c, &d2), 0); /* folds 2 and 3 */
	assert_int_equal(c.cloud_len, 0);
	assert_int_equal(aeg_vclock_get(&c.vv, 1), 3);
	assert_true(aeg_orset_ctx_covers(&c, &d2));

	/* The cloud is bounded. */
	for (uint64_t i = 0; i < AEG_ORSET_CLOUD_MAX; i++) {
		struct aeg_dot d = { 2, 2 + 2 * i };
		assert_int_equal(aeg_orset_ctx_add(&c, &d), 0);
	}
	struct aeg_dot extra = { 3, 5 };
	assert_int_equal(aeg_orset_ctx_add(&c, &extra), -ENOSPC);
	/* Merge into a context whose cloud would overflow: unchanged. */
	struct aeg_orset_ctx other, before;
	aeg_orset_ctx_init(&other);
	assert_int_equal(aeg_orset_ctx_add(&other, &extra), 0);
	before = c;
	assert_int_equal(aeg_orset_ctx_merge(&c, &other), -ENOSPC);
	assert_memory_equal(&c, &before, sizeof(c));
	/* Filling the gaps empties the cloud. */
	struct aeg_dot one = { 2, 1 };
	assert_int_equal(aeg_orset_ctx_add(&c, &one), 0);
	for (uint64_t i = 0; i < AEG_ORSET_CLOUD_MAX; i++) {
		struct aeg_dot d = { 2, 3 + 2 * i };
		assert_int_equal(aeg_orset_ctx_add(&c, &d), 0);
	}
	assert_int_equal(c.cloud_len, 0);
	assert_int_equal(aeg_vclock_get(&c.vv, 2), 2 * AEG_ORSET_CLOUD_MAX + 1);

	/* The version vector is bounded too. */
	aeg_orset_ctx_init(&c);
	for (uint32_t n = 0; n < AEG_VCLOCK_NODES_MAX; n++) {
		struct aeg_dot d = { 100 + n, 1 };
		assert_int_equal(aeg_orset_ctx_add(&c, &d), 0);
	}
	struct aeg_dot more = { 99, 1 };
	assert_int_equal(aeg_orset_ctx_add(&c, &more), -ENOSPC);
	/* An add from one replica too many fails and changes nothing. */
	struct aeg_orset full, copy;
	assert_int_equal(aeg_orset_init(&full, 4, 4), 0);
	assert_int_equal(aeg_orset_init(&copy, 4, 4), 0);
	assert_int_equal(aeg_orset_add(&full, "a", 1, 100, NULL), 0);
	full.ctx = c;
	assert_int_equal(aeg_orset_merge(&copy, &full), 0);
	assert_int_equal(aeg_orset_add(&full, "a", 1, 99, &copy), -ENOSPC);
	assert_true(aeg_orset_equal(&full, &copy));
	assert_int_equal(aeg_orset_add(&full, "a", 1, 101, NULL), 0);
	assert_int_equal(aeg_vclock_get(&full.ctx.vv, 101), 2);
	aeg_orset_fini(&full);
	aeg_orset_fini(&copy);

	/* A replica at the last counter cannot add. */
	struct aeg_orset s;
	assert_int_equal(aeg_orset_init(&s, 4, 4), 0);
	struct aeg_dot top = { 5, UINT64_MAX };
	assert_int_equal(aeg_orset_ctx_add(&s.ctx, &top), 0);
	assert_int_equal(aeg_orset_add(&s, "a", 1, 5, NULL), -EOVERFLOW);
	assert_int_equal(aeg_orset_add(&s, "a", 1, 6, NULL), 0);
	aeg_orset_fini(&s);
}

static void test_scenarios(void **state)
{
	(void)state;
	struct aeg_orset a, b, c, old_a, da, db;
	struct aeg_orset *all[] = { &a, &b, &c, &old_a, &da, &db };
	for (int i = 0; i < 6; i++)
		assert_int_equal(aeg_orset_init(all[i], 8, 4), 0);

	/* Removed stays removed: B removes what it saw of x; A's stale state
	 * merged back, in either direction, does not revive it. */
	assert_int_equal(aeg_orset_add(&a, "x", 1, 1, NULL), 0);
	assert_int_equal(aeg_orset_merge(&old_a, &a), 0);
	assert_int_equal(aeg_orset_merge(&b, &a), 0);
	assert_int_equal(aeg_orset_remove(&b, "x", 1, NULL), 0);
	assert_int_equal(aeg_orset_merge(&b, &old_a), 0);
	assert_false(aeg_orset_contains(&b, "x", 1));
	assert_int_equal(aeg_orset_merge(&a, &b), 0);
	assert_false(aeg_orset_contains(&a, "x", 1));
	assert_int_equal(aeg_orset_entries(&a), 0); /* no tombstone entry */

	/* Add wins: A re-adds x while C (which saw the first add) removes it. */
	assert_int_equal(aeg_orset_merge(&c, &old_a), 0);
	assert_int_equal(aeg_orset_add(&a, "x", 1, 1, &da), 0);
	assert_int_equal(aeg_orset_remove(&c, "x", 1, &db), 0);
	assert_int_equal(aeg_orset_merge(&c, &da), 0);
	assert_int_equal(aeg_orset_merge(&a, &db), 0);
	assert_true(aeg_orset_contains(&a, "x", 1));
	assert_true(aeg_orset_contains(&c, "x", 1));
	assert_true(aeg_orset_equal(&a, &c));

	/* Out-of-order deltas: the cloud holds the gap, then empties. */
	struct aeg_orset d1, d2, d3, r;
	struct aeg_orset *ds[] = { &d1, &d2, &d3 };
	assert_int_equal(aeg_orset_init(&r, 8, 4), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(aeg_orset_init(ds[i], 1, 4), 0);
		assert_int_equal(aeg_orset_add(&b, i == 1 ? "q" : "p", 1, 2, ds[i]), 0);
	}
	assert_int_equal(aeg_orset_merge(&r, &d3), 0);
	assert_int_equal(aeg_orset_merge(&r, &d1), 0);
	assert_int_equal(r.ctx.cloud_len, 1);
	assert_int_equal(aeg_orset_merge(&r, &d2), 0);
	assert_int_equal(r.ctx.cloud_len, 0);
	assert_int_equal(aeg_orset_entries(&r), 2); /* p's first dot was superseded */
	for (int i = 0; i < 3; i++)
		aeg_orset_fini(ds[i]);
	aeg_orset_fini(&r);

	/* Merge errors leave dst unchanged. */
	struct aeg_orset tiny, narrow;
	assert_int_equal(aeg_orset_init(&tiny, 1, 4), 0);
	assert_int_equal(aeg_orset_init(&narrow, 8, 0), 0);
	assert_int_equal(aeg_orset_merge(&tiny, &a), 0);
	assert_int_equal(aeg_orset_merge(&tiny, &b), -ENOSPC);
	assert_true(aeg_orset_equal(&tiny, &a));
	assert_int_equal(aeg_orset_merge(&narrow, &a), -EMSGSIZE);
	assert_int_equal(aeg_orset_entries(&narrow), 0);
	assert_int_equal(narrow.ctx.vv.len, 0);
	aeg_orset_fini(&tiny);
	aeg_orset_fini(&narrow);
	for (int i = 0; i < 6; i++)
		aeg_orset_fini(all[i]);
}

/* Bytes of an OR-Set: context (vv node 1 at vv1, one cloud dot unless
 * cloud == 0) and one entry ("a", dot). */
static size_t craft(uint8_t *buf, uint64_t vv1, uint64_t cloud, uint64_t dot_counter)
{
	struct aeg_vclock vv;
	struct aeg_writer w;
	aeg_vclock_init(&vv);
	assert_int_equal(aeg_vclock_set(&vv, 1, vv1), 0);
	aeg_writer_init(&w, buf, 64);
	aeg_put_u8(&w, AEG_CRDT_TAG_ORSET);
	aeg_put_u8(&w, AEG_CRDT_SET_FORMAT);
	int n = aeg_vclock_encode(&vv, buf + w.len, 64 - w.len);
	assert_true(n > 0);
	w.len += (size_t)n;
	aeg_put_varint(&w, cloud != 0);
	if (cloud != 0) {
		aeg_put_varint(&w, 1);
		aeg_put_varint(&w, cloud);
	}
	aeg_put_varint(&w, 1);
	aeg_put_varint(&w, 1);
	aeg_put_u8(&w, 'a');
	aeg_put_varint(&w, 1);
	aeg_put_varint(&w, dot_counter);
	assert_false(w.error);
	return w.len;
}

static void test_decode_errors(void **state)
{
	(void)state;
	struct aeg_orset s;
	uint8_t buf[64];
	assert_int_equal(aeg_orset_init(&s, 4, 4), 0);
	size_t n = craft(buf, 2, 5, 2);
	assert_int_equal(aeg_orset_decode(&s, buf, n), (int)n);
	assert_true(aeg_orset_contains(&s, "a", 1));
	n = craft(buf, 2, 5, 5); /* entry dot in the cloud: fine */
	assert_int_equal(aeg_orset_decode(&s, buf, n), (int)n);
	n = craft(buf, 2, 5, 4); /* entry dot outside the context */
	assert_int_equal(aeg_orset_decode(&s, buf, n), -EINVAL);
	assert_int_equal(aeg_orset_entries(&s), 0);
	assert_int_equal(s.ctx.vv.len, 0);
	n = craft(buf, 2, 3, 2); /* cloud dot that extends vv: not compact */
	assert_int_equal(aeg_orset_decode(&s, buf, n), -EINVAL);
	n = craft(buf, 2, 2, 2); /* cloud dot covered by vv */
	assert_int_equal(aeg_orset_decode(&s, buf, n), -EINVAL);
	n = craft(buf, 2, 0, 0); /* dot counter 0 */
	assert_int_equal(aeg_orset_decode(&s, buf, n), -EINVAL);
	struct aeg_orset one;
	assert_int_equal(aeg_orset_init(&one, 1, 0), 0);
	n = craft(buf, 2, 0, 2); /* element longer than this object allows */
	assert_int_equal(aeg_orset_decode(&one, buf, n), -EMSGSIZE);
	aeg_orset_fini(&one);
	aeg_orset_fini(&s);
}

/* ---- reference model ---------------------------------------------------------
 * Every add is an event with an id. Per replica: H = adds seen (its causal
 * history), K = adds killed by the removes seen. A remove kills the adds of
 * its element that its replica saw; the element is present iff some add of
 * it is in H \ K. Replicas exchange full states and deltas; deltas are
 * delivered causally (only to a replica that has seen everything the
 * origin had seen before the operation), which is the condition under
 * which delta merging keeps the observed-remove meaning (Almeida et al.).
 * Out-of-order delta delivery is covered by the convergence property. */

#define ADDS_MAX 128
#define R 3

struct bits {
	uint64_t w[ADDS_MAX / 64];
};

static void bits_or(struct bits *a, const struct bits *b)
{
	for (int i = 0; i < ADDS_MAX / 64; i++)
		a->w[i] |= b->w[i];
}

static bool bits_subset(const struct bits *a, const struct bits *b)
{
	for (int i = 0; i < ADDS_MAX / 64; i++)
		if (a->w[i] & ~b->w[i])
			return false;
	return true;
}

static bool bit(const struct bits *a, unsigned i) { return (a->w[i / 64] >> (i % 64)) & 1; }
static void set_bit(struct bits *a, unsigned i) { a->w[i / 64] |= 1ull << (i % 64); }

struct model {
	unsigned adds;
	unsigned elem_of[ADDS_MAX];
	struct aeg_dot dot_of[ADDS_MAX];
	struct bits seen[R], killed[R];
};

static bool model_present(const struct model *m, unsigned r, unsigned k)
{
	for (unsigned a = 0; a < m->adds; a++)
		if (m->elem_of[a] == k && bit(&m->seen[r], a) && !bit(&m->killed[r], a))
			return true;
	return false;
}

/* The adds of k at r that are still alive there. */
static struct bits model_live(const struct model *m, unsigned r, unsigned k)
{
	struct bits out = { { 0 } };
	for (unsigned a = 0; a < m->adds; a++)
		if (m->elem_of[a] == k && bit(&m->seen[r], a) && !bit(&m->killed[r], a))
			set_bit(&out, a);
	return out;
}

static void model_check(const struct model *m, struct aeg_orset *s, struct prng *p)
{
	uint8_t e[TEST_ELEM_BYTES_MAX];
	for (unsigned r = 0; r < R; r++) {
		for (unsigned k = 0; k < TEST_ELEMS; k++)
			CHECK(p, aeg_orset_contains(&s[r], e, test_elem(k, e)) == model_present(m, r, k));
		/* Memory: every entry is a live add, never a removed one. */
		for (uint32_t i = 0; i < aeg_orset_entries(&s[r]); i++) {
			const uint8_t *x;
			size_t len;
			struct aeg_dot d;
			aeg_orset_entry(&s[r], i, &x, &len, &d);
			unsigned a = 0;
			while (a < m->adds && (m->dot_of[a].node != d.node ||
					       m->dot_of[a].counter != d.counter))
				a++;
			CHECK(p, a < m->adds && bit(&m->seen[r], a) && !bit(&m->killed[r], a));
		}
	}
}

static void test_model(void **state)
{
	(void)state;
	unsigned delivered = 0;
	for (int round = 0; round < 400; round++) {
		struct prng p;
		struct model m;
		struct aeg_orset s[R], delta;
		/* Shipped deltas: the origin's history before and after the op. */
		struct aeg_orset *pend = calloc(ADDS_MAX * 2, sizeof(*pend));
		struct bits *pend_sets = calloc(ADDS_MAX * 2 * 4, sizeof(*pend_sets));
		unsigned npend = 0;
		memset(&m, 0, sizeof(m));
		prng_init_seed(&p, test_seed(0x0e5e7) + (uint64_t)round);
		for (unsigned r = 0; r < R; r++)
			assert_int_equal(aeg_orset_init(&s[r], CAP, TEST_ELEM_BYTES_MAX), 0);
		assert_int_equal(aeg_orset_init(&delta, 4, TEST_ELEM_BYTES_MAX), 0);
		for (int step = 0; step < 100 && m.adds < ADDS_MAX; step++) {
			unsigned r = (unsigned)prng_below(&p, R), k = (unsigned)prng_below(&p, 6);
			uint8_t e[TEST_ELEM_BYTES_MAX];
			size_t len = test_elem(k, e);
			struct bits *ps = &pend_sets[4 * npend];
			ps[0] = m.seen[r];
			ps[1] = m.killed[r];
			bool shipped = false;
			switch (prng_below(&p, 5)) {
			case 0:
			case 1: {
				unsigned a = m.adds++;
				CHECK(&p, aeg_orset_add(&s[r], e, len, r + 1, &delta) == 0);
				const uint8_t *x;
				size_t xl;
				aeg_orset_entry(&delta, 0, &x, &xl, &m.dot_of[a]);
				m.elem_of[a] = k;
				set_bit(&m.seen[r], a);
				shipped = true;
				break;
			}
			case 2: {
				struct bits live = model_live(&m, r, k);
				bits_or(&m.killed[r], &live);
				CHECK(&p, aeg_orset_remove(&s[r], e, len, &delta) == 0);
				shipped = true;
				break;
			}
			case 3: {
				unsigned from = (unsigned)prng_below(&p, R);
				CHECK(&p, aeg_orset_merge(&s[r], &s[from]) == 0);
				bits_or(&m.seen[r], &m.seen[from]);
				bits_or(&m.killed[r], &m.killed[from]);
				break;
			}
			default:
				if (npend > 0) {
					unsigned d = (unsigned)prng_below(&p, npend);
					const struct bits *ds = &pend_sets[4 * d];
					if (!bits_subset(&ds[0], &m.seen[r]) ||
					    !bits_subset(&ds[1], &m.killed[r]))
						break; /* not causally ready here */
					CHECK(&p, aeg_orset_merge(&s[r], &pend[d]) == 0);
					delivered++;
					bits_or(&m.seen[r], &ds[2]);
					bits_or(&m.killed[r], &ds[3]);
				}
				break;
			}
			if (shipped) {
				assert_int_equal(aeg_orset_init(&pend[npend], 4, TEST_ELEM_BYTES_MAX), 0);
				CHECK(&p, aeg_orset_merge(&pend[npend], &delta) == 0);
				ps[2] = m.seen[r];
				ps[3] = m.killed[r];
				npend++;
			}
			model_check(&m, s, &p);
		}
		/* Full convergence: present iff some add was observed by no remove. */
		for (unsigned r = 1; r < R; r++)
			CHECK(&p, aeg_orset_merge(&s[0], &s[r]) == 0);
		for (unsigned r = 1; r < R; r++) {
			CHECK(&p, aeg_orset_merge(&s[r], &s[0]) == 0);
			CHECK(&p, aeg_orset_equal(&s[r], &s[0]));
			bits_or(&m.seen[0], &m.seen[r]);
			bits_or(&m.killed[0], &m.killed[r]);
		}
		for (unsigned r = 1; r < R; r++) {
			m.seen[r] = m.seen[0];
			m.killed[r] = m.killed[0];
		}
		model_check(&m, s, &p);
		CHECK(&p, s[0].ctx.cloud_len == 0);
		for (unsigned r = 0; r < R; r++)
			aeg_orset_fini(&s[r]);
		for (unsigned d = 0; d < npend; d++)
			aeg_orset_fini(&pend[d]);
		aeg_orset_fini(&delta);
		free(pend);
		free(pend_sets);
	}
	/* The delta path was exercised, not only full-state merges. */
	assert_true(delivered > 1000);
}

/* ---- fast path vs walk -------------------------------------------------------
 * aeg_orset_merge takes the dot-index path for a small src and the walk
 * otherwise; both must give the same state and the same error. Random
 * replicas exchange deltas, delta groups and states; at every step a random
 * src (a delta, a delta group, a replica) is merged by both paths into
 * copies of a random replica, sometimes with a tight capacity (-ENOSPC) or
 * a shorter element limit (-EMSGSIZE). */

#define FW_R 3
#define FW_ELEMS 16 /* elements >= TEST_ELEMS are 8 bytes long */
#define FW_GROUP_CAP 64

struct fw_counts {
	unsigned fast, walked, errors;
};

static int fw_op(struct aeg_orset *s, uint32_t replica, struct aeg_orset *delta, struct prng *p)
{
	uint8_t e[TEST_ELEM_BYTES_MAX];
	size_t len = test_elem((unsigned)prng_below(p, FW_ELEMS), e);
	return prng_below(p, 3) ? aeg_orset_add(s, e, len, replica, delta) :
				  aeg_orset_remove(s, e, len, delta);
}

/* dst = src, by a walk into the cleared dst (keeps the index) or through
 * the codec (leaves it to be rebuilt). */
static int fw_copy(struct aeg_orset *dst, const struct aeg_orset *src, struct prng *p)
{
	uint8_t buf[4096];
	aeg_orset_clear(dst);
	if (prng_below(p, 2))
		return aeg_orset_merge_walk(dst, src);
	int n = aeg_orset_encode(src, buf, sizeof(buf));
	CHECK(p, n > 0);
	n = aeg_orset_decode(dst, buf, (size_t)n);
	return n < 0 ? n : 0;
}

static void fw_compare(const struct aeg_orset *dst0, const struct aeg_orset *src,
		       struct prng *p, struct fw_counts *n)
{
	struct aeg_orset a, b;
	uint32_t cap = prng_below(p, 2) ? CAP : aeg_orset_entries(dst0) + 1 +
							(uint32_t)prng_below(p, 3);
	uint32_t elem_max = prng_below(p, 4) ? TEST_ELEM_BYTES_MAX : 4;
	assert_int_equal(aeg_orset_init(&a, cap, elem_max), 0);
	assert_int_equal(aeg_orset_init(&b, cap, elem_max), 0);
	if (fw_copy(&a, dst0, p) == 0 && fw_copy(&b, dst0, p) == 0) {
		int ea = aeg_orset_merge_walk(&a, src);
		int eb = -EAGAIN;
		/* A stale index (a decoded copy) is rebuilt at the third try. */
		for (int try = 0; try < 3 && eb == -EAGAIN; try++)
			eb = aeg_orset_merge_fast(&b, src);
		if (eb == -EAGAIN) {
			n->walked++;
			CHECK(p, aeg_orset_equal(&b, dst0)); /* untouched */
		} else {
			n->fast++;
			n->errors += eb < 0;
			CHECK(p, ea == eb);
			CHECK(p, aeg_orset_equal(&a, &b));
			CHECK(p, aeg_orset_dots_consistent(&b));
		}
	}
	aeg_orset_fini(&a);
	aeg_orset_fini(&b);
}

/* Index kept up by the mutators and the public merge, when valid. */
static void fw_check_index(const struct aeg_orset *s, struct prng *p)
{
	CHECK(p, !s->by_dot_ok || aeg_orset_dots_consistent(s));
}

static void fw_round(struct prng *p, struct fw_counts *n)
{
	struct aeg_orset s[FW_R], delta, group;
	for (unsigned r = 0; r < FW_R; r++)
		assert_int_equal(aeg_orset_init(&s[r], CAP, TEST_ELEM_BYTES_MAX), 0);
	assert_int_equal(aeg_orset_init(&delta, 2, TEST_ELEM_BYTES_MAX), 0);
	assert_int_equal(aeg_orset_init(&group, FW_GROUP_CAP, TEST_ELEM_BYTES_MAX), 0);
	for (int step = 0; step < 60; step++) {
		unsigned r = (unsigned)prng_below(p, FW_R), q = (unsigned)prng_below(p, FW_R);
		CHECK(p, fw_op(&s[r], r + 1, &delta, p) == 0);
		fw_check_index(&s[r], p);
		fw_check_index(&delta, p);
		if (aeg_orset_merge(&group, &delta) < 0 || prng_below(p, 8) == 0)
			aeg_orset_clear(&group); /* ship the group, start another */
		/* Deliver: the delta (maybe lost), sometimes a whole state. */
		if (q != r && prng_below(p, 4))
			CHECK(p, aeg_orset_merge(&s[q], &delta) == 0);
		if (prng_below(p, 10) == 0)
			CHECK(p, aeg_orset_merge(&s[q], &s[r]) == 0);
		fw_check_index(&s[q], p);
		const struct aeg_orset *srcs[] = { &delta, &group, &s[r] };
		fw_compare(&s[prng_below(p, FW_R)], srcs[prng_below(p, 3)], p, n);
	}
	for (unsigned r = 0; r < FW_R; r++)
		aeg_orset_fini(&s[r]);
	aeg_orset_fini(&delta);
	aeg_orset_fini(&group);
}

static void test_fast_vs_walk(void **state)
{
	(void)state;
	struct fw_counts n = { 0, 0, 0 };
	for (int round = 0; round < 300; round++) {
		struct prng p;
		prng_init_seed(&p, test_seed(0x0e5e8) + (uint64_t)round);
		fw_round(&p, &n);
	}
	printf("fast path %u, walked %u, fast-path errors %u\n", n.fast, n.walked, n.errors);
	/* Both paths and the error cases must actually have run. */
	assert_true(n.fast > 1000 && n.walked > 100 && n.errors > 10);
}

/* A stale index (after a decode) is rebuilt at the third small merge; the
 * first two walk. Every merge still gives the walk's result. */
static void test_index_rebuild(void **state)
{
	(void)state;
	struct aeg_orset s, t, want, delta;
	uint8_t buf[1024], e[TEST_ELEM_BYTES_MAX];
	assert_int_equal(aeg_orset_init(&s, CAP, TEST_ELEM_BYTES_MAX), 0);
	assert_int_equal(aeg_orset_init(&t, CAP, TEST_ELEM_BYTES_MAX), 0);
	assert_int_equal(aeg_orset_init(&want, CAP, TEST_ELEM_BYTES_MAX), 0);
	assert_int_equal(aeg_orset_init(&delta, 2, TEST_ELEM_BYTES_MAX), 0);
	for (unsigned k = 0; k < TEST_ELEMS; k++)
		assert_int_equal(aeg_orset_add(&s, e, test_elem(k, e), 1, NULL), 0);
	assert_true(aeg_orset_dots_consistent(&s));
	int n = aeg_orset_encode(&s, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(aeg_orset_decode(&t, buf, (size_t)n), n);
	assert_int_equal(aeg_orset_merge_walk(&want, &s), 0);
	assert_false(t.by_dot_ok);
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(aeg_orset_add(&s, e, test_elem(TEST_ELEMS + k, e), 2, &delta), 0);
		assert_int_equal(aeg_orset_merge(&t, &delta), 0);
		assert_int_equal(aeg_orset_merge_walk(&want, &delta), 0);
		assert_true(aeg_orset_equal(&t, &want) && aeg_orset_equal(&t, &s));
		assert_true(t.by_dot_ok == (k == 2));
	}
	assert_true(aeg_orset_dots_consistent(&t));
	aeg_orset_fini(&s);
	aeg_orset_fini(&t);
	aeg_orset_fini(&want);
	aeg_orset_fini(&delta);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_aliasing),
		cmocka_unit_test(test_context),
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_fast_vs_walk),
		cmocka_unit_test(test_index_rebuild),
		SM_PROPERTY_TEST_LIST,
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
