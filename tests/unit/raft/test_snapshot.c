/* Snapshots: compaction, chunked install to a lagging follower, lost
 * chunks, a snapshot racing appends, restart from a snapshot, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "harness.h"

static void small_chunks(struct aeg_raft_config *cfg)
{
	cfg->snapshot_chunk_bytes = 4;
	cfg->snapshot_bytes_max = 64;
}

static const char snap_bytes[] = "state@idx-13";  /* 12 bytes: 3 chunks */

/* Leader 1 with follower 3 cut off; 10 entries committed on 1 and 2, then
 * a snapshot at the last applied index and the log compacted. */
static void setup_lagging_with(struct h_net *net, h_cfg_fn fn)
{
	h_init(net, 3, fn);
	assert_int_equal(h_elect(net, 1), 1);
	h_isolate(net, 3);
	for (int i = 0; i < 10; i++)
		assert_int_equal(h_propose(net, 1, "entry"), 0);
	h_deliver_all(net);
	h_tick(net, 1, net->nodes[1].cfg.heartbeat_ticks);
	h_deliver_all(net);
	struct aeg_raft *r = net->nodes[1].r;
	assert_int_equal(h_st(r).commit, 11);
	assert_int_equal(h_st(r).applied, 11);
	assert_int_equal(aeg_raft_snapshot_set(r, 11, snap_bytes, 12), 0);
	assert_int_equal(aeg_raft_compact(r, 11), 0);
	assert_int_equal(h_st(r).first_index, 12);
	assert_null(aeg_raft_entry_at(r, 11));
}

/* Healed, the leader probes follower 3, which answers that it lacks the
 * compacted entries: the first chunk is queued. */
static void heal_until_first_chunk(struct h_net *net)
{
	h_heal(net);
	h_tick(net, 1, net->nodes[1].cfg.heartbeat_ticks);
	h_deliver(net, 1, 3, AEG_RAFT_MSG_HEARTBEAT);
	h_deliver(net, 3, 1, AEG_RAFT_MSG_HEARTBEAT_RESP);
	h_deliver(net, 1, 3, AEG_RAFT_MSG_APPEND);
	h_deliver(net, 3, 1, AEG_RAFT_MSG_APPEND_RESP);
}

static void setup_lagging(struct h_net *net)
{
	setup_lagging_with(net, small_chunks);
}

static void test_chunked_install(void **state)
{
	(void)state;
	struct h_net net;
	setup_lagging(&net);
	assert_int_equal(h_propose(&net, 1, "after"), 0);
	h_heal(&net);
	uint64_t snaps_before = net.sent_by_type[AEG_RAFT_MSG_SNAPSHOT];
	for (int i = 0; i < 3; i++) {
		h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
		h_deliver_all(&net);
	}
	struct h_node *f = &net.nodes[3];
	assert_int_equal(f->n_snap_installs, 1);
	assert_int_equal(f->snap_index, 11);
	assert_int_equal(f->snap_len, 12);
	assert_memory_equal(f->snap, snap_bytes, 12);
	/* 3 chunks, plus at most one resend prompted by a heartbeat answer. */
	uint64_t chunks = net.sent_by_type[AEG_RAFT_MSG_SNAPSHOT] - snaps_before;
	assert_true(chunks >= 3 && chunks <= 4);
	/* It then catches up by appends and applies only what follows. */
	assert_int_equal(h_st(f->r).last_index, 12);
	assert_int_equal(h_st(f->r).commit, 12);
	assert_int_equal(f->applied[f->n_applied - 1], 12);
	assert_int_equal(aeg_raft_progress_of(net.nodes[1].r, 3)->state, AEG_RAFT_REPLICATE);
	h_fini(&net);
}

static void test_lost_chunk_resent(void **state)
{
	(void)state;
	struct h_net net;
	setup_lagging(&net);
	heal_until_first_chunk(&net);
	/* The first chunk is lost. */
	assert_int_equal(h_count_queued(&net, 1, 3, AEG_RAFT_MSG_SNAPSHOT), 1);
	h_drop_all(&net);
	assert_int_equal(net.nodes[3].n_snap_installs, 0);
	/* The next heartbeat's answer makes the leader send it again. */
	for (int i = 0; i < 2; i++) {
		h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
		h_deliver_all(&net);
	}
	assert_int_equal(net.nodes[3].n_snap_installs, 1);
	assert_memory_equal(net.nodes[3].snap, snap_bytes, 12);
	h_fini(&net);
}

static void keep_streams(struct aeg_raft_config *cfg)
{
	small_chunks(cfg);
	cfg->snapshot_keep_streams = true;
}

static const char snap2_bytes[] = "newer@idx-12";

/* Follower 3 has the first chunk of the snapshot at 11 when the leader
 * takes one at 12: with keep_streams it still gets the one it started
 * (then 12 by an append), else it starts over with the newer one. */
static void stream_meets_new_snapshot(bool keep)
{
	struct h_net net;
	setup_lagging_with(&net, keep ? keep_streams : small_chunks);
	struct aeg_raft *r = net.nodes[1].r;
	heal_until_first_chunk(&net);
	assert_int_equal(h_deliver(&net, 1, 3, AEG_RAFT_MSG_SNAPSHOT), 1);
	assert_int_equal(h_deliver(&net, 3, 1, AEG_RAFT_MSG_APPEND_RESP), 1);
	assert_int_equal(aeg_raft_progress_of(r, 3)->snap_offset, 4);
	/* An entry committed by 1 and 2, a snapshot at it. */
	assert_int_equal(h_propose(&net, 1, "more"), 0);
	h_deliver(&net, 1, 2, AEG_RAFT_MSG_APPEND);
	h_deliver(&net, 2, 1, AEG_RAFT_MSG_APPEND_RESP);
	assert_int_equal(h_st(r).applied, 12);
	assert_int_equal(aeg_raft_snapshot_kept(r), 0);
	assert_int_equal(aeg_raft_snapshot_set(r, 12, snap2_bytes, 12), 0);
	assert_int_equal(aeg_raft_snapshot_kept(r), keep ? 11 : 0);
	for (int i = 0; i < 4; i++) {
		h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
		h_deliver_all(&net);
	}
	struct h_node *f = &net.nodes[3];
	assert_int_equal(f->n_snap_installs, 1);
	assert_int_equal(f->snap_index, keep ? 11 : 12);
	assert_memory_equal(f->snap, keep ? snap_bytes : snap2_bytes, 12);
	assert_int_equal(h_st(f->r).commit, 12);
	assert_int_equal(aeg_raft_progress_of(r, 3)->state, AEG_RAFT_REPLICATE);
	assert_int_equal(aeg_raft_snapshot_kept(r), 0);  /* the stream is over */
	h_fini(&net);
}

static void test_stream_kept_across_new_snapshot(void **state)
{
	(void)state;
	stream_meets_new_snapshot(true);
}

static void test_stream_restarts_without_keep(void **state)
{
	(void)state;
	stream_meets_new_snapshot(false);
}

static void test_snapshot_overtaken_by_appends(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, small_chunks);
	assert_int_equal(h_elect(&net, 1), 1);
	h_deliver_all(&net);
	struct aeg_raft *f = net.nodes[3].r;
	/* A stale snapshot chunk (index 1) reaches a follower that has moved on. */
	assert_int_equal(h_propose(&net, 1, "x"), 0);
	h_deliver_all(&net);
	h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
	h_deliver_all(&net);
	assert_int_equal(h_st(f).commit, 2);
	struct aeg_raft_conf conf = h_conf(net.nodes[1].r);
	struct aeg_raft_msg m = {
		.type = AEG_RAFT_MSG_SNAPSHOT, .from = 1, .to = 3, .term = h_st(f).term,
		.snap_index = 1, .snap_term = 1, .snap_total = 4, .snap_offset = 0,
		.snap_len = 4, .snap_data = (const uint8_t *)"abcd", .snap_conf = &conf,
	};
	assert_int_equal(aeg_raft_step(f, &m), 0);
	h_ready(&net, 3);
	assert_int_equal(net.nodes[3].n_snap_installs, 0);
	assert_int_equal(h_st(f).last_index, 2);
	/* A complete snapshot whose index the log already holds with the same
	 * term keeps the entries after it. */
	assert_int_equal(h_propose(&net, 1, "y"), 0);
	h_deliver(&net, 1, 3, AEG_RAFT_MSG_APPEND);
	assert_int_equal(h_st(f).last_index, 3);
	assert_int_equal(h_st(f).commit, 2);
	m.snap_index = 3;
	m.snap_term = 1;
	m.commit = 3;
	assert_int_equal(aeg_raft_step(f, &m), 0);
	h_ready(&net, 3);
	assert_int_equal(net.nodes[3].n_snap_installs, 1);
	assert_int_equal(h_st(f).first_index, 4);
	assert_int_equal(h_st(f).commit, 3);
	/* Malformed chunks are refused. */
	m.snap_offset = 2;
	assert_int_equal(aeg_raft_step(f, &m), -EINVAL);
	m.snap_offset = 0;
	m.snap_conf = NULL;
	assert_int_equal(aeg_raft_step(f, &m), -EINVAL);
	h_fini(&net);
}

static void test_restart_from_snapshot(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	aeg_raft_free(net.nodes[2].r);
	struct aeg_raft_config cfg;
	aeg_raft_config_default(&cfg, 2, 5, 10);
	struct aeg_raft_conf conf = { .n = 3, .ids = { 1, 2, 3 },
		.roles = { AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER } };
	assert_int_equal(aeg_raft_new(&net.nodes[2].r, &cfg, &conf), 0);
	struct aeg_raft *r = net.nodes[2].r;
	struct aeg_raft_hard_state hs = { .term = 3, .vote = 1, .commit = 9 };
	assert_int_equal(aeg_raft_restore_hard_state(r, &hs), 0);
	assert_int_equal(aeg_raft_restore_snapshot(r, 7, 2, &conf), 0);
	assert_int_equal(aeg_raft_restore_entry(r, 3, 8, AEG_RAFT_ENTRY_NORMAL, "a", 1), 0);
	assert_int_equal(aeg_raft_restore_entry(r, 3, 10, AEG_RAFT_ENTRY_NORMAL, "b", 1), -EINVAL);
	assert_int_equal(h_st(r).first_index, 8);
	assert_int_equal(h_st(r).commit, 8);  /* stored commit 9 clamped to the log */
	assert_int_equal(h_st(r).applied, 7);
	h_ready(&net, 2);
	assert_int_equal(net.nodes[2].n_applied, 1);
	assert_int_equal(net.nodes[2].applied[0], 8);
	h_fini(&net);
}

static void test_snapshot_set_errors(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 1, NULL);
	struct aeg_raft *r = net.nodes[1].r;
	h_tick(&net, 1, h_cfg(r)->election_ticks_max);
	assert_int_equal(h_propose(&net, 1, "x"), 0);
	assert_int_equal(h_st(r).applied, 2);
	assert_int_equal(aeg_raft_snapshot_set(r, 3, "s", 1), -EINVAL);  /* not applied */
	assert_int_equal(aeg_raft_snapshot_set(r, 2, NULL, 1), -EINVAL);
	/* Behind applied (serialized off the loop meanwhile): fine. */
	assert_int_equal(aeg_raft_snapshot_set(r, 1, "s", 1), 0);
	assert_int_equal(aeg_raft_snapshot_set(r, 2, "s", 1), 0);
	assert_int_equal(aeg_raft_snapshot_set(r, 1, "s", 1), -EINVAL);  /* older than ours */
	assert_int_equal(aeg_raft_compact(r, 3), -EINVAL);
	assert_int_equal(aeg_raft_compact(r, 2), 0);
	assert_int_equal(aeg_raft_compact(r, 1), 0);  /* already gone */
	h_fini(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked_install),
		cmocka_unit_test(test_lost_chunk_resent),
		cmocka_unit_test(test_snapshot_overtaken_by_appends),
		cmocka_unit_test(test_stream_kept_across_new_snapshot),
		cmocka_unit_test(test_stream_restarts_without_keep),
		cmocka_unit_test(test_restart_from_snapshot),
		cmocka_unit_test(test_snapshot_set_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
