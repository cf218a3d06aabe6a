/* lib/net neighbour table: config defaults and limits; static entries
 * never change or ask; learning with and without create; resolution of an
 * unknown address asking once per retry_ns; refresh after reachable_ns
 * still answering; forgetting after probes_max unanswered refreshes;
 * -ENOSPC when full and eviction of expired entries; a seeded random
 * comparison against a plain array model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/net.h"
#include "test_prng.h"

#define RETRY 10u
#define REACH 100u
#define PROBES 3u
#define LIFE (REACH + PROBES * RETRY)

static const struct aeg_net_mac mac1 = {{2, 0, 0, 0, 0, 1}}, mac2 = {{2, 0, 0, 0, 0, 2}};

static void table_init(struct aeg_net_neigh *t, uint32_t capacity)
{
	struct aeg_net_neigh_config c = {
		.capacity = capacity, .reachable_ns = REACH, .retry_ns = RETRY, .probes_max = PROBES,
	};
	assert_int_equal(aeg_net_neigh_init(t, &c), 0);
}

/* lookup and check: the return code, the MAC when 0, and send_request. */
static void expect(struct aeg_net_neigh *t, uint32_t ip, uint64_t now, int rc,
		   const struct aeg_net_mac *want, bool send)
{
	struct aeg_net_mac m = {{0xee, 0xee, 0xee, 0xee, 0xee, 0xee}};
	bool s = !send;
	assert_int_equal(aeg_net_neigh_lookup(t, ip, now, &m, &s), rc);
	if (rc == 0)
		assert_memory_equal(&m, want, sizeof(m));
	assert_int_equal(s, send);
}

static void test_config(void **state)
{
	(void)state;
	struct aeg_net_neigh t;
	assert_int_equal(aeg_net_neigh_init(&t, NULL), 0);
	assert_int_equal(t.cfg.capacity, 256);
	assert_int_equal(t.slot_count, 512);
	assert_int_equal(t.cfg.reachable_ns, 30000000000ull);
	assert_int_equal(t.cfg.retry_ns, 1000000000ull);
	assert_int_equal(t.cfg.probes_max, 3);
	aeg_net_neigh_fini(&t);
	static const uint32_t caps[] = {1, 2, 3, 5, 100, 1000};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		table_init(&t, caps[i]);
		assert_true(t.slot_count >= 2 * caps[i] && t.slot_count < 4 * caps[i] + 2);
		assert_int_equal(t.slot_count & (t.slot_count - 1), 0);
		aeg_net_neigh_fini(&t);
	}
	struct aeg_net_neigh_config c = {.capacity = (1u << 24) + 1};
	assert_int_equal(aeg_net_neigh_init(&t, &c), -EINVAL);
	c = (struct aeg_net_neigh_config){.probes_max = 65536};
	assert_int_equal(aeg_net_neigh_init(&t, &c), -EINVAL);
}

static void test_static(void **state)
{
	(void)state;
	struct aeg_net_neigh t;
	table_init(&t, 4);
	assert_int_equal(aeg_net_neigh_add_static(&t, 7, &mac1), 0);
	expect(&t, 7, 0, 0, &mac1, false);
	assert_int_equal(aeg_net_neigh_learn(&t, 7, &mac2, 5, true), 0);
	assert_int_equal(aeg_net_neigh_learn(&t, 7, &mac2, 5, false), 0);
	expect(&t, 7, 5, 0, &mac1, false);
	expect(&t, 7, UINT64_MAX / 2, 0, &mac1, false); /* never expires, never asks */
	assert_int_equal(t.used, 1);
	/* A static entry replaces one being resolved. */
	expect(&t, 8, 0, -EAGAIN, NULL, true);
	assert_int_equal(aeg_net_neigh_add_static(&t, 8, &mac2), 0);
	expect(&t, 8, 1, 0, &mac2, false);
	assert_int_equal(t.used, 2);
	aeg_net_neigh_fini(&t);
}

static void test_learn_create(void **state)
{
	(void)state;
	struct aeg_net_neigh t;
	table_init(&t, 4);
	assert_int_equal(aeg_net_neigh_learn(&t, 1, &mac1, 0, false), 0);
	assert_int_equal(t.used, 0); /* not created */
	assert_int_equal(aeg_net_neigh_learn(&t, 2, &mac1, 0, true), 0);
	assert_int_equal(t.used, 1);
	expect(&t, 2, 1, 0, &mac1, false);
	/* An existing entry is updated without create. */
	assert_int_equal(aeg_net_neigh_learn(&t, 2, &mac2, 2, false), 0);
	expect(&t, 2, 3, 0, &mac2, false);
	/* Unknown to the table: resolving, then answered by a reply. */
	expect(&t, 1, 3, -EAGAIN, NULL, true);
	assert_int_equal(aeg_net_neigh_learn(&t, 1, &mac1, 4, false), 0);
	expect(&t, 1, 5, 0, &mac1, false);
	assert_int_equal(t.used, 2);
	aeg_net_neigh_fini(&t);
}

static void test_resolve_rate(void **state)
{
	(void)state;
	struct aeg_net_neigh t;
	table_init(&t, 4);
	expect(&t, 9, 1000, -EAGAIN, NULL, true);
	expect(&t, 9, 1000, -EAGAIN, NULL, false);
	expect(&t, 9, 1000 + RETRY - 1, -EAGAIN, NULL, false);
	expect(&t, 9, 1000 + RETRY, -EAGAIN, NULL, true);
	expect(&t, 9, 1000 + RETRY + 1, -EAGAIN, NULL, false);
	/* Never answered: keeps asking once per retry_ns. */
	for (uint64_t k = 2; k < 20; k++) {
		expect(&t, 9, 1000 + k * RETRY, -EAGAIN, NULL, true);
		expect(&t, 9, 1000 + k * RETRY + RETRY / 2, -EAGAIN, NULL, false);
	}
	assert_int_equal(t.used, 1);
	aeg_net_neigh_fini(&t);
}

/* Stale entries still answer while refreshed; probes_max unanswered
 * refreshes forget them; an answer makes them fresh again. */
static void test_refresh_and_forget(void **state)
{
	(void)state;
	struct aeg_net_neigh t;
	table_init(&t, 4);
	assert_int_equal(aeg_net_neigh_learn(&t, 5, &mac1, 0, true), 0);
	expect(&t, 5, REACH - 1, 0, &mac1, false);
	expect(&t, 5, REACH, 0, &mac1, true);
	expect(&t, 5, REACH + 1, 0, &mac1, false);
	assert_int_equal(aeg_net_neigh_learn(&t, 5, &mac2, REACH + 2, false), 0); /* answered */
	expect(&t, 5, REACH + 3, 0, &mac2, false);
	uint64_t stale = 2 * REACH + 2;
	expect(&t, 5, stale - 1, 0, &mac2, false);
	for (unsigned probe = 0; probe < PROBES; probe++) {
		expect(&t, 5, stale + probe * RETRY, 0, &mac2, true);
		expect(&t, 5, stale + probe * RETRY + RETRY - 1, 0, &mac2, false);
	}
	expect(&t, 5, stale + PROBES * RETRY, -EAGAIN, NULL, true); /* forgotten */
	expect(&t, 5, stale + PROBES * RETRY + 1, -EAGAIN, NULL, false);
	expect(&t, 5, stale + (PROBES + 1) * RETRY, -EAGAIN, NULL, true);
	assert_int_equal(aeg_net_neigh_learn(&t, 5, &mac1, stale + 100, false), 0);
	expect(&t, 5, stale + 101, 0, &mac1, false);
	aeg_net_neigh_fini(&t);
}

static void test_full(void **state)
{
	(void)state;
	struct aeg_net_neigh t;
	struct aeg_net_mac m;
	bool send;
	table_init(&t, 4);
	assert_int_equal(aeg_net_neigh_add_static(&t, 1, &mac1), 0);
	assert_int_equal(aeg_net_neigh_learn(&t, 2, &mac1, 0, true), 0);
	assert_int_equal(aeg_net_neigh_learn(&t, 3, &mac1, 10, true), 0);
	expect(&t, 4, 20, -EAGAIN, NULL, true);
	assert_int_equal(t.used, 4);
	/* Full of live entries. */
	assert_int_equal(aeg_net_neigh_add_static(&t, 5, &mac2), -ENOSPC);
	assert_int_equal(aeg_net_neigh_learn(&t, 5, &mac2, 21, true), -ENOSPC);
	send = true;
	assert_int_equal(aeg_net_neigh_lookup(&t, 5, 21, &m, &send), -ENOSPC);
	assert_false(send);
	/* Existing entries still update when full. */
	assert_int_equal(aeg_net_neigh_learn(&t, 4, &mac2, 22, false), 0);
	expect(&t, 4, 22, 0, &mac2, false);
	/* 2 expires first (confirmed at 0): it makes room, then 3. */
	assert_int_equal(aeg_net_neigh_learn(&t, 5, &mac2, LIFE - 1, true), -ENOSPC);
	assert_int_equal(aeg_net_neigh_learn(&t, 5, &mac2, LIFE, true), 0);
	expect(&t, 5, LIFE, 0, &mac2, false);
	expect(&t, 3, LIFE, 0, &mac1, true); /* stale, still there */
	expect(&t, 6, LIFE + 10, -EAGAIN, NULL, true);  /* evicts 3 */
	expect(&t, 2, LIFE + 10, -ENOSPC, NULL, false); /* 2 is gone, no room */
	expect(&t, 1, UINT64_MAX / 2, 0, &mac1, false);  /* the static one stays */
	assert_int_equal(t.used, 4);
	aeg_net_neigh_fini(&t);
}

/* ---- model ---------------------------------------------------------- */

enum { M_INCOMPLETE = 1, M_LEARNED, M_STATIC };

struct model_entry {
	uint32_t ip;
	int state;
	struct aeg_net_mac mac;
	uint64_t confirmed, request;
	bool requested;
	unsigned probes;
};

struct model {
	struct model_entry e[32];
	unsigned n, cap;
};

static struct model_entry *model_find(struct model *m, uint32_t ip)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->e[i].ip == ip)
			return &m->e[i];
	return NULL;
}

static struct model_entry *model_add(struct model *m, uint32_t ip, int state, uint64_t now, bool evict)
{
	if (m->n == m->cap && evict) {
		int victim = -1;
		for (unsigned i = 0; i < m->n; i++) {
			struct model_entry *e = &m->e[i];
			if (e->state == M_STATIC || now - e->confirmed < LIFE)
				continue;
			if (victim < 0 || e->confirmed < m->e[victim].confirmed ||
			    (e->confirmed == m->e[victim].confirmed && e->ip < m->e[victim].ip))
				victim = (int)i;
		}
		if (victim >= 0)
			m->e[victim] = m->e[--m->n];
	}
	if (m->n == m->cap)
		return NULL;
	struct model_entry *e = &m->e[m->n++];
	*e = (struct model_entry){.ip = ip, .state = state, .confirmed = now};
	return e;
}

static int model_lookup(struct model *m, uint32_t ip, uint64_t now, struct aeg_net_mac *mac, bool *send)
{
	*send = false;
	struct model_entry *e = model_find(m, ip);
	if (e == NULL) {
		e = model_add(m, ip, M_INCOMPLETE, now, true);
		if (e == NULL)
			return -ENOSPC;
	} else if (e->state == M_STATIC || (e->state == M_LEARNED && now - e->confirmed < REACH)) {
		*mac = e->mac;
		return 0;
	}
	bool due = !e->requested || now - e->request >= RETRY;
	if (due && e->state == M_LEARNED && e->probes >= PROBES)
		*e = (struct model_entry){.ip = ip, .state = M_INCOMPLETE, .confirmed = now};
	if (due) {
		e->requested = true;
		e->request = now;
		e->probes++;
		*send = true;
	}
	if (e->state == M_INCOMPLETE)
		return -EAGAIN;
	*mac = e->mac;
	return 0;
}

static int model_learn(struct model *m, uint32_t ip, const struct aeg_net_mac *mac, uint64_t now, bool create)
{
	struct model_entry *e = model_find(m, ip);
	if (e == NULL && !create)
		return 0;
	if (e == NULL && (e = model_add(m, ip, M_LEARNED, now, true)) == NULL)
		return -ENOSPC;
	if (e->state == M_STATIC)
		return 0;
	e->state = M_LEARNED;
	e->mac = *mac;
	e->confirmed = now;
	e->probes = 0;
	return 0;
}

static int model_static(struct model *m, uint32_t ip, const struct aeg_net_mac *mac)
{
	struct model_entry *e = model_find(m, ip);
	if (e == NULL && (e = model_add(m, ip, M_STATIC, 0, false)) == NULL)
		return -ENOSPC;
	e->state = M_STATIC;
	e->mac = *mac;
	return 0;
}

/* Addresses chosen to collide: a few hundred random ones over a table of
 * 16 entries (32 slots) give long probe chains and wrap-around, and every
 * eviction exercises the backward shift. */
static void test_model(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x6e65696768);
	test_seed_print("neigh model", p.seed);
	for (int run = 0; run < 40; run++) {
		struct aeg_net_neigh t;
		struct model m = {.cap = 1 + (unsigned)prng_below(&p, 16)};
		table_init(&t, m.cap);
		uint32_t pool[48];
		unsigned pool_n = m.cap + 1 + (unsigned)prng_below(&p, 2 * m.cap + 1);
		for (unsigned i = 0; i < pool_n; i++)
			pool[i] = (uint32_t)prng_next(&p) & (prng_below(&p, 2) ? 0xffffffffu : 0x3fu);
		uint64_t now = prng_below(&p, 1000);
		for (int op = 0; op < 5000; op++) {
			uint32_t ip = pool[prng_below(&p, pool_n)];
			struct aeg_net_mac mac = {{2, 0, 0, 0, (uint8_t)prng_below(&p, 4), (uint8_t)ip}};
			uint64_t r = prng_below(&p, 100);
			now += r < 60 ? 0 : r < 90 ? prng_below(&p, RETRY) : prng_below(&p, 2 * LIFE);
			int kind = (int)prng_below(&p, 100);
			if (kind < 3) {
				CHECK(&p, aeg_net_neigh_add_static(&t, ip, &mac) == model_static(&m, ip, &mac));
			} else if (kind < 40) {
				bool create = prng_below(&p, 2);
				CHECK(&p, aeg_net_neigh_learn(&t, ip, &mac, now, create) ==
						  model_learn(&m, ip, &mac, now, create));
			} else {
				struct aeg_net_mac got = {{0}}, want = {{0}};
				bool s1, s2;
				int rc = aeg_net_neigh_lookup(&t, ip, now, &got, &s1);
				CHECK(&p, rc == model_lookup(&m, ip, now, &want, &s2));
				CHECK(&p, s1 == s2);
				CHECK(&p, rc != 0 || memcmp(&got, &want, sizeof(got)) == 0);
			}
			CHECK(&p, t.used == m.n);
		}
		aeg_net_neigh_fini(&t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_learn_create),
		cmocka_unit_test(test_resolve_rate),
		cmocka_unit_test(test_refresh_and_forget),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
