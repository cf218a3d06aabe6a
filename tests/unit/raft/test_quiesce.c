/* Quiescence (idle groups stop heartbeating, any work or the caller's
 * failure detector wakes them) and the coalesced-heartbeat frame codec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "harness.h"

static void quiet(struct aeg_raft_config *cfg)
{
	cfg->quiesce_ticks = 20;
}

static void tick_all(struct h_net *net, uint32_t ticks)
{
	for (uint32_t t = 0; t < ticks; t++) {
		for (uint32_t id = 1; id <= net->n; id++)
			h_tick(net, id, 1);
		h_deliver_all(net);
	}
}

static void test_idle_group_goes_quiet_and_wakes(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, quiet);
	assert_int_equal(h_elect(&net, 1), 1);
	assert_int_equal(h_propose(&net, 1, "a"), 0);
	h_deliver_all(&net);
	tick_all(&net, 60);
	for (uint32_t id = 1; id <= 3; id++)
		assert_true(aeg_raft_quiescent(net.nodes[id].r));
	/* Quiet: many election timeouts pass without a message or election. */
	uint64_t hb = net.sent_by_type[AEG_RAFT_MSG_HEARTBEAT];
	tick_all(&net, 10 * net.nodes[1].cfg.election_ticks_max);
	assert_int_equal(net.sent_by_type[AEG_RAFT_MSG_HEARTBEAT], hb);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_LEADER);
	assert_int_equal(h_st(net.nodes[2].r).term, 1);
	/* A proposal wakes everyone and commits. */
	assert_int_equal(h_propose(&net, 1, "b"), 0);
	h_deliver_all(&net);
	for (uint32_t id = 1; id <= 3; id++)
		assert_false(aeg_raft_quiescent(net.nodes[id].r));
	tick_all(&net, net.nodes[1].cfg.heartbeat_ticks);
	assert_int_equal(h_st(net.nodes[2].r).commit, h_st(net.nodes[1].r).last_index);
	h_fini(&net);
}

static void test_failure_detector_wakes_followers(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, quiet);
	assert_int_equal(h_elect(&net, 1), 1);
	tick_all(&net, 60);
	assert_true(aeg_raft_quiescent(net.nodes[2].r));
	/* The leader's node dies; nothing happens until the caller's
	 * node-level detector wakes the groups. */
	h_isolate(&net, 1);
	for (uint32_t t = 0; t < 5 * net.nodes[2].cfg.election_ticks_max; t++) {
		h_tick(&net, 2, 1);
		h_tick(&net, 3, 1);
		h_deliver_all(&net);
	}
	assert_int_equal(h_st(net.nodes[2].r).term, 1);
	aeg_raft_wake(net.nodes[2].r);
	aeg_raft_wake(net.nodes[3].r);
	for (uint32_t t = 0; t < 3 * net.nodes[2].cfg.election_ticks_max; t++) {
		h_tick(&net, 2, 1);
		h_tick(&net, 3, 1);
		h_deliver_all(&net);
	}
	uint32_t lead = h_st(net.nodes[2].r).role == AEG_RAFT_LEADER ? 2 :
			h_st(net.nodes[3].r).role == AEG_RAFT_LEADER ? 3 : 0;
	assert_int_not_equal(lead, 0);
	assert_true(h_st(net.nodes[lead].r).term > 1);
	h_fini(&net);
}

static void test_lagging_follower_keeps_group_awake(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, quiet);
	assert_int_equal(h_elect(&net, 1), 1);
	h_isolate(&net, 3);
	assert_int_equal(h_propose(&net, 1, "a"), 0);
	h_deliver_all(&net);
	for (uint32_t t = 0; t < 60; t++) {
		h_tick(&net, 1, 1);
		h_tick(&net, 2, 1);
		h_deliver_all(&net);
	}
	assert_false(aeg_raft_quiescent(net.nodes[1].r));
	h_heal(&net);
	tick_all(&net, 80);
	assert_true(aeg_raft_quiescent(net.nodes[1].r));
	assert_int_equal(h_st(net.nodes[3].r).last_index, h_st(net.nodes[1].r).last_index);
	h_fini(&net);
}

static void test_hb_batch_codec(void **state)
{
	(void)state;
	struct aeg_raft_hb in[3] = {
		{ .group = 7, .type = AEG_RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 3, .commit = 99, .ctx = 4 },
		{ .group = 1ull << 40, .type = AEG_RAFT_MSG_HEARTBEAT_RESP, .from = 2, .to = 1, .term = 3 },
		{ .group = 0, .type = AEG_RAFT_MSG_HEARTBEAT, .flags = AEG_RAFT_MSG_FLAG_QUIESCE,
		  .from = 1, .to = 2, .term = 1, .commit = 5 },
	}, out[3];
	uint8_t buf[128];
	int n = aeg_raft_hb_batch_encode(in, 3, buf, sizeof(buf));
	assert_true(n > 0);
	uint32_t got = 0;
	assert_int_equal(aeg_raft_hb_batch_decode(out, 3, &got, buf, (size_t)n), 0);
	assert_int_equal(got, 3);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(aeg_raft_hb_batch_decode(out, 2, &got, buf, (size_t)n), -ENOBUFS);
	for (int cut = 0; cut < n; cut++)
		assert_int_equal(aeg_raft_hb_batch_decode(out, 3, &got, buf, (size_t)cut), -EMSGSIZE);
	assert_int_equal(aeg_raft_hb_batch_encode(in, 3, buf, 10), -ENOBUFS);
	buf[n] = 0;
	assert_int_equal(aeg_raft_hb_batch_decode(out, 3, &got, buf, (size_t)n + 1), -EINVAL);
	buf[0] = 9;
	assert_int_equal(aeg_raft_hb_batch_decode(out, 3, &got, buf, (size_t)n), -EINVAL);
	/* From and to messages: a decoded heartbeat steps like the original. */
	struct aeg_raft_msg m = { .type = AEG_RAFT_MSG_APPEND };
	struct aeg_raft_hb h;
	assert_false(aeg_raft_hb_from_msg(&m, 1, &h));
	m = (struct aeg_raft_msg){ .type = AEG_RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 1, .commit = 0, .ctx = 3 };
	assert_true(aeg_raft_hb_from_msg(&m, 5, &h));
	struct aeg_raft_msg back;
	aeg_raft_hb_to_msg(&h, &back);
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(aeg_raft_step(net.nodes[2].r, &back), 0);
	assert_int_equal(h_st(net.nodes[2].r).lead, 1);
	back.flags = 8;
	assert_int_equal(aeg_raft_step(net.nodes[2].r, &back), -EINVAL);
	h_fini(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_group_goes_quiet_and_wakes),
		cmocka_unit_test(test_failure_detector_wakes_followers),
		cmocka_unit_test(test_lagging_follower_keeps_group_awake),
		cmocka_unit_test(test_hb_batch_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
