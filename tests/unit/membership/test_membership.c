/* Node and cluster states (aegis/membership.h): timeouts, recoveries, the
 * meta log's states, when data is copied, and the cluster's state. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "aegis/membership.h"

static const struct aeg_members_config CFG = { .suspect_ms = 500, .down_ms = 3000, .rereplicate_ms = 10000,
					       .healthy_after = 3 };
static struct aeg_members ms;

static void start3(uint64_t now)
{
	const uint32_t ids[] = { 1, 2, 3 };
	assert_int_equal(aeg_members_init(&ms, &CFG, 1, ids, NULL, 3, now), 0);
}

static uint8_t state_of(uint32_t id)
{
	return aeg_members_get(&ms, id)->state;
}

static void beat(uint32_t id, uint64_t now)
{
	struct aeg_member_event ev;
	assert_true(aeg_members_heard(&ms, id, now, &ev) >= 0);
}

/* Nodes 2 and 3 heard 3 times (healthy_after) by t = 300. */
static void start3_healthy(void)
{
	start3(0);
	for (uint64_t t = 100; t <= 300; t += 100)
		beat(2, t), beat(3, t);
}

static void test_forming_then_healthy(void **state)
{
	(void)state;
	start3(0);
	assert_int_equal(state_of(1), AEG_NODE_HEALTHY);
	assert_int_equal(state_of(2), AEG_NODE_STARTING);
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_FORMING);
	struct aeg_member_event ev;
	for (uint64_t t = 100; t <= 300; t += 100) {
		int rc = aeg_members_heard(&ms, 2, t, &ev);
		assert_int_equal(rc, t == 300); /* HEALTHY on the third */
		aeg_members_heard(&ms, 3, t, &ev);
	}
	assert_int_equal(ev.id, 3);
	assert_int_equal(ev.from, AEG_NODE_STARTING);
	assert_int_equal(ev.to, AEG_NODE_HEALTHY);
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_HEALTHY);
}

/* Silent 500 ms: SUSPECT, nothing to copy; heard again: HEALTHY. Silent
 * 3 s: DOWN, a quorum left (DEGRADED), its data copied after 10 s more;
 * heard again: STARTING, then HEALTHY after 3 heartbeats. */
static void test_suspect_down_and_back(void **state)
{
	(void)state;
	start3_healthy();
	struct aeg_member_event ev[4];
	beat(3, 800);
	assert_int_equal(aeg_members_tick(&ms, 850, ev, 4), 1);
	assert_int_equal(ev[0].id, 2);
	assert_int_equal(ev[0].to, AEG_NODE_SUSPECT);
	assert_false(aeg_members_needs_copy(&ms, 2, 850));
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_DEGRADED);
	assert_int_equal(aeg_members_heard(&ms, 2, 900, &ev[0]), 1);
	assert_int_equal(ev[0].to, AEG_NODE_HEALTHY);
	beat(3, 3500);
	assert_int_equal(aeg_members_tick(&ms, 3500, ev, 4), 1); /* 2: SUSPECT */
	assert_int_equal(aeg_members_tick(&ms, 3900, ev, 4), 1);
	assert_int_equal(ev[0].to, AEG_NODE_DOWN);
	beat(3, 3950);
	assert_int_equal(aeg_members_tick(&ms, 4000, ev, 4), 0); /* no repeats */
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_DEGRADED);
	assert_false(aeg_members_needs_copy(&ms, 2, 13000));
	assert_true(aeg_members_needs_copy(&ms, 2, 13900));
	beat(3, 13950);
	assert_int_equal(aeg_members_tick(&ms, 13950, ev, 4), 0); /* 2 stays DOWN */
	assert_int_equal(aeg_members_heard(&ms, 2, 14000, &ev[0]), 1);
	assert_int_equal(ev[0].to, AEG_NODE_STARTING);
	assert_false(aeg_members_needs_copy(&ms, 2, 14000));
	beat(2, 14100);
	beat(2, 14200);
	assert_int_equal(state_of(2), AEG_NODE_STARTING);
	beat(2, 14300);
	assert_int_equal(state_of(2), AEG_NODE_HEALTHY);
}

static void test_no_quorum(void **state)
{
	(void)state;
	start3_healthy();
	struct aeg_member_event ev[4];
	assert_int_equal(aeg_members_tick(&ms, 4000, ev, 4), 2);
	assert_int_equal(state_of(2), AEG_NODE_DOWN);
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_NO_QUORUM);
	/* Self is never timed out. */
	assert_int_equal(state_of(1), AEG_NODE_HEALTHY);
}

/* The meta voters move (a drained voter hands its vote to a joined node):
 * the cluster's state follows the new voters. */
static void test_voters_move(void **state)
{
	(void)state;
	start3_healthy();
	assert_int_equal(aeg_members_add(&ms, 4, false, 300), 0);
	for (uint64_t t = 400; t <= 3900; t += 100)
		beat(4, t);
	struct aeg_member_event ev[4];
	assert_int_equal(aeg_members_tick(&ms, 4000, ev, 4), 2);  /* 2 and 3 down */
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_NO_QUORUM);
	const uint32_t now_voters[] = { 1, 2, 4, 9 };  /* 9: not a member, ignored */
	assert_int_equal(aeg_members_set_voters(&ms, now_voters, 4), 2);  /* 3 out, 4 in */
	assert_false(aeg_members_get(&ms, 3)->voter);
	assert_true(aeg_members_get(&ms, 4)->voter);
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_DEGRADED);  /* 2 of 3 voters */
	assert_int_equal(aeg_members_set_voters(&ms, now_voters, 4), 0);
}

/* LEAVING and LEFT come from the meta log; heartbeats and timeouts leave
 * them alone, and a LEFT node no longer counts. */
static void test_leave_and_left(void **state)
{
	(void)state;
	start3_healthy();
	struct aeg_member_event ev[4];
	assert_int_equal(aeg_members_leave(&ms, 3, 400, &ev[0]), 1);
	assert_int_equal(ev[0].to, AEG_NODE_LEAVING);
	assert_int_equal(aeg_members_leave(&ms, 3, 400, &ev[0]), 0);
	beat(3, 500);
	beat(2, 9000);
	assert_int_equal(aeg_members_tick(&ms, 9000, ev, 4), 0);
	assert_int_equal(state_of(3), AEG_NODE_LEAVING);
	assert_int_equal(aeg_members_left(&ms, 3, 9100, &ev[0]), 1);
	assert_int_equal(aeg_members_cluster_state(&ms), AEG_CLUSTER_HEALTHY);
	assert_int_equal(aeg_members_leave(&ms, 3, 9200, &ev[0]), -EINVAL);
	assert_int_equal(aeg_members_left(&ms, 1, 9200, &ev[0]), -EINVAL);
}

static void test_join_and_bad_input(void **state)
{
	(void)state;
	start3(0);
	assert_int_equal(aeg_members_add(&ms, 4, false, 100), 0);
	assert_int_equal(aeg_members_add(&ms, 4, false, 100), -EEXIST);
	assert_int_equal(aeg_members_add(&ms, 0, false, 100), -EINVAL);
	assert_int_equal(state_of(4), AEG_NODE_STARTING);
	struct aeg_member_event ev;
	assert_int_equal(aeg_members_heard(&ms, 99, 100, &ev), -ENOENT);
	const uint32_t dup[] = { 1, 1 };
	assert_int_equal(aeg_members_init(&ms, &CFG, 1, dup, NULL, 2, 0), -EINVAL);
	const uint32_t noself[] = { 2, 3 };
	assert_int_equal(aeg_members_init(&ms, &CFG, 1, noself, NULL, 2, 0), -EINVAL);
	struct aeg_members_config bad = CFG;
	bad.down_ms = bad.suspect_ms;
	assert_int_equal(aeg_members_init(&ms, &bad, 1, dup, NULL, 1, 0), -EINVAL);
	assert_string_equal(aeg_node_state_name(AEG_NODE_SUSPECT), "suspect");
	assert_string_equal(aeg_cluster_state_name(AEG_CLUSTER_NO_QUORUM), "no_quorum");
	assert_string_equal(aeg_node_state_name(77), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forming_then_healthy),
		cmocka_unit_test(test_suspect_down_and_back),
		cmocka_unit_test(test_no_quorum),
		cmocka_unit_test(test_leave_and_left),
		cmocka_unit_test(test_voters_move),
		cmocka_unit_test(test_join_and_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
