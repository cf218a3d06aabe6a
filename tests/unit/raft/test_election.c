/* Election rules: single-node and 3-node elections, one leader per term,
 * split votes, vote persistence across restart, check-quorum, pre-vote
 * against a disruptive rejoining node, the leader lease on votes, and
 * leadership transfer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "harness.h"

static void no_prevote(struct aeg_raft_config *cfg)
{
	cfg->pre_vote = false;
	cfg->check_quorum = false;
}

static void test_single_node_elects_itself(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 1, NULL);
	h_tick(&net, 1, net.nodes[1].cfg.election_ticks_max);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_LEADER);
	assert_int_equal(h_st(net.nodes[1].r).term, 1);
	assert_int_equal(h_propose(&net, 1, "x"), 0);
	assert_int_equal(h_st(net.nodes[1].r).commit, 2);  /* noop + x */
	assert_int_equal(net.nodes[1].n_applied, 2);
	h_fini(&net);
}

static void test_three_nodes_elect_one_leader(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	/* Tick everyone; the first to time out wins. */
	for (int t = 0; t < 100 && h_leader(&net) == 0; t++) {
		for (uint32_t id = 1; id <= 3; id++)
			h_tick(&net, id, 1);
		h_deliver_all(&net);
	}
	uint32_t lead = h_leader(&net);
	assert_int_not_equal(lead, 0);
	uint32_t leaders = 0;
	for (uint32_t id = 1; id <= 3; id++) {
		leaders += h_st(net.nodes[id].r).role == AEG_RAFT_LEADER;
		assert_int_equal(h_st(net.nodes[id].r).lead, lead);
		assert_int_equal(h_st(net.nodes[id].r).term, h_st(net.nodes[lead].r).term);
	}
	assert_int_equal(leaders, 1);
	/* The leader's noop commits everywhere. */
	assert_int_equal(h_st(net.nodes[lead].r).commit, 1);
	h_fini(&net);
}

static void test_split_vote_then_recovers(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 4, no_prevote);
	/* 1 and 2 campaign in term 1; 3 votes for 1, 4 votes for 2. */
	aeg_raft_campaign(net.nodes[1].r);
	aeg_raft_campaign(net.nodes[2].r);
	h_ready_all(&net);
	h_deliver(&net, 1, 3, AEG_RAFT_MSG_VOTE);
	h_deliver(&net, 2, 4, AEG_RAFT_MSG_VOTE);
	h_deliver(&net, 1, 4, AEG_RAFT_MSG_VOTE);  /* 4 already voted: rejects */
	h_deliver(&net, 2, 3, AEG_RAFT_MSG_VOTE);
	h_deliver_all(&net);
	assert_int_equal(h_leader(&net), 0);
	for (uint32_t id = 1; id <= 4; id++)
		assert_int_equal(h_st(net.nodes[id].r).term, 1);
	assert_int_equal(h_st(net.nodes[3].r).vote, 1);
	assert_int_equal(h_st(net.nodes[4].r).vote, 2);
	/* A later term resolves it. */
	uint32_t lead = h_elect(&net, 3);
	assert_int_equal(lead, 3);
	assert_int_equal(h_st(net.nodes[3].r).term, 2);
	h_fini(&net);
}

static void test_vote_survives_restart(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, no_prevote);
	aeg_raft_campaign(net.nodes[1].r);
	h_ready(&net, 1);
	h_deliver(&net, 1, 3, AEG_RAFT_MSG_VOTE);
	assert_int_equal(h_st(net.nodes[3].r).vote, 1);
	/* The hard state handed out says so, and a restarted node with it
	 * refuses a second candidate in the same term. */
	uint64_t terms[] = { 0 };
	h_restart_with_log(&net, 3, 1, 1, terms, 0, no_prevote);
	aeg_raft_campaign(net.nodes[2].r);  /* term 1 as well */
	assert_int_equal(h_st(net.nodes[2].r).term, 1);
	h_ready(&net, 2);
	h_deliver(&net, 2, 3, AEG_RAFT_MSG_VOTE);
	assert_int_equal(h_st(net.nodes[3].r).vote, 1);
	h_deliver(&net, 3, 2, AEG_RAFT_MSG_VOTE_RESP);
	assert_int_not_equal(h_st(net.nodes[2].r).role, AEG_RAFT_LEADER);
	h_fini(&net);
}

static void test_vote_needs_up_to_date_log(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, no_prevote);
	uint64_t longer[] = { 1, 1, 2 };
	uint64_t shorter[] = { 1, 1 };
	uint64_t older[] = { 1, 1, 1, 1 };
	h_restart_with_log(&net, 1, 2, 0, shorter, 2, no_prevote);
	h_restart_with_log(&net, 2, 2, 0, longer, 3, no_prevote);
	h_restart_with_log(&net, 3, 2, 0, older, 4, no_prevote);
	/* 1 (last term 1, index 2) and 3 (last term 1, index 4) are behind 2. */
	h_elect(&net, 1);
	assert_int_not_equal(h_st(net.nodes[1].r).role, AEG_RAFT_LEADER);
	assert_int_not_equal(h_st(net.nodes[2].r).vote, 1);
	assert_int_not_equal(h_st(net.nodes[3].r).vote, 1);
	uint32_t lead = h_elect(&net, 2);
	assert_int_equal(lead, 2);
	h_fini(&net);
}

static void test_check_quorum_deposes_isolated_leader(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	h_isolate(&net, 1);
	uint32_t et = net.nodes[1].cfg.election_ticks_min;
	for (uint32_t t = 0; t < 2 * et + 1; t++) {
		h_tick(&net, 1, 1);
		h_deliver_all(&net);
	}
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_FOLLOWER);
	assert_int_equal(h_st(net.nodes[1].r).term, 1);
	h_fini(&net);
}

static void test_leader_keeps_quorum_with_heartbeats(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	for (uint32_t t = 0; t < 10 * net.nodes[1].cfg.election_ticks_max; t++) {
		h_tick(&net, 1, 1);
		h_deliver_all(&net);
	}
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_LEADER);
	assert_int_equal(h_st(net.nodes[1].r).term, 1);
	h_fini(&net);
}

static void rejoin_scenario(bool pre_vote, uint64_t *leader_term_after, uint64_t *rejoiner_term)
{
	struct h_net net;
	h_init(&net, 3, pre_vote ? NULL : no_prevote);
	assert_int_equal(h_elect(&net, 1), 1);
	h_isolate(&net, 3);
	/* 3 times out over and over while cut off. */
	for (int i = 0; i < 5; i++) {
		h_tick(&net, 3, net.nodes[3].cfg.election_ticks_max);
		h_drop_all(&net);
	}
	*rejoiner_term = h_st(net.nodes[3].r).term;
	h_heal(&net);
	/* The leader keeps working; 3's next messages reach everyone. */
	for (uint32_t t = 0; t < net.nodes[1].cfg.heartbeat_ticks; t++) {
		h_tick(&net, 1, 1);
		h_tick(&net, 3, 1);
		h_deliver_all(&net);
	}
	h_tick(&net, 3, net.nodes[3].cfg.election_ticks_max);
	h_deliver_all(&net);
	*leader_term_after = h_st(net.nodes[1].r).role == AEG_RAFT_LEADER ? h_st(net.nodes[1].r).term : 0;
	h_fini(&net);
}

static void test_prevote_stops_disruptive_rejoin(void **state)
{
	(void)state;
	uint64_t lt, rt;
	rejoin_scenario(true, &lt, &rt);
	assert_int_equal(rt, 1);   /* pre-vote never bumped its term */
	assert_int_equal(lt, 1);   /* leader undisturbed */
	/* Without pre-vote (and check-quorum) the same rejoin deposes it. */
	rejoin_scenario(false, &lt, &rt);
	assert_true(rt > 1);
	assert_int_equal(lt, 0);
}

static void test_lease_ignores_vote_requests(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	/* 2 campaigns without pre-vote while 3 still hears the leader. */
	h_set_pre_vote(net.nodes[2].r, false);
	aeg_raft_campaign(net.nodes[2].r);
	h_ready(&net, 2);
	h_deliver(&net, 2, 3, AEG_RAFT_MSG_VOTE);
	assert_int_equal(h_st(net.nodes[3].r).term, 1);
	assert_int_equal(h_st(net.nodes[3].r).vote, 1);
	assert_int_equal(h_count_queued(&net, 3, 2, AEG_RAFT_MSG_VOTE_RESP), 0);
	h_fini(&net);
}

static void test_transfer_leadership(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	assert_int_equal(h_propose(&net, 1, "a"), 0);
	h_deliver_all(&net);
	assert_int_equal(aeg_raft_transfer_leader(net.nodes[1].r, 1), -EINVAL);
	assert_int_equal(aeg_raft_transfer_leader(net.nodes[2].r, 3), -EPERM);
	assert_int_equal(aeg_raft_transfer_leader(net.nodes[1].r, 3), 0);
	assert_int_equal(h_propose(&net, 1, "b"), -EBUSY);
	h_deliver_all(&net);
	assert_int_equal(h_leader(&net), 3);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_FOLLOWER);
	assert_int_equal(h_st(net.nodes[3].r).term, 2);
	assert_int_equal(h_propose(&net, 3, "c"), 0);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[1].r).commit, h_st(net.nodes[3].r).last_index);
	h_fini(&net);
}

static void test_transfer_to_lagging_follower_catches_up_first(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	h_isolate(&net, 3);
	assert_int_equal(h_propose(&net, 1, "a"), 0);
	h_deliver_all(&net);
	h_heal(&net);
	assert_true(h_st(net.nodes[3].r).last_index < h_st(net.nodes[1].r).last_index);
	assert_int_equal(aeg_raft_transfer_leader(net.nodes[1].r, 3), 0);
	assert_int_equal(h_count_queued(&net, 1, 3, AEG_RAFT_MSG_TIMEOUT_NOW), 0);
	h_deliver_all(&net);
	assert_int_equal(h_leader(&net), 3);
	h_fini(&net);
}

static void test_transfer_times_out(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	h_isolate(&net, 3);
	assert_int_equal(aeg_raft_transfer_leader(net.nodes[1].r, 3), 0);
	for (uint32_t t = 0; t < net.nodes[1].cfg.election_ticks_min; t++) {
		h_tick(&net, 1, 1);
		h_deliver_all(&net);
	}
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_LEADER);
	assert_int_equal(h_propose(&net, 1, "ok"), 0);
	h_fini(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_node_elects_itself),
		cmocka_unit_test(test_three_nodes_elect_one_leader),
		cmocka_unit_test(test_split_vote_then_recovers),
		cmocka_unit_test(test_vote_survives_restart),
		cmocka_unit_test(test_vote_needs_up_to_date_log),
		cmocka_unit_test(test_check_quorum_deposes_isolated_leader),
		cmocka_unit_test(test_leader_keeps_quorum_with_heartbeats),
		cmocka_unit_test(test_prevote_stops_disruptive_rejoin),
		cmocka_unit_test(test_lease_ignores_vote_requests),
		cmocka_unit_test(test_transfer_leadership),
		cmocka_unit_test(test_transfer_to_lagging_follower_catches_up_first),
		cmocka_unit_test(test_transfer_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
