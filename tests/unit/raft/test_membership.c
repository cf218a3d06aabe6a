/* Membership: joint consensus (adding, replacing and removing voters, the
 * leader included), both quorums during the joint phase, learners, the
 * one-change-at-a-time rule, the config codec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "harness.h"

#define V AEG_RAFT_MEMBER_VOTER
#define L AEG_RAFT_MEMBER_LEARNER

static struct aeg_raft_conf conf_of(const uint32_t *ids, const uint8_t *roles, uint32_t n)
{
	struct aeg_raft_conf c = { .n = n };
	for (uint32_t i = 0; i < n; i++) {
		c.ids[i] = ids[i];
		c.roles[i] = roles[i];
	}
	return c;
}

static uint8_t role(const struct aeg_raft *r, uint32_t id)
{
	for (uint32_t i = 0; i < h_conf(r).n; i++)
		if (h_conf(r).ids[i] == id)
			return h_conf(r).roles[i];
	return 0;
}

static void settle(struct h_net *net, uint32_t lead)
{
	for (int i = 0; i < 4; i++) {
		h_deliver_all(net);
		h_tick(net, lead, net->nodes[lead].cfg.heartbeat_ticks);
	}
	h_deliver_all(net);
}

static void test_add_voter_through_joint(void **state)
{
	(void)state;
	struct h_net net;
	h_init_voters(&net, 4, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	struct aeg_raft *r = net.nodes[1].r;
	struct aeg_raft_conf target = conf_of((uint32_t[]){ 1, 2, 3, 4 }, (uint8_t[]){ V, V, V, V }, 4);
	assert_int_equal(aeg_raft_propose_conf(r, &target), 0);
	assert_int_equal(aeg_raft_propose_conf(r, &target), -EBUSY);
	h_deliver_all(&net);
	/* Applied joint: 4 is an incoming voter, 1-3 in both configs; the
	 * leader has already proposed leaving it. */
	assert_int_equal(role(r, 4) & AEG_RAFT_MEMBER_VOTER_OUT, 0);
	settle(&net, 1);
	for (uint32_t id = 1; id <= 4; id++) {
		assert_int_equal(h_conf(net.nodes[id].r).n, 4);
		for (uint32_t j = 1; j <= 4; j++)
			assert_int_equal(role(net.nodes[id].r, j), V);
	}
	assert_int_equal(h_st(net.nodes[4].r).last_index, h_st(r).last_index);
	assert_int_equal(h_propose(&net, 1, "after"), 0);
	h_isolate(&net, 2);
	h_isolate(&net, 3);
	h_deliver_all(&net);
	uint64_t c = h_st(r).commit;
	assert_true(c < h_st(r).last_index);  /* 2 of 4 is not a majority any more */
	h_fini(&net);
}

static void test_joint_needs_both_majorities(void **state)
{
	(void)state;
	struct h_net net;
	h_init_voters(&net, 5, 3, NULL);
	assert_int_equal(h_elect(&net, 3), 3);
	struct aeg_raft *r = net.nodes[3].r;
	struct aeg_raft_conf target = conf_of((uint32_t[]){ 3, 4, 5 }, (uint8_t[]){ V, V, V }, 3);
	/* The joint entry commits in the old config {1,2,3}; with 4 and 5 cut
	 * off, nothing after it can: the leave entry needs {3,4,5} too. */
	h_isolate(&net, 4);
	h_isolate(&net, 5);
	assert_int_equal(aeg_raft_propose_conf(r, &target), 0);
	h_deliver_all(&net);
	assert_true(role(r, 1) & AEG_RAFT_MEMBER_VOTER_OUT);
	assert_true(role(r, 4) & AEG_RAFT_MEMBER_VOTER);
	uint64_t c = h_st(r).commit;
	assert_int_equal(h_propose(&net, 3, "x"), 0);
	h_deliver_all(&net);
	h_tick(&net, 3, h_cfg(r)->heartbeat_ticks);
	h_deliver_all(&net);
	/* {1,2,3} all have it, but {3,4,5} has only 3. */
	assert_int_equal(h_st(r).commit, c);
	h_heal(&net);
	settle(&net, 3);
	assert_int_equal(h_st(r).commit, h_st(r).last_index);
	assert_int_equal(h_conf(r).n, 3);
	assert_int_equal(role(r, 1), 0);
	assert_int_equal(role(r, 5), V);
	h_fini(&net);
}

static void test_remove_leader(void **state)
{
	(void)state;
	struct h_net net;
	h_init_voters(&net, 3, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	struct aeg_raft_conf target = conf_of((uint32_t[]){ 2, 3 }, (uint8_t[]){ V, V }, 2);
	assert_int_equal(aeg_raft_propose_conf(net.nodes[1].r, &target), 0);
	settle(&net, 1);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_FOLLOWER);
	assert_int_equal(h_conf(net.nodes[2].r).n, 2);
	/* The others elect a leader; 1 can no longer campaign. */
	aeg_raft_campaign(net.nodes[1].r);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_FOLLOWER);
	h_set_since_leader(net.nodes[2].r, 1000);
	h_set_since_leader(net.nodes[3].r, 1000);
	uint32_t lead = h_elect(&net, 2);
	assert_int_equal(lead, 2);
	assert_int_equal(h_propose(&net, 2, "y"), 0);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[2].r).commit, h_st(net.nodes[2].r).last_index);
	h_fini(&net);
}

static void test_learner(void **state)
{
	(void)state;
	struct h_net net;
	h_init_voters(&net, 4, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	struct aeg_raft *r = net.nodes[1].r;
	struct aeg_raft_conf target = conf_of((uint32_t[]){ 1, 2, 3, 4 }, (uint8_t[]){ V, V, V, L }, 4);
	uint64_t last = h_st(r).last_index;
	assert_int_equal(aeg_raft_propose_conf(r, &target), 0);
	settle(&net, 1);
	/* No joint phase: one conf entry. */
	assert_int_equal(h_st(r).last_index, last + 1);
	assert_int_equal(role(r, 4), L);
	assert_int_equal(h_st(net.nodes[4].r).last_index, h_st(r).last_index);
	/* It does not count: leader + learner is no quorum. */
	h_isolate(&net, 2);
	h_isolate(&net, 3);
	uint64_t c = h_st(r).commit;
	assert_int_equal(h_propose(&net, 1, "z"), 0);
	settle(&net, 1);
	assert_int_equal(h_st(r).commit, c);
	assert_int_equal(h_st(net.nodes[4].r).last_index, h_st(r).last_index);
	/* Nor does it campaign. */
	h_tick(&net, 4, net.nodes[4].cfg.election_ticks_max * 3);
	assert_int_equal(h_st(net.nodes[4].r).role, AEG_RAFT_FOLLOWER);
	/* Check-quorum may depose 1 meanwhile (a learner is no quorum). */
	h_heal(&net);
	settle(&net, 1);
	for (uint32_t id = 1; id <= 4; id++)
		h_set_since_leader(net.nodes[id].r, 1000);
	if (h_st(r).role != AEG_RAFT_LEADER)
		assert_int_equal(h_elect(&net, 1), 1);
	settle(&net, 1);
	assert_int_equal(h_st(r).role, AEG_RAFT_LEADER);
	/* Promote it: a voter change, through joint. */
	target.roles[3] = V;
	assert_int_equal(aeg_raft_propose_conf(r, &target), 0);
	settle(&net, 1);
	assert_int_equal(role(r, 4), V);
	h_fini(&net);
}

static void test_propose_conf_errors(void **state)
{
	(void)state;
	struct h_net net;
	h_init_voters(&net, 3, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	struct aeg_raft *r = net.nodes[1].r;
	struct aeg_raft_conf t = conf_of((uint32_t[]){ 1, 2 }, (uint8_t[]){ V, V }, 2);
	assert_int_equal(aeg_raft_propose_conf(net.nodes[2].r, &t), -EPERM);
	struct aeg_raft_conf bad = conf_of((uint32_t[]){ 1, 1 }, (uint8_t[]){ V, V }, 2);
	assert_int_equal(aeg_raft_propose_conf(r, &bad), -EINVAL);
	bad = conf_of((uint32_t[]){ 1, 2 }, (uint8_t[]){ V, AEG_RAFT_MEMBER_VOTER_OUT }, 2);
	assert_int_equal(aeg_raft_propose_conf(r, &bad), -EINVAL);
	bad = conf_of((uint32_t[]){ 1, 2 }, (uint8_t[]){ L, L }, 2);
	assert_int_equal(aeg_raft_propose_conf(r, &bad), -EINVAL);  /* no voter */
	bad = conf_of((uint32_t[]){ 0 }, (uint8_t[]){ V }, 1);
	assert_int_equal(aeg_raft_propose_conf(r, &bad), -EINVAL);
	assert_int_equal(aeg_raft_propose_conf(r, NULL), -EINVAL);
	h_fini(&net);
}

static void test_conf_codec(void **state)
{
	(void)state;
	struct aeg_raft_conf c = conf_of((uint32_t[]){ 7, 300, 2 },
		(uint8_t[]){ V, L, AEG_RAFT_MEMBER_VOTER_OUT | L }, 3), d;
	uint8_t buf[64];
	int n = aeg_raft_conf_encode(&c, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(aeg_raft_conf_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.n, 3);
	assert_memory_equal(d.ids, c.ids, sizeof(uint32_t) * 3);
	assert_memory_equal(d.roles, c.roles, 3);
	assert_int_equal(aeg_raft_conf_encode(&c, buf, 3), -ENOBUFS);
	for (int cut = 0; cut < n; cut++)
		assert_int_equal(aeg_raft_conf_decode(&d, buf, (size_t)cut), -EMSGSIZE);
	buf[n] = 0;
	assert_int_equal(aeg_raft_conf_decode(&d, buf, (size_t)n + 1), -EINVAL);  /* trailing */
	struct aeg_raft_conf dup = conf_of((uint32_t[]){ 5, 5 }, (uint8_t[]){ V, V }, 2);
	n = aeg_raft_conf_encode(&dup, buf, sizeof(buf));
	assert_int_equal(aeg_raft_conf_decode(&d, buf, (size_t)n), -EINVAL);
	uint8_t huge[] = { 17 };
	assert_int_equal(aeg_raft_conf_decode(&d, huge, 1), -EINVAL);
	uint8_t badrole[] = { 1, 1, 0x10 };
	assert_int_equal(aeg_raft_conf_decode(&d, badrole, 3), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_voter_through_joint),
		cmocka_unit_test(test_joint_needs_both_majorities),
		cmocka_unit_test(test_remove_leader),
		cmocka_unit_test(test_learner),
		cmocka_unit_test(test_propose_conf_errors),
		cmocka_unit_test(test_conf_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
