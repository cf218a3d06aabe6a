/* ReadIndex and lease reads (§6.4). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "harness.h"

static void test_read_index_needs_quorum(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	struct aeg_raft *r = net.nodes[1].r;
	assert_int_equal(aeg_raft_read_index(r, 7), -EPERM);
	aeg_raft_campaign(r);
	h_ready(&net, 1);
	h_deliver(&net, 1, 0, AEG_RAFT_MSG_PRE_VOTE);
	h_deliver(&net, 0, 1, AEG_RAFT_MSG_PRE_VOTE_RESP);
	h_deliver(&net, 1, 0, AEG_RAFT_MSG_VOTE);
	h_deliver(&net, 0, 1, AEG_RAFT_MSG_VOTE_RESP);
	assert_int_equal(h_st(r).role, AEG_RAFT_LEADER);
	/* Nothing of its term committed yet. */
	assert_int_equal(aeg_raft_read_index(r, 7), -EAGAIN);
	h_deliver_all(&net);
	assert_int_equal(aeg_raft_read_index(r, 0), -EINVAL);
	assert_int_equal(h_propose(&net, 1, "x"), 0);
	h_deliver(&net, 1, 0, AEG_RAFT_MSG_APPEND);  /* followers have it... */
	h_drop_all(&net);                             /* ...the acks are lost */
	uint64_t commit = h_st(r).commit;
	assert_int_equal(aeg_raft_read_index(r, 7), 0);
	h_ready(&net, 1);
	assert_int_equal(net.nodes[1].n_reads, 0);
	h_deliver_all(&net);
	assert_int_equal(net.nodes[1].n_reads, 1);
	assert_int_equal(net.nodes[1].reads[0].ctx, 7);
	assert_int_equal(net.nodes[1].reads[0].index, commit);
	/* A cut-off leader gets no read state. */
	h_isolate(&net, 1);
	assert_int_equal(aeg_raft_read_index(r, 8), 0);
	h_deliver_all(&net);
	h_tick(&net, 1, h_cfg(r)->heartbeat_ticks);
	h_deliver_all(&net);
	assert_int_equal(net.nodes[1].n_reads, 1);
	h_fini(&net);
}

static void lease_on(struct aeg_raft_config *cfg)
{
	cfg->lease_read = true;
}

static void test_lease_read(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, lease_on);
	struct aeg_raft *r = net.nodes[1].r;
	for (uint32_t id = 1; id <= 3; id++)
		h_set_since_leader(net.nodes[id].r, 1000);  /* past the boot hold */
	assert_int_equal(h_elect(&net, 1), 1);
	h_tick(&net, 1, h_cfg(r)->heartbeat_ticks);
	h_deliver_all(&net);
	/* Within the lease: answered at once, without a round. */
	uint64_t hb = net.sent_by_type[AEG_RAFT_MSG_HEARTBEAT];
	assert_int_equal(aeg_raft_read_index(r, 1), 0);
	h_ready(&net, 1);
	assert_int_equal(net.nodes[1].n_reads, 1);
	assert_int_equal(net.sent_by_type[AEG_RAFT_MSG_HEARTBEAT], hb);
	/* Cut off past the lease: no answer. */
	h_isolate(&net, 1);
	h_tick(&net, 1, h_cfg(r)->election_ticks_min - 1);
	h_drop_all(&net);
	assert_int_equal(h_st(r).role, AEG_RAFT_LEADER);
	assert_int_equal(aeg_raft_read_index(r, 2), 0);
	h_ready(&net, 1);
	assert_int_equal(net.nodes[1].n_reads, 1);
	h_fini(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_index_needs_quorum),
		cmocka_unit_test(test_lease_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
