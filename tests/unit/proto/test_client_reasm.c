/* Client value reassembly: values split by aeg_client_part_nth come back
 * byte for byte under seeded loss, reordering, duplication and
 * interleaving; a lost part completes after a resend; every refusal is
 * returned and counted; slots are bounded (eviction of the oldest, expiry
 * by the caller's clock, drop). */
#include "proto_fixture.h"

#include "aegis/client_reasm.h"

#define SEED_DEFAULT 0x4ea5e3b1ull
#define VALUE_MAX 65536
#define SLOTS 4

static uint64_t mem[(2 * SLOTS * (VALUE_MAX + 1024)) / 8];

static void init(struct aeg_client_reasm *r, uint32_t slots, uint32_t parts_max)
{
	struct aeg_client_reasm_cfg cfg = {.slots = slots, .value_bytes_max = VALUE_MAX,
					   .parts_max = parts_max, .timeout_ms = 100};
	size_t need = aeg_client_reasm_mem_bytes(&cfg);
	assert_true(need > 0 && need <= sizeof(mem));
	assert_int_equal(aeg_client_reasm_init(r, &cfg, mem, need), 0);
}

static int add_nth(struct aeg_client_reasm *r, uint64_t b, const uint8_t *value,
		   uint32_t total, uint32_t L, uint32_t i, uint64_t now,
		   struct aeg_client_reasm_done *done)
{
	uint32_t len;
	struct aeg_client_part p = aeg_client_part_nth(total, L, i, &len);
	return aeg_client_reasm_add(r, 7, b, 0xabc, &p, value + p.offset, len, now, done);
}

static void test_init(void **state)
{
	(void)state;
	struct aeg_client_reasm r;
	struct aeg_client_reasm_cfg bad[] = {
		{.slots = 0, .value_bytes_max = 100, .parts_max = 2},
		{.slots = 1, .value_bytes_max = AEG_CLIENT_VALUE_BYTES_MAX + 1, .parts_max = 2},
		{.slots = 1, .value_bytes_max = 100, .parts_max = 1},
		{.slots = 1, .value_bytes_max = 100, .parts_max = 101},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(aeg_client_reasm_mem_bytes(&bad[i]), 0);
		assert_int_equal(aeg_client_reasm_init(&r, &bad[i], mem, sizeof(mem)), -EINVAL);
	}
	struct aeg_client_reasm_cfg cfg = {.slots = 2, .value_bytes_max = 1000, .parts_max = 70};
	size_t need = aeg_client_reasm_mem_bytes(&cfg);
	/* Two bitmap words per slot for 70 parts, and the values. */
	assert_true(need >= 2 * (1000 + 16));
	assert_int_equal(aeg_client_reasm_init(&r, &cfg, mem, need - 1), -EINVAL);
	assert_int_equal(aeg_client_reasm_init(&r, &cfg, (uint8_t *)mem + 4, need), -EINVAL);
	assert_int_equal(aeg_client_reasm_init(&r, &cfg, NULL, need), -EINVAL);
	assert_int_equal(aeg_client_reasm_init(&r, &cfg, mem, need), 0);
}

static void test_split(void **state)
{
	(void)state;
	assert_int_equal(aeg_client_part_count(0, 10), 1);
	assert_int_equal(aeg_client_part_count(10, 10), 1);
	assert_int_equal(aeg_client_part_count(11, 10), 2);
	assert_int_equal(aeg_client_part_count(AEG_CLIENT_VALUE_BYTES_MAX, 1), AEG_CLIENT_VALUE_BYTES_MAX);
	for (uint32_t total = 11; total < 200; total += 7) {
		for (uint32_t L = 1; L < total; L += 3) {
			uint32_t n = aeg_client_part_count(total, L), next = 0, len;
			for (uint32_t i = 0; i < n; i++) {
				struct aeg_client_part p = aeg_client_part_nth(total, L, i, &len);
				assert_int_equal(p.offset, next);
				assert_true(len >= 1 && len <= L);
				assert_int_equal(p.count, n);
				assert_int_equal(p.total, total);
				next += len;
			}
			assert_int_equal(next, total);
		}
	}
}

/* Values of random sizes and part lengths, their parts shuffled together,
 * some duplicated and some lost; lost ones are resent whole afterwards.
 * A duplicate that arrives after its value completed opens a new slot
 * (the reassembler cannot tell it from a resend, which must be able to
 * complete again): those are left to expiry, so there are twice as many
 * slots as values. */
static void property_once(struct prng *p)
{
	enum { VALUES = SLOTS };
	static uint8_t values[VALUES][VALUE_MAX];
	static struct { uint8_t v; uint32_t i; } sched[2 * VALUES * 256 + 16];
	uint32_t total[VALUES], L[VALUES], n[VALUES];
	bool done_seen[VALUES] = {0}, lost_any[VALUES] = {0};
	struct aeg_client_reasm r;
	init(&r, 2 * SLOTS, 256);
	size_t ns = 0;
	for (int v = 0; v < VALUES; v++) {
		total[v] = 2 + (uint32_t)prng_below(p, VALUE_MAX - 1);
		uint32_t lmin = total[v] / 255 + 1;
		L[v] = lmin + (uint32_t)prng_below(p, total[v] - lmin);
		n[v] = aeg_client_part_count(total[v], L[v]);
		CHECK(p, n[v] >= 2 && n[v] <= 256);
		for (uint32_t k = 0; k < total[v]; k++)
			values[v][k] = (uint8_t)prng_next(p);
		for (uint32_t i = 0; i < n[v]; i++) {
			uint32_t copies = prng_below(p, 10) == 0 ? 0 : prng_below(p, 8) == 0 ? 2 : 1;
			lost_any[v] |= copies == 0;
			for (uint32_t c = 0; c < copies; c++)
				sched[ns].v = (uint8_t)v, sched[ns++].i = i;
		}
	}
	for (size_t k = ns; k > 1; k--) { /* Fisher-Yates */
		size_t j = prng_below(p, k);
		__typeof__(sched[0]) t = sched[k - 1];
		sched[k - 1] = sched[j], sched[j] = t;
	}
	uint64_t now = 0;
	for (int round = 0; round < 2; round++) {
		for (size_t k = 0; k < ns; k++) {
			int v = sched[k].v;
			struct aeg_client_reasm_done d;
			int rc = add_nth(&r, (uint64_t)v, values[v], total[v], L[v], sched[k].i,
					 now++, &d);
			CHECK(p, rc == 0 || rc == 1 || rc == -EEXIST);
			if (rc == 1) {
				CHECK(p, d.b == (uint64_t)v && d.a == 7);
				CHECK(p, d.meta == 0xabc && d.len == total[v]);
				CHECK(p, memcmp(d.value, values[v], total[v]) == 0);
				done_seen[v] = true;
			}
		}
		for (int v = 0; v < VALUES; v++)
			CHECK(p, done_seen[v] == (round == 1 || !lost_any[v]));
		/* The resend: every part of the incomplete values, in order. */
		ns = 0;
		for (int v = 0; v < VALUES; v++)
			for (uint32_t i = 0; i < n[v] && !done_seen[v]; i++)
				sched[ns].v = (uint8_t)v, sched[ns++].i = i;
	}
	CHECK(p, r.stats.completed >= VALUES && r.stats.evicted == 0);
	CHECK(p, r.stats.overlaps == 0 && r.stats.inconsistent == 0);
	/* Leftovers (late duplicates) go at the timeout (the exact bound is
	 * checked by test_slots_bounded). */
	CHECK(p, aeg_client_reasm_expire(&r, now + 100) == r.stats.timed_out);
	CHECK(p, r.used == 0);
}

static void test_property(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, SEED_DEFAULT);
	test_seed_print("client_reasm loss/reorder/duplication", p.seed);
	for (int i = 0; i < 60; i++)
		property_once(&p);
}

static void test_refusals(void **state)
{
	(void)state;
	static uint8_t v[1000];
	struct aeg_client_reasm r;
	struct aeg_client_reasm_done d;
	init(&r, SLOTS, 16);
	assert_int_equal(add_nth(&r, 1, v, 1000, 100, 3, 0, &d), 0);
	assert_int_equal(add_nth(&r, 1, v, 1000, 100, 3, 0, &d), -EEXIST);
	assert_int_equal(r.stats.duplicates, 1);
	/* Another part length for the same value: off the layout. */
	assert_int_equal(add_nth(&r, 1, v, 1000, 99, 4, 0, &d), -EPROTO); /* count 11 != 10 */
	struct aeg_client_part p = {.index = 4, .count = 10, .total = 1000, .offset = 401};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 1, 0xabc, &p, v, 100, 0, &d), -EBADMSG);
	p.offset = 400;
	assert_int_equal(aeg_client_reasm_add(&r, 7, 1, 0xabc, &p, v, 99, 0, &d), -EBADMSG);
	assert_int_equal(r.stats.overlaps, 2);
	/* Inconsistent with the first part: total, meta. */
	p = (struct aeg_client_part){.index = 4, .count = 10, .total = 999, .offset = 400};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 1, 0xabc, &p, v, 100, 0, &d), -EPROTO);
	p.total = 1000;
	assert_int_equal(aeg_client_reasm_add(&r, 7, 1, 0xabd, &p, v, 100, 0, &d), -EPROTO);
	assert_int_equal(r.stats.inconsistent, 3);
	/* A first part off any layout: the last part not at a multiple. */
	p = (struct aeg_client_part){.index = 2, .count = 3, .total = 250, .offset = 201};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 2, 0, &p, v, 49, 0, &d), -EBADMSG);
	/* A middle part whose length cannot make the total in count parts. */
	p = (struct aeg_client_part){.index = 0, .count = 3, .total = 250, .offset = 0};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 2, 0, &p, v, 50, 0, &d), -EBADMSG);
	/* Limits of the configuration. */
	p = (struct aeg_client_part){.index = 0, .count = 2, .total = VALUE_MAX + 1};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 3, 0, &p, v, 10, 0, &d), -EMSGSIZE);
	p = (struct aeg_client_part){.index = 0, .count = 17, .total = 170};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 3, 0, &p, v, 10, 0, &d), -E2BIG);
	assert_int_equal(r.stats.too_large, 1);
	assert_int_equal(r.stats.too_many_parts, 1);
	/* Not parts at all. */
	p = (struct aeg_client_part){.index = 0, .count = 1, .total = 10};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 3, 0, &p, v, 10, 0, &d), -EINVAL);
	p = (struct aeg_client_part){.index = 0, .count = 2, .total = 10, .offset = 5};
	assert_int_equal(aeg_client_reasm_add(&r, 7, 3, 0, &p, v, 6, 0, &d), -EINVAL);
	/* Refusals opened no slot: only value 1 is held. */
	assert_int_equal(r.used, 1);
	/* The held value still completes with its own layout. */
	int rc = 0;
	for (uint32_t i = 0; i < 10; i++)
		if (i != 3)
			rc = add_nth(&r, 1, v, 1000, 100, i, 1, &d);
	assert_int_equal(rc, 1);
	assert_int_equal(r.used, 0);
}

/* The last part first fixes the layout too. */
static void test_last_part_first(void **state)
{
	(void)state;
	static uint8_t v[1000];
	for (int i = 0; i < 1000; i++)
		v[i] = (uint8_t)(i * 7);
	struct aeg_client_reasm r;
	struct aeg_client_reasm_done d;
	init(&r, 1, 16);
	for (uint32_t i = 0; i < 9; i++)
		assert_int_equal(add_nth(&r, 1, v, 950, 100, 9 - i, 0, &d), 0);
	assert_int_equal(add_nth(&r, 1, v, 950, 100, 0, 0, &d), 1);
	assert_int_equal(d.len, 950);
	assert_memory_equal(d.value, v, 950);
}

static void test_slots_bounded(void **state)
{
	(void)state;
	static uint8_t v[1000];
	struct aeg_client_reasm r;
	struct aeg_client_reasm_done d;
	init(&r, 2, 16);
	assert_int_equal(add_nth(&r, 1, v, 1000, 100, 0, 10, &d), 0);
	assert_int_equal(add_nth(&r, 2, v, 1000, 100, 0, 20, &d), 0);
	assert_int_equal(add_nth(&r, 1, v, 1000, 100, 1, 30, &d), 0); /* 1 is newer now */
	assert_int_equal(add_nth(&r, 3, v, 1000, 100, 0, 40, &d), 0);  /* evicts 2 */
	assert_int_equal(r.stats.evicted, 1);
	assert_int_equal(r.used, 2);
	/* 2's part is the first of a new slot again (evicting 1, at 30). */
	assert_int_equal(add_nth(&r, 2, v, 1000, 100, 0, 50, &d), 0);
	assert_int_equal(r.stats.evicted, 2);
	assert_int_equal(add_nth(&r, 1, v, 1000, 100, 1, 60, &d), 0); /* not a duplicate: new slot */
	assert_int_equal(r.stats.duplicates, 0);
	/* Expiry by the caller's clock: 3 (40) and 2 (50) at 140 and 150. */
	assert_int_equal(aeg_client_reasm_expire(&r, 139), 0);
	assert_int_equal(aeg_client_reasm_expire(&r, 145), 0); /* 3 was evicted by 1 */
	assert_int_equal(aeg_client_reasm_expire(&r, 150), 1);
	assert_int_equal(aeg_client_reasm_expire(&r, 5), 0); /* clock went back */
	assert_int_equal(r.used, 1);
	assert_int_equal(aeg_client_reasm_drop(&r, 7, 1), 1);
	assert_int_equal(aeg_client_reasm_drop(&r, 7, 1), 0);
	assert_int_equal(r.used, 0);
	assert_int_equal(r.stats.timed_out, 1);
	assert_int_equal(r.stats.dropped, 1);
}

/* A 1 MiB value over default-size datagrams: ~750 parts. */
static void test_one_mib(void **state)
{
	(void)state;
	static uint8_t v[1u << 20];
	static uint64_t big[((1u << 20) + 4096) / 8];
	struct prng p;
	prng_init(&p, SEED_DEFAULT + 1);
	for (size_t i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)prng_next(&p);
	uint32_t L = (uint32_t)aeg_client_req_part_max(AEG_CLIENT_DGRAM_BYTES_DEFAULT, 16);
	uint32_t n = aeg_client_part_count(sizeof(v), L);
	struct aeg_client_reasm_cfg cfg = {.slots = 1, .value_bytes_max = sizeof(v),
					   .parts_max = 1024, .timeout_ms = 1000};
	assert_true(n > 700 && n <= cfg.parts_max);
	struct aeg_client_reasm r;
	assert_true(aeg_client_reasm_mem_bytes(&cfg) <= sizeof(big));
	assert_int_equal(aeg_client_reasm_init(&r, &cfg, big, sizeof(big)), 0);
	struct aeg_client_reasm_done d;
	static uint32_t order[1024];
	for (uint32_t k = 0; k < n; k++)
		order[k] = k;
	for (uint32_t k = n; k > 1; k--) {
		uint32_t j = (uint32_t)prng_below(&p, k), t = order[k - 1];
		order[k - 1] = order[j], order[j] = t;
	}
	int rc = 0;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = order[k];
		uint32_t len;
		struct aeg_client_part pt = aeg_client_part_nth(sizeof(v), L, i, &len);
		rc = aeg_client_reasm_add(&r, 1, 2, 3, &pt, v + pt.offset, len, k, &d);
		if (rc < 0)
			fail_msg("part %u: %d", i, rc);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(d.len, sizeof(v));
	assert_memory_equal(d.value, v, sizeof(v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_last_part_first),
		cmocka_unit_test(test_slots_bounded),
		cmocka_unit_test(test_one_mib),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
