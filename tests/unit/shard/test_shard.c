/* Unit tests of lib/shard: parameter checks, key -> shard (hash: balance
 * and the exact definition; range: boundaries), shard -> replicas (distinct,
 * weighted balance, preferred leaders spread, stability when a node joins
 * or leaves), addresses, and the map codec (round trip, every truncation
 * and bit flip, sizes). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <xxhash.h>

#include "aegis/hash.h"
#include "aegis/shard.h"
#include "test_prng.h"

#define NODES_MAX 256u

static struct aeg_shard_node nodes_buf[NODES_MAX];

/* Nodes id first..first+n-1 (weights from w, or 1.0). */
static const struct aeg_shard_node *make_nodes(uint32_t first, uint32_t n, const uint32_t *w)
{
	assert_true(n <= NODES_MAX);
	for (uint32_t i = 0; i < n; i++) {
		nodes_buf[i] = (struct aeg_shard_node){
			.id = first + i,
			.ipv4 = 0x0a000001u + i,
			.udp_port_base = 7000,
			.weight = w != NULL ? w[i] : AEG_HASH_WEIGHT_ONE,
		};
	}
	return nodes_buf;
}

static struct aeg_shard_map *build(uint32_t first, uint32_t nodes, const uint32_t *w,
				   uint32_t shards, uint32_t rf)
{
	struct aeg_shard_map_params p = {
		.epoch = 7, .nodes = make_nodes(first, nodes, w), .node_count = nodes,
		.shard_count = shards, .replication_factor = rf, .workers = 4,
	};
	struct aeg_shard_map *m;
	assert_int_equal(aeg_shard_map_build(&m, &p), 0);
	return m;
}

static void test_params(void **state)
{
	(void)state;
	struct aeg_shard_map_params good = {
		.epoch = 1, .nodes = make_nodes(1, 3, NULL), .node_count = 3,
		.shard_count = 16, .replication_factor = 3, .workers = 2,
	};
	struct aeg_shard_map *m;
	assert_int_equal(aeg_shard_map_build(&m, &good), 0);
	aeg_shard_map_free(m);
	struct aeg_shard_map_params p;
#define BAD(field, val)                                                \
	do {                                                           \
		p = good;                                              \
		p.field = (val);                                       \
		assert_int_equal(aeg_shard_map_build(&m, &p), -EINVAL); \
	} while (0)
	BAD(node_count, 0);
	BAD(node_count, AEG_SHARD_NODES_MAX + 1);
	BAD(shard_count, 0);
	BAD(shard_count, AEG_SHARD_COUNT_MAX + 1);
	BAD(replication_factor, 0);
	BAD(replication_factor, 4);
	BAD(workers, 0);
	BAD(workers, AEG_SHARD_WORKERS_MAX + 1);
	BAD(strategy, AEG_SHARD_STRATEGY_MAX + 1);
	BAD(strategy, AEG_SHARD_TIME); /* no bucket */
	BAD(strategy, AEG_SHARD_RANGE); /* no splits */
	BAD(nodes, NULL);
#undef BAD
	struct aeg_shard_node bad_nodes[3];
	const struct aeg_shard_node *base = make_nodes(1, 3, NULL);
	for (int k = 0; k < 5; k++) {
		memcpy(bad_nodes, base, sizeof(bad_nodes));
		switch (k) {
		case 0: bad_nodes[1].id = 0; break;
		case 1: bad_nodes[2].id = 1; break; /* duplicate */
		case 2: bad_nodes[0].weight = 0; break;
		case 3: bad_nodes[0].udp_port_base = 0; break;
		case 4: bad_nodes[0].udp_port_base = 65535; break; /* + 1 worker > 65535 */
		}
		p = good;
		p.nodes = bad_nodes;
		assert_int_equal(aeg_shard_map_build(&m, &p), -EINVAL);
	}
	/* Range splits: empty, equal, descending. */
	struct aeg_shard_split sp[3] = { { "b", 1 }, { "d", 1 }, { "f", 1 } };
	p = good;
	p.shard_count = 4;
	p.strategy = AEG_SHARD_RANGE;
	p.splits = sp;
	assert_int_equal(aeg_shard_map_build(&m, &p), 0);
	aeg_shard_map_free(m);
	sp[1].len = 0;
	assert_int_equal(aeg_shard_map_build(&m, &p), -EINVAL);
	sp[1] = (struct aeg_shard_split){ "b", 1 };
	assert_int_equal(aeg_shard_map_build(&m, &p), -EINVAL);
	sp[1] = (struct aeg_shard_split){ "a", 1 };
	assert_int_equal(aeg_shard_map_build(&m, &p), -EINVAL);
}

static void test_hash_keys(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x5a4d01);
	test_seed_print("shard_hash_keys", p.seed);
	enum { SHARDS = 16, KEYS = 160000 };
	struct aeg_shard_map *m = build(1, 3, NULL, SHARDS, 3);
	assert_int_equal(aeg_shard_map_strategy(m), AEG_SHARD_HASH);
	uint32_t count[SHARDS] = { 0 };
	for (int i = 0; i < KEYS; i++) {
		uint8_t key[24];
		size_t len = 1 + prng_below(&p, sizeof(key));
		for (size_t j = 0; j < len; j++)
			key[j] = (uint8_t)prng_next(&p);
		uint32_t s = aeg_shard_for_key(m, key, len);
		/* The definition, spelled with xxhash itself. */
		CHECK(&p, (int32_t)s == aeg_jump_hash(XXH3_64bits(key, len), SHARDS));
		count[s]++;
	}
	/* Each shard within 5% of the mean (sd is 0.8%). */
	for (int s = 0; s < SHARDS; s++)
		CHECK(&p, count[s] > KEYS / SHARDS * 95 / 100 && count[s] < KEYS / SHARDS * 105 / 100);
	/* Pinned: a change here reroutes every deployed key. */
	assert_int_equal(aeg_shard_for_key(m, "hello", 5),
			 aeg_jump_hash(XXH3_64bits("hello", 5), SHARDS));
	aeg_shard_map_free(m);
}

static void test_range_keys(void **state)
{
	(void)state;
	struct aeg_shard_split sp[3] = { { "g", 1 }, { "n", 1 }, { "t\0", 2 } };
	struct aeg_shard_map_params p = {
		.nodes = make_nodes(1, 3, NULL), .node_count = 3, .shard_count = 4,
		.replication_factor = 2, .workers = 1, .strategy = AEG_SHARD_RANGE, .splits = sp,
	};
	struct aeg_shard_map *m;
	assert_int_equal(aeg_shard_map_build(&m, &p), 0);
	struct {
		const char *key;
		size_t len;
		uint32_t shard;
	} cases[] = {
		{ "", 0, 0 },   { "a", 1, 0 },  { "fzz", 3, 0 }, { "g", 1, 1 },
		{ "g\0", 2, 1 }, { "mz", 2, 1 }, { "n", 1, 2 },  { "t", 1, 2 },
		{ "t\0", 2, 3 }, { "t\1", 2, 3 }, { "zzz", 3, 3 }, { "\xff", 1, 3 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(aeg_shard_for_key(m, cases[i].key, cases[i].len), cases[i].shard);
	struct aeg_shard_range r;
	const void *hi;
	uint32_t hi_len;
	assert_int_equal(aeg_shard_map_range_count(m), 4);
	assert_int_equal(aeg_shard_map_range(m, 3, &r, &hi, &hi_len), 0);
	assert_int_equal(r.shard, 3);
	assert_int_equal(r.lo_len, 2);
	assert_memory_equal(r.lo, "t\0", 2);
	assert_null(hi);
	assert_int_equal(aeg_shard_map_range(m, 2, &r, &hi, &hi_len), 0);
	assert_int_equal(hi_len, 2);
	assert_int_equal(aeg_shard_map_range(m, 4, &r, NULL, NULL), -EINVAL);
	aeg_shard_map_free(m);
}

static void check_codec(const struct aeg_shard_map *m);

/* Spare shards (range_count < shard_count) and new range tables: a split
 * gives a spare shard the upper part of a range, a merge gives a range to
 * its neighbour; routing, the codec and placed copies follow the table. */
static void test_range_table(void **state)
{
	(void)state;
	struct aeg_shard_split sp[2] = { { "g", 1 }, { "n", 1 } };
	struct aeg_shard_map_params p = {
		.epoch = 5, .nodes = make_nodes(1, 3, NULL), .node_count = 3, .shard_count = 6, .range_count = 3,
		.replication_factor = 3, .workers = 2, .strategy = AEG_SHARD_RANGE, .splits = sp,
	};
	struct aeg_shard_map *m, *s, *g, *bad = NULL;
	assert_int_equal(aeg_shard_map_build(&m, &p), 0);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(aeg_shard_map_active(m, i), i < 3);
	assert_int_equal(aeg_shard_for_key(m, "h", 1), 1);
	/* Split shard 1 ([g, n)) at "k" into spare shard 4. */
	struct aeg_shard_range split[] = { { 0, NULL, 0 }, { 1, "g", 1 }, { 4, "k", 1 }, { 2, "n", 1 } };
	assert_int_equal(aeg_shard_map_ranged(&s, m, 6, split, 4), 0);
	assert_int_equal(aeg_shard_map_epoch(s), 6);
	assert_true(aeg_shard_map_active(s, 4));
	assert_int_equal(aeg_shard_map_range_index(s, 4), 2);
	assert_int_equal(aeg_shard_map_range_index(s, 2), 3);
	assert_int_equal(aeg_shard_map_range_index(m, 4), UINT32_MAX);
	assert_int_equal(aeg_shard_map_range_index(m, 6), UINT32_MAX);
	const char *keys[] = { "a", "h", "jz", "k", "k\0", "mz", "n", "z" };
	const uint32_t want[] = { 0, 1, 1, 4, 4, 4, 2, 2 };
	for (int i = 0; i < 8; i++)
		assert_int_equal(aeg_shard_for_key(s, keys[i], strlen(keys[i])), want[i]);
	check_codec(s);
	/* placed() keeps the table. */
	uint32_t reps[6 * 3];
	for (uint32_t i = 0; i < 6 * 3; i++)
		reps[i] = i % 3 + 1;
	struct aeg_shard_map *pl;
	assert_int_equal(aeg_shard_map_placed(&pl, s, 7, reps, NULL, 0), 0);
	assert_int_equal(aeg_shard_for_key(pl, "kk", 2), 4);
	assert_int_equal(aeg_shard_map_range_count(pl), 4);
	aeg_shard_map_free(pl);
	/* The split as a function of the table: the same table from m's. */
	struct aeg_shard_range cur[8], cut[8];
	assert_int_equal(aeg_shard_map_ranges(m, cur, 8), 3);
	assert_int_equal(aeg_shard_map_ranges(m, cur, 2), 0);
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 1, 4, "k", 1, cut, 8), 0);
	for (int k = 0; k < 4; k++) {
		assert_int_equal(cut[k].shard, split[k].shard);
		assert_int_equal(cut[k].lo_len, split[k].lo_len);
		if (k > 0)
			assert_memory_equal(cut[k].lo, split[k].lo, split[k].lo_len);
	}
	assert_int_equal(aeg_shard_ranges_split(split, 4, 1, 4, "k", 1, cut, 8), -EALREADY);
	assert_int_equal(aeg_shard_ranges_split(split, 4, 1, 4, "j", 1, cut, 8), -EINVAL);  /* 4 has a range */
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 1, 4, "g", 1, cut, 8), -EINVAL);   /* = lo */
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 1, 4, "n", 1, cut, 8), -EINVAL);   /* = hi */
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 1, 4, "a", 1, cut, 8), -EINVAL);   /* below */
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 1, 4, "k", 1, cut, 3), -EINVAL);   /* no room */
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 5, 4, "k", 1, cut, 8), -EINVAL);   /* 5 spare */
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 1, 1, "k", 1, cut, 8), -EINVAL);
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 1, 4, "k", 0, cut, 8), -EINVAL);
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 0, 5, "\x01", 1, cut, 8), 0);     /* the first range */
	assert_int_equal(cut[1].shard, 5);
	assert_int_equal(aeg_shard_ranges_split(cur, 3, 2, 5, "zz", 2, cut, 8), 0);        /* the last (to +inf) */
	assert_int_equal(cut[3].shard, 5);
	/* Merges: shard 4 back into 1, then 1 into 0; the first range has
	 * nothing before it; a shard without a range is merged already. */
	uint32_t into;
	assert_int_equal(aeg_shard_ranges_merge(split, 4, 4, &into, cut, 8), 0);
	assert_int_equal(into, 1);
	assert_int_equal(cut[2].shard, 2);
	assert_memory_equal(cut[2].lo, "n", 1);
	assert_int_equal(aeg_shard_ranges_merge(cut, 3, 1, &into, cut, 8), 0);  /* in place: out <= r */
	assert_int_equal(into, 0);
	assert_int_equal(cut[1].shard, 2);
	assert_int_equal(aeg_shard_ranges_merge(split, 4, 0, &into, cut, 8), -EINVAL);
	assert_int_equal(aeg_shard_ranges_merge(split, 4, 5, &into, cut, 8), -EALREADY);
	assert_int_equal(aeg_shard_ranges_merge(split, 4, 4, &into, cut, 2), -EINVAL);
	/* The table's own codec. */
	uint8_t buf[64];
	int n = aeg_shard_ranges_encode(split, 4, buf, sizeof(buf));
	assert_int_equal(n, (int)aeg_shard_ranges_size(split, 4));
	struct aeg_shard_range back[8];
	uint32_t nb;
	assert_int_equal(aeg_shard_ranges_decode(buf, (size_t)n, back, 8, &nb), 0);
	assert_int_equal(nb, 4);
	assert_int_equal(back[2].shard, 4);
	assert_memory_equal(back[2].lo, "k", 1);
	assert_int_equal(aeg_shard_ranges_decode(buf, (size_t)n, back, 3, &nb), -EINVAL);
	for (int cut = 0; cut < n; cut++)
		assert_int_equal(aeg_shard_ranges_decode(buf, (size_t)cut, back, 8, &nb), -EINVAL);
	/* Merge 1 and 4 back into 0: [-inf, n) on 0. */
	struct aeg_shard_range merged[] = { { 0, NULL, 0 }, { 2, "n", 1 } };
	assert_int_equal(aeg_shard_map_ranged(&g, s, 8, merged, 2), 0);
	assert_int_equal(aeg_shard_for_key(g, "h", 1), 0);
	assert_false(aeg_shard_map_active(g, 1));
	check_codec(g);
	/* Refused: a shard twice, bounds out of order, a first bound, a
	 * shard past the count, no range, another strategy. */
	struct aeg_shard_range twice[] = { { 0, NULL, 0 }, { 0, "g", 1 } }, order[] = { { 0, NULL, 0 }, { 1, "n", 1 }, { 2, "g", 1 } },
			       first[] = { { 0, "a", 1 } }, past[] = { { 0, NULL, 0 }, { 6, "g", 1 } },
			       empty[] = { { 0, NULL, 0 }, { 1, NULL, 0 } };
	assert_int_equal(aeg_shard_map_ranged(&bad, m, 9, twice, 2), -EINVAL);
	assert_int_equal(aeg_shard_map_ranged(&bad, m, 9, order, 3), -EINVAL);
	assert_int_equal(aeg_shard_map_ranged(&bad, m, 9, first, 1), -EINVAL);
	assert_int_equal(aeg_shard_map_ranged(&bad, m, 9, past, 2), -EINVAL);
	assert_int_equal(aeg_shard_map_ranged(&bad, m, 9, empty, 2), -EINVAL);
	assert_int_equal(aeg_shard_map_ranged(&bad, m, 9, split, 0), -EINVAL);
	assert_null(bad);
	struct aeg_shard_map *h = build(1, 3, NULL, 4, 3);
	assert_int_equal(aeg_shard_map_ranged(&bad, h, 9, merged, 2), -EINVAL);
	assert_true(aeg_shard_map_active(h, 3));
	p.range_count = 7;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	aeg_shard_map_free(h), aeg_shard_map_free(g), aeg_shard_map_free(s), aeg_shard_map_free(m);
}

static void test_replicas_balance(void **state)
{
	(void)state;
	enum { NODES = 10, SHARDS = 10000, RF = 3 };
	uint32_t w[NODES] = { 2000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000 };
	for (int weighted = 0; weighted < 2; weighted++) {
		struct aeg_shard_map *m = build(1, NODES, weighted ? w : NULL, SHARDS, RF);
		uint32_t reps[NODES + 1] = { 0 }, leads[NODES + 1] = { 0 };
		for (uint32_t s = 0; s < SHARDS; s++) {
			uint32_t n;
			const uint32_t *r = aeg_shard_replicas(m, s, &n);
			assert_int_equal(n, RF);
			for (uint32_t i = 0; i < n; i++) {
				assert_true(r[i] >= 1 && r[i] <= NODES);
				assert_true(aeg_shard_has_replica(m, s, r[i]));
				for (uint32_t j = 0; j < i; j++)
					assert_int_not_equal(r[i], r[j]);
				reps[r[i]]++;
			}
			leads[r[0]]++;
		}
		/* Replicas follow weight (within 10%): weight 2 of 11 total, but
		 * a node can hold at most one replica a shard, so its share is
		 * capped at 1/RF of replicas; it still must hold more. */
		double unit = (double)SHARDS * RF / (weighted ? 11 : 10);
		for (uint32_t id = 2; id <= NODES; id++)
			assert_true(reps[id] > unit * 0.9 && reps[id] < unit * 1.1);
		if (weighted)
			assert_true(reps[1] > reps[2] * 1.5 && reps[1] <= SHARDS);
		/* Preferred leaders: within 1 of exact shares per weight. */
		double lunit = (double)SHARDS / (weighted ? 11 : 10);
		for (uint32_t id = 1; id <= NODES; id++) {
			double want = lunit * (weighted && id == 1 ? 2 : 1);
			printf("node %u: %u replicas, %u leaders (%.0f wanted)\n", id, reps[id],
			       leads[id], want);
			assert_true(leads[id] >= want - 2 && leads[id] <= want + 2);
		}
		aeg_shard_map_free(m);
	}
}

/* Rendezvous: adding node 11 changes only shards that node 11 joins, each
 * by one replica; removing node 5 changes only shards that held it. */
static void test_stability(void **state)
{
	(void)state;
	enum { SHARDS = 3000, RF = 3 };
	struct aeg_shard_map *a = build(1, 10, NULL, SHARDS, RF);
	struct aeg_shard_map *b = build(1, 11, NULL, SHARDS, RF);
	uint32_t moved = 0;
	for (uint32_t s = 0; s < SHARDS; s++) {
		uint32_t in_a = 0, n;
		const uint32_t *rb = aeg_shard_replicas(b, s, &n);
		for (uint32_t i = 0; i < n; i++)
			in_a += aeg_shard_has_replica(a, s, rb[i]);
		if (in_a == RF)
			continue;
		moved++;
		assert_int_equal(in_a, RF - 1);
		assert_true(aeg_shard_has_replica(b, s, 11));
	}
	double expect = (double)SHARDS * RF / 11;
	printf("adding 1 node to 10: %u of %u shards move one replica (%.0f expected)\n", moved,
	       SHARDS, expect);
	assert_true(moved > expect * 0.85 && moved < expect * 1.15);
	/* Remove node 5 (build 1..4 and 6..10 as one list). */
	struct aeg_shard_node list[9];
	memcpy(list, make_nodes(1, 10, NULL), 4 * sizeof(list[0]));
	memcpy(list + 4, make_nodes(1, 10, NULL) + 5, 5 * sizeof(list[0]));
	struct aeg_shard_map_params p = { .nodes = list, .node_count = 9, .shard_count = SHARDS,
					  .replication_factor = RF, .workers = 4 };
	struct aeg_shard_map *c;
	assert_int_equal(aeg_shard_map_build(&c, &p), 0);
	for (uint32_t s = 0; s < SHARDS; s++) {
		if (aeg_shard_has_replica(a, s, 5))
			continue;
		uint32_t n;
		const uint32_t *ra = aeg_shard_replicas(a, s, &n);
		for (uint32_t i = 0; i < n; i++)
			assert_true(aeg_shard_has_replica(c, s, ra[i]));
	}
	aeg_shard_map_free(a);
	aeg_shard_map_free(b);
	aeg_shard_map_free(c);
}

static void test_addr(void **state)
{
	(void)state;
	struct aeg_shard_map *m = build(5, 3, NULL, 16, 2);
	assert_int_equal(aeg_shard_map_workers(m), 4);
	assert_int_equal(aeg_shard_map_epoch(m), 7);
	assert_int_equal(aeg_shard_map_shard_count(m), 16);
	assert_int_equal(aeg_shard_map_replication_factor(m), 2);
	uint32_t ip;
	uint16_t port;
	assert_int_equal(aeg_shard_addr(m, 13, 6, &ip, &port), 0);
	assert_int_equal(ip, 0x0a000002u);
	assert_int_equal(port, 7000 + 13 % 4);
	assert_int_equal(aeg_shard_addr(m, 13, 99, &ip, &port), -ENOENT);
	assert_int_equal(aeg_shard_addr(m, 16, 6, &ip, &port), -EINVAL);
	uint32_t n = 9;
	assert_null(aeg_shard_replicas(m, 16, &n));
	assert_int_equal(n, 0);
	assert_false(aeg_shard_has_replica(m, 16, 5));
	assert_null(aeg_shard_map_node(m, 4));
	assert_int_equal(aeg_shard_map_node(m, 7)->ipv4, 0x0a000003u);
	assert_int_equal(aeg_shard_group(0), 1);
	assert_int_equal(aeg_shard_worker(13, 4), 1);
	aeg_shard_map_free(m);
}

static uint8_t *encode(const struct aeg_shard_map *m, size_t *len)
{
	*len = aeg_shard_map_encoded_size(m);
	uint8_t *buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(aeg_shard_map_encode(m, buf, *len - 1), -EMSGSIZE);
	assert_int_equal(aeg_shard_map_encode(m, buf, *len + 1), (int)*len);
	return buf;
}

/* decode(encode(m)) encodes to the same bytes and routes the same. */
static void round_trip(const struct aeg_shard_map *m, const uint8_t *buf, size_t len)
{
	struct aeg_shard_map *d;
	assert_int_equal(aeg_shard_map_decode(&d, buf, len), 0);
	size_t len2;
	uint8_t *again = encode(d, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, buf, len);
	assert_int_equal(aeg_shard_map_epoch(d), aeg_shard_map_epoch(m));
	for (uint32_t s = 0; s < aeg_shard_map_shard_count(m); s++) {
		uint32_t na, nb;
		const uint32_t *ra = aeg_shard_replicas(m, s, &na);
		const uint32_t *rb = aeg_shard_replicas(d, s, &nb);
		assert_int_equal(na, nb);
		assert_memory_equal(ra, rb, na * sizeof(*ra));
	}
	for (uint32_t k = 0; k < 1000; k++) {
		char key[16];
		int n = snprintf(key, sizeof(key), "%c%u", 'a' + k % 26, k);
		assert_int_equal(aeg_shard_for_key(m, key, (size_t)n),
				 aeg_shard_for_key(d, key, (size_t)n));
	}
	free(again);
	aeg_shard_map_free(d);
}

/* Round trip, every truncation (-EMSGSIZE), a trailing byte and every bit
 * flip (-EINVAL or -EMSGSIZE). */
static void check_codec(const struct aeg_shard_map *m)
{
	size_t len;
	uint8_t *buf = encode(m, &len);
	round_trip(m, buf, len);
	struct aeg_shard_map *d;
	for (size_t n = 0; n < len; n++)
		assert_int_equal(aeg_shard_map_decode(&d, buf, n), -EMSGSIZE);
	buf[len] = 0;
	assert_int_equal(aeg_shard_map_decode(&d, buf, len + 1), -EINVAL);
	for (size_t bit = 0; bit < len * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = aeg_shard_map_decode(&d, buf, len);
		assert_true(rc == -EINVAL || rc == -EMSGSIZE);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(buf);
}

static void test_codec(void **state)
{
	(void)state;
	struct aeg_shard_split sp[3] = { { "g", 1 }, { "nn", 2 }, { "t", 1 } };
	struct aeg_shard_map_params p = {
		.epoch = 1ull << 40, .nodes = make_nodes(3, 5, NULL), .node_count = 5,
		.shard_count = 4, .replication_factor = 3, .workers = 2,
		.strategy = AEG_SHARD_RANGE, .splits = sp,
	};
	struct aeg_shard_map *maps[2];
	assert_int_equal(aeg_shard_map_build(&maps[0], &p), 0);
	maps[1] = build(1, 4, NULL, 9, 2);
	for (int k = 0; k < 2; k++) {
		check_codec(maps[k]);
		aeg_shard_map_free(maps[k]);
	}
}

static void test_sizes(void **state)
{
	(void)state;
	const uint32_t nodes[] = { 3, 100, 200 };
	for (int i = 0; i < 3; i++) {
		struct aeg_shard_map *m = build(1, nodes[i], NULL, 10000, 3);
		size_t len;
		uint8_t *buf = encode(m, &len);
		printf("shard map: 10000 shards x 3 replicas on %u nodes: %zu bytes\n", nodes[i],
		       len);
		assert_true(len < (nodes[i] < 128 ? 31000u : 61000u));
		round_trip(m, buf, len);
		free(buf);
		aeg_shard_map_free(m);
	}
}

/* A map with the meta records' placement: same nodes and routing, the
 * given replicas and epoch, and it travels through the codec as it is. */
static void test_placed(void **state)
{
	(void)state;
	struct aeg_shard_map *m = build(1, 4, NULL, 8, 3), *p = NULL, *d = NULL;
	uint32_t reps[8 * 3];
	for (uint32_t s = 0; s < 8; s++)
		for (uint32_t k = 0; k < 3; k++)
			reps[s * 3 + k] = (s + k) % 4 + 1;
	assert_int_equal(aeg_shard_map_placed(&p, m, 42, reps, NULL, 0), 0);
	assert_int_equal(aeg_shard_map_epoch(p), 42);
	assert_int_equal(aeg_shard_map_shard_count(p), 8);
	for (uint32_t s = 0; s < 8; s++) {
		uint32_t n;
		const uint32_t *r = aeg_shard_replicas(p, s, &n);
		assert_int_equal(n, 3);
		assert_memory_equal(r, reps + s * 3, 3 * sizeof(uint32_t));
		assert_int_equal(aeg_shard_for_key(p, &s, sizeof(s)), aeg_shard_for_key(m, &s, sizeof(s)));
	}
	uint8_t buf[4096];
	int len = aeg_shard_map_encode(p, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(aeg_shard_map_decode(&d, buf, (size_t)len), 0);
	assert_int_equal(aeg_shard_map_epoch(d), 42);
	uint32_t n;
	assert_memory_equal(aeg_shard_replicas(d, 5, &n), reps + 15, 3 * sizeof(uint32_t));
	aeg_shard_map_free(d);
	aeg_shard_map_free(p);
	reps[4] = 9;  /* not a node */
	assert_int_equal(aeg_shard_map_placed(&p, m, 43, reps, NULL, 0), -EINVAL);
	assert_null(p);
	reps[4] = reps[3];  /* twice in one shard */
	assert_int_equal(aeg_shard_map_placed(&p, m, 43, reps, NULL, 0), -EINVAL);
	aeg_shard_map_free(m);
}

/* Nodes joined after the cluster formed: in the map (replicas may name
 * them, the codec carries them), the meta voters stay the founders'. */
static void test_placed_joined(void **state)
{
	(void)state;
	struct aeg_shard_map *m = build(1, 4, NULL, 8, 3), *p = NULL;
	uint32_t meta[5], meta_p[5];
	assert_int_equal(aeg_shard_map_meta_voters(m, meta, 5), 3);
	uint32_t reps[8 * 3];
	for (uint32_t s = 0; s < 8; s++)
		for (uint32_t k = 0; k < 3; k++)
			reps[s * 3 + k] = (s + k) % 6 + 1;  /* nodes 5 and 6 are the joined ones */
	struct aeg_shard_node joined[2] = {
		{ .id = 6, .ipv4 = 0x0a000006, .udp_port_base = 7100, .weight = 1000 },
		{ .id = 5, .ipv4 = 0x0a000005, .udp_port_base = 7100, .weight = 1000 },
	};
	assert_int_equal(aeg_shard_map_placed(&p, m, 50, reps, NULL, 0), -EINVAL);  /* 5, 6 unknown */
	assert_null(p);
	assert_int_equal(aeg_shard_map_placed(&p, m, 50, reps, joined, 2), 0);
	uint32_t n;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(p, &n);
	assert_int_equal(n, 6);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(nodes[i].id, i + 1);  /* sorted */
	assert_int_equal(aeg_shard_map_node(p, 5)->ipv4, 0x0a000005);
	assert_int_equal(aeg_shard_map_meta_voters(p, meta_p, 5), 3);  /* 6 nodes would make 5 */
	assert_memory_equal(meta, meta_p, 3 * sizeof(uint32_t));
	uint32_t ip;
	uint16_t port;
	assert_int_equal(aeg_shard_addr(p, 4, 6, &ip, &port), 0);
	assert_int_equal(ip, 0x0a000006);
	uint8_t buf[4096];
	int len = aeg_shard_map_encode(p, buf, sizeof(buf));
	struct aeg_shard_map *d = NULL;
	assert_true(len > 0);
	assert_int_equal(aeg_shard_map_decode(&d, buf, (size_t)len), 0);
	assert_memory_equal(aeg_shard_replicas(d, 4, &n), reps + 12, 3 * sizeof(uint32_t));
	aeg_shard_map_free(d);
	aeg_shard_map_free(p);
	joined[1].id = 4;  /* already a node */
	assert_int_equal(aeg_shard_map_placed(&p, m, 51, reps, joined, 2), -EINVAL);
	joined[1].id = 5;
	joined[1].weight = 0;
	assert_int_equal(aeg_shard_map_placed(&p, m, 51, reps, joined, 2), -EINVAL);
	aeg_shard_map_free(m);
}

static struct aeg_shard_map *build_strategy(enum aeg_shard_strategy st, const struct aeg_shard_assign *a,
					     uint32_t n, uint64_t bucket)
{
	struct aeg_shard_map_params p = {
		.epoch = 3, .nodes = make_nodes(1, 4, NULL), .node_count = 4, .shard_count = 8,
		.replication_factor = 3, .workers = 2, .strategy = st, .assign = a, .assign_count = n,
		.time_bucket = bucket,
	};
	struct aeg_shard_map *m = NULL;
	assert_int_equal(aeg_shard_map_build(&m, &p), 0);
	return m;
}

static uint32_t key_shard(const struct aeg_shard_map *m, const char *key)
{
	return aeg_shard_for_key(m, key, strlen(key));
}

/* list: exact assignments first, then the longest prefix, else hash;
 * round_robin: "<shard>/..." keys; time: leading decimal times by bucket.
 * Each survives the codec and aeg_shard_map_placed, and bad parameters are
 * refused. */
static void test_strategies(void **state)
{
	(void)state;
	struct aeg_shard_map *h = build_strategy(AEG_SHARD_HASH, NULL, 0, 0);
	struct aeg_shard_assign a[] = {
		{ "tenant:acme:", 12, 5, true }, { "tenant:", 7, 2, true }, { "tenant:acme:boss", 16, 7, false },
		{ "hot", 3, 1, false }, { "tenant:acme:", 12, 6, false }, { "t", 1, 4, true },
	};
	struct aeg_shard_map *l = build_strategy(AEG_SHARD_LIST, a, 6, 0);
	assert_int_equal(aeg_shard_map_assign_count(l), 6);
	assert_int_equal(key_shard(l, "tenant:acme:boss"), 7);   /* exact beats prefixes */
	assert_int_equal(key_shard(l, "tenant:acme:bossy"), 5);  /* the longest prefix */
	assert_int_equal(key_shard(l, "tenant:acme:"), 6);       /* exact, though also a prefix */
	assert_int_equal(key_shard(l, "tenant:other"), 2);
	assert_int_equal(key_shard(l, "tenan"), 4);              /* "t" */
	assert_int_equal(key_shard(l, "hot"), 1);
	assert_int_equal(key_shard(l, "hotter"), key_shard(h, "hotter")); /* exact only: the rest by hash */
	assert_int_equal(key_shard(l, "zebra"), key_shard(h, "zebra"));
	struct aeg_shard_assign first;
	assert_int_equal(aeg_shard_map_assign(l, 0, &first), 0);
	assert_int_equal(first.len, 3);  /* "hot" sorts first */
	assert_int_equal(aeg_shard_map_assign(l, 6, &first), -EINVAL);

	struct aeg_shard_map *r = build_strategy(AEG_SHARD_ROUND_ROBIN, NULL, 0, 0);
	assert_int_equal(key_shard(r, "3/a"), 3);
	assert_int_equal(key_shard(r, "0/"), 0);
	assert_int_equal(key_shard(r, "7/x/y"), 7);
	const char *by_hash[] = { "8/a", "03/a", "3", "3a/b", "/3", "", "99999999999999999999/a" };
	for (uint32_t i = 0; i < sizeof(by_hash) / sizeof(by_hash[0]); i++)
		assert_int_equal(key_shard(r, by_hash[i]), key_shard(h, by_hash[i]));

	struct aeg_shard_map *t = build_strategy(AEG_SHARD_TIME, NULL, 0, 3600);
	assert_int_equal(aeg_shard_map_time_bucket(t), 3600);
	assert_int_equal(key_shard(t, "0"), 0);
	assert_int_equal(key_shard(t, "3599/x"), 0);
	assert_int_equal(key_shard(t, "3600"), 1);
	assert_int_equal(key_shard(t, "1700000000.5"), (1700000000 / 3600) % 8);
	assert_int_equal(key_shard(t, "1700003600-ev"), (1700003600 / 3600 % 8));
	const char *t_hash[] = { "x1700000000", "01700000000", "12345678901234567890", "" };
	for (uint32_t i = 0; i < sizeof(t_hash) / sizeof(t_hash[0]); i++)
		assert_int_equal(key_shard(t, t_hash[i]), key_shard(h, t_hash[i]));

	/* The codec and placed copies keep what routes. */
	struct aeg_shard_map *maps[] = { l, r, t };
	for (uint32_t k = 0; k < 3; k++) {
		check_codec(maps[k]);
		size_t len;
		uint8_t *buf = encode(maps[k], &len);
		struct aeg_shard_map *d;
		assert_int_equal(aeg_shard_map_decode(&d, buf, len), 0);
		assert_int_equal(aeg_shard_map_strategy(d), aeg_shard_map_strategy(maps[k]));
		assert_int_equal(key_shard(d, "tenant:acme:bossy"), key_shard(maps[k], "tenant:acme:bossy"));
		assert_int_equal(key_shard(d, "1700003600-ev"), key_shard(maps[k], "1700003600-ev"));
		assert_int_equal(key_shard(d, "5/ev"), key_shard(maps[k], "5/ev"));
		aeg_shard_map_free(d);
		free(buf);
		uint32_t reps[8 * 3];
		for (uint32_t s = 0; s < 8; s++)
			for (uint32_t j = 0; j < 3; j++)
				reps[s * 3 + j] = (s + j) % 4 + 1;
		struct aeg_shard_map *p = NULL;
		assert_int_equal(aeg_shard_map_placed(&p, maps[k], 9, reps, NULL, 0), 0);
		assert_int_equal(key_shard(p, "tenant:acme:boss"), key_shard(maps[k], "tenant:acme:boss"));
		assert_int_equal(key_shard(p, "1700003600-ev"), key_shard(maps[k], "1700003600-ev"));
		assert_int_equal(key_shard(p, "6/ev"), key_shard(maps[k], "6/ev"));
		assert_int_equal(aeg_shard_map_time_bucket(p), aeg_shard_map_time_bucket(maps[k]));
		assert_int_equal(aeg_shard_map_assign_count(p), aeg_shard_map_assign_count(maps[k]));
		aeg_shard_map_free(p);
	}

	/* Refused: a key twice, a shard past the count, an empty key, a time
	 * map without a bucket, a bucket or assignments on other strategies. */
	struct aeg_shard_map_params p = {
		.epoch = 3, .nodes = make_nodes(1, 4, NULL), .node_count = 4, .shard_count = 8,
		.replication_factor = 3, .workers = 2, .strategy = AEG_SHARD_LIST, .assign = a, .assign_count = 6,
	};
	struct aeg_shard_map *bad = NULL;
	struct aeg_shard_assign twice[] = { { "k", 1, 1, false }, { "k", 1, 2, false } };
	p.assign = twice, p.assign_count = 2;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	struct aeg_shard_assign past[] = { { "k", 1, 8, false } }, empty[] = { { "", 0, 1, false } };
	p.assign = past, p.assign_count = 1;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	p.assign = empty;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	p.assign = a, p.assign_count = 6, p.strategy = AEG_SHARD_HASH;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	p.assign_count = 0, p.strategy = AEG_SHARD_TIME;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	p.strategy = AEG_SHARD_HASH, p.time_bucket = 60;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	p.strategy = AEG_SHARD_STRATEGY_MAX + 1;
	assert_int_equal(aeg_shard_map_build(&bad, &p), -EINVAL);
	assert_null(bad);
	aeg_shard_map_free(h), aeg_shard_map_free(l), aeg_shard_map_free(r), aeg_shard_map_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placed),
		cmocka_unit_test(test_placed_joined),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_hash_keys),
		cmocka_unit_test(test_range_keys),
		cmocka_unit_test(test_replicas_balance),
		cmocka_unit_test(test_stability),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_strategies),
		cmocka_unit_test(test_range_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
