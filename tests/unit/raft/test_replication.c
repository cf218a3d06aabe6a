/* Log replication rules: batching, commit on a quorum, the leader counting
 * itself only once persisted, the Figure 8 scenario (§5.4.2), conflicting
 * follower logs (Figure 7) with fast back-off, stale leaders, the in-flight
 * window, stale persistence reports and the error codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static void no_prevote(struct aeg_raft_config *cfg)
{
	cfg->pre_vote = false;
	cfg->check_quorum = false;
}

static void assert_logs_equal(struct h_net *net, uint32_t a, uint32_t b)
{
	const struct aeg_raft *ra = net->nodes[a].r, *rb = net->nodes[b].r;
	assert_int_equal(h_st(ra).last_index, h_st(rb).last_index);
	for (uint64_t i = h_st(ra).first_index; i <= h_st(ra).last_index; i++) {
		const struct aeg_raft_entry *ea = aeg_raft_entry_at(ra, i);
		const struct aeg_raft_entry *eb = aeg_raft_entry_at(rb, i);
		assert_non_null(ea);
		assert_non_null(eb);
		assert_int_equal(ea->term, eb->term);
		assert_int_equal(ea->len, eb->len);
		assert_memory_equal(ea->data, eb->data, ea->len);
	}
}

static void test_batch_in_one_append(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	struct aeg_raft_payload batch[100];
	char bufs[100][8];
	for (int i = 0; i < 100; i++) {
		int len = snprintf(bufs[i], sizeof(bufs[i]), "v%d", i);
		batch[i] = (struct aeg_raft_payload){ .data = bufs[i], .len = (uint32_t)len };
	}
	uint64_t first = 0;
	uint64_t appends_before = net.sent_by_type[AEG_RAFT_MSG_APPEND];
	assert_int_equal(aeg_raft_propose(net.nodes[1].r, batch, 100, &first), 0);
	assert_int_equal(first, 2);
	h_ready(&net, 1);
	/* One append per follower carries the whole batch. */
	assert_int_equal(net.sent_by_type[AEG_RAFT_MSG_APPEND] - appends_before, 2);
	assert_int_equal(net.q[net.qn - 1].m->n_entries, 100);
	h_deliver_all(&net);
	for (uint32_t id = 1; id <= 3; id++) {
		assert_int_equal(h_st(net.nodes[id].r).commit, 101);
		assert_int_equal(net.nodes[id].n_applied, 101);
	}
	assert_logs_equal(&net, 1, 2);
	assert_logs_equal(&net, 1, 3);
	h_fini(&net);
}

static void test_commit_needs_quorum(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 5, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	uint64_t c0 = h_st(net.nodes[1].r).commit;
	h_isolate(&net, 3);
	h_isolate(&net, 4);
	h_isolate(&net, 5);
	assert_int_equal(h_propose(&net, 1, "x"), 0);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[1].r).commit, c0);  /* 2 of 5 */
	h_heal(&net);
	h_isolate(&net, 5);
	h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[1].r).commit, c0 + 1);  /* 4 of 5 */
	h_fini(&net);
}

static void test_leader_counts_itself_only_when_persisted(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	uint64_t c0 = h_st(net.nodes[1].r).commit;
	net.nodes[1].hold_persist = true;
	h_isolate(&net, 3);
	assert_int_equal(h_propose(&net, 1, "x"), 0);
	/* The append leaves before the leader's own write is durable. */
	assert_int_equal(h_count_queued(&net, 1, 2, AEG_RAFT_MSG_APPEND), 1);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[2].r).last_index, c0 + 1);
	assert_int_equal(h_st(net.nodes[1].r).commit, c0);  /* 2 acked, leader not durable */
	net.nodes[1].hold_persist = false;
	h_persist(&net, 1);
	assert_int_equal(h_st(net.nodes[1].r).commit, c0 + 1);
	h_fini(&net);
}

/* Figure 8 of the Raft paper: an entry of an old term stored on a majority
 * must not be committed by counting, since a later leader may replace it. */
static void test_figure8_old_term_not_committed(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 5, no_prevote);
	uint64_t s12[] = { 1, 2 }, s34[] = { 1 }, s5[] = { 1, 3 };
	h_restart_with_log(&net, 1, 3, 0, s12, 2, no_prevote);
	h_restart_with_log(&net, 2, 3, 0, s12, 2, no_prevote);
	h_restart_with_log(&net, 3, 3, 0, s34, 1, no_prevote);
	h_restart_with_log(&net, 4, 3, 0, s34, 1, no_prevote);
	h_restart_with_log(&net, 5, 3, 0, s5, 2, no_prevote);
	/* S1 wins term 4 with S2, S3 (S5's last term 3 rejects it). */
	aeg_raft_campaign(net.nodes[1].r);
	h_ready(&net, 1);
	h_deliver(&net, 1, 2, AEG_RAFT_MSG_VOTE);
	h_deliver(&net, 1, 3, AEG_RAFT_MSG_VOTE);
	/* Its term-4 noop (index 3) will not be durable on S1; the appends
	 * reach S2 and S3 only, so index 2 (term 2) sits on S1, S2, S3. */
	net.nodes[1].hold_persist = true;
	h_deliver(&net, 0, 1, AEG_RAFT_MSG_VOTE_RESP);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_LEADER);
	assert_int_equal(h_st(net.nodes[1].r).term, 4);
	h_drop_all(&net);
	h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
	h_isolate(&net, 4);
	h_isolate(&net, 5);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[3].r).last_index, 3);
	assert_int_equal(aeg_raft_entry_at(net.nodes[3].r, 2)->term, 2);
	assert_int_equal(h_st(net.nodes[1].r).commit, 0);  /* index 2 is term 2: not by counting */
	/* Once the term-4 entry is on a quorum, both commit. */
	h_persist(&net, 1);
	assert_int_equal(h_st(net.nodes[1].r).commit, 3);
	h_fini(&net);
}

/* The other half of Figure 8: S5 can still win and overwrite index 2, which
 * is why it was not committed. */
static void test_figure8_old_term_entry_replaced(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 5, no_prevote);
	uint64_t s123[] = { 1, 2 }, s4[] = { 1 }, s5[] = { 1, 3 };
	for (uint32_t id = 1; id <= 3; id++)
		h_restart_with_log(&net, id, 4, 0, s123, 2, no_prevote);
	h_restart_with_log(&net, 4, 4, 0, s4, 1, no_prevote);
	h_restart_with_log(&net, 5, 4, 0, s5, 2, no_prevote);
	assert_int_equal(h_elect(&net, 5), 5);  /* votes of S2, S3, S4 */
	h_deliver_all(&net);
	for (uint32_t id = 1; id <= 4; id++)
		assert_logs_equal(&net, 5, id);
	assert_int_equal(aeg_raft_entry_at(net.nodes[1].r, 2)->term, 3);
	h_fini(&net);
}

/* Figure 7: followers missing entries, with extra uncommitted entries, or
 * both, all converge to the leader's log; fast back-off skips whole terms. */
static void test_figure7_conflicting_logs(void **state)
{
	(void)state;
	static const uint64_t leader[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6 };
	static const uint64_t fa[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6 };
	static const uint64_t fc[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6 };
	static const uint64_t fd[] = { 1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7 };
	static const uint64_t fe[] = { 1, 1, 1, 4, 4, 4, 4 };
	static const uint64_t ff[] = { 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3 };
	const uint64_t *logs[] = { fa, fc, fd, fe, ff };
	const uint32_t lens[] = { 9, 11, 12, 7, 11 };
	for (int k = 0; k < 5; k++) {
		struct h_net net;
		h_init(&net, 3, no_prevote);
		h_restart_with_log(&net, 1, 8, 0, leader, 10, no_prevote);
		h_restart_with_log(&net, 2, 8, 0, logs[k], lens[k], no_prevote);
		h_restart_with_log(&net, 3, 8, 0, leader, 10, no_prevote);
		/* 1 wins with 3's vote alone (2's log may be "longer"). */
		aeg_raft_campaign(net.nodes[1].r);
		h_ready(&net, 1);
		h_deliver(&net, 1, 3, AEG_RAFT_MSG_VOTE);
		h_deliver(&net, 3, 1, AEG_RAFT_MSG_VOTE_RESP);
		assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_LEADER);
		uint64_t appends_before = net.sent_by_type[AEG_RAFT_MSG_APPEND];
		h_deliver_all(&net);
		if (h_st(net.nodes[2].r).last_index != h_st(net.nodes[1].r).last_index)
			fprintf(stderr, "case %d: last %llu vs %llu, queued %u\n", k,
				(unsigned long long)h_st(net.nodes[2].r).last_index,
				(unsigned long long)h_st(net.nodes[1].r).last_index, net.qn);
		assert_logs_equal(&net, 1, 2);
		/* Back-off by term: a handful of probes, not one per entry. */
		uint64_t appends = net.sent_by_type[AEG_RAFT_MSG_APPEND] - appends_before;
		assert_true(appends <= 8);
		h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
		h_deliver_all(&net);
		assert_int_equal(h_st(net.nodes[2].r).commit, 11);
		h_fini(&net);
	}
}

static void test_stale_leader_steps_down_and_is_overwritten(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, NULL);
	assert_int_equal(h_elect(&net, 1), 1);
	h_isolate(&net, 1);
	assert_int_equal(h_propose(&net, 1, "lost"), 0);
	uint64_t stale_index = h_st(net.nodes[1].r).last_index;
	h_drop_all(&net);
	h_heal(&net);
	h_isolate(&net, 1);
	h_set_since_leader(net.nodes[2].r, 1000);  /* its lease on 1 is over */
	h_set_since_leader(net.nodes[3].r, 1000);
	assert_int_equal(h_elect(&net, 2), 2);
	assert_int_equal(h_propose(&net, 2, "kept"), 0);
	h_deliver_all(&net);
	/* The old leader cannot commit on its own. */
	assert_true(h_st(net.nodes[1].r).commit < stale_index);
	h_heal(&net);
	h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
	h_tick(&net, 2, net.nodes[2].cfg.heartbeat_ticks);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[1].r).role, AEG_RAFT_FOLLOWER);
	assert_int_equal(h_st(net.nodes[1].r).lead, 2);
	assert_logs_equal(&net, 2, 1);
	const struct aeg_raft_entry *e = aeg_raft_entry_at(net.nodes[1].r, stale_index);
	assert_int_equal(e->term, 2);
	h_fini(&net);
}

static void small_window(struct aeg_raft_config *cfg)
{
	cfg->inflight_max = 4;
	cfg->batch_entries_max = 1;
}

static void test_inflight_window_and_probe(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, small_window);
	assert_int_equal(h_elect(&net, 1), 1);
	const struct aeg_raft_progress *pr = aeg_raft_progress_of(net.nodes[1].r, 2);
	assert_int_equal(pr->state, AEG_RAFT_REPLICATE);
	for (int i = 0; i < 10; i++)
		assert_int_equal(h_propose(&net, 1, "e"), 0);
	/* Pipelined, but never more than the window. */
	assert_int_equal(h_count_queued(&net, 1, 2, AEG_RAFT_MSG_APPEND), 4);
	assert_int_equal(pr->infl_count, 4);
	h_deliver_all(&net);
	assert_int_equal(h_st(net.nodes[2].r).last_index, 11);
	assert_int_equal(pr->infl_count, 0);
	/* A rejection sends the follower back to probe: one message at a time. */
	h_isolate(&net, 2);
	h_drop_all(&net);
	for (int i = 0; i < 3; i++)
		assert_int_equal(h_propose(&net, 1, "p"), 0);
	h_drop_all(&net);
	h_heal(&net);
	struct aeg_raft_msg rej = {
		.type = AEG_RAFT_MSG_APPEND_RESP, .from = 2, .to = 1,
		.term = h_st(net.nodes[1].r).term, .reject = true, .index = 12, .hint = 11,
		.log_term = h_st(net.nodes[1].r).term,
	};
	assert_int_equal(aeg_raft_step(net.nodes[1].r, &rej), 0);
	assert_int_equal(pr->state, AEG_RAFT_PROBE);
	h_ready(&net, 1);
	assert_int_equal(h_count_queued(&net, 1, 2, AEG_RAFT_MSG_APPEND), 1);
	h_deliver_all(&net);
	h_tick(&net, 1, net.nodes[1].cfg.heartbeat_ticks);
	h_deliver_all(&net);
	assert_int_equal(pr->state, AEG_RAFT_REPLICATE);
	assert_int_equal(h_st(net.nodes[2].r).last_index, 14);
	h_fini(&net);
}

static void test_stale_persisted_report_ignored(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 3, no_prevote);
	uint64_t f[] = { 1, 1, 1 };
	h_restart_with_log(&net, 3, 2, 0, f, 3, no_prevote);
	struct aeg_raft *r = net.nodes[3].r;
	assert_int_equal(h_st(r).persisted, 3);
	/* A term-3 leader replaces entries 2..3 (term 1) by terms 2, 3. */
	struct aeg_raft_entry ents[2] = {
		{ .term = 2, .index = 2 }, { .term = 3, .index = 3 },
	};
	struct aeg_raft_msg m = {
		.type = AEG_RAFT_MSG_APPEND, .from = 1, .to = 3, .term = 3,
		.index = 1, .log_term = 1, .n_entries = 2, .entries = ents,
	};
	assert_int_equal(aeg_raft_step(r, &m), 0);
	assert_int_equal(aeg_raft_entry_at(r, 2)->term, 2);
	assert_int_equal(h_st(r).persisted, 1);
	aeg_raft_persisted(r, 3, 1);  /* the old write completing late */
	assert_int_equal(h_st(r).persisted, 1);
	aeg_raft_persisted(r, 4, 3);  /* beyond the log */
	assert_int_equal(h_st(r).persisted, 1);
	aeg_raft_persisted(r, 3, 3);
	assert_int_equal(h_st(r).persisted, 3);
	h_fini(&net);
}

/* A leader elected by its own vote alone (sole voter) sent no vote request
 * that waited for its term to be durable: its appends must wait too, or a
 * crash before the write could make it lead the same term twice with
 * different entries (found by the simulator, members mix). */
static void test_sole_voter_waits_for_its_term(void **state)
{
	(void)state;
	struct aeg_raft_config cfg;
	aeg_raft_config_default(&cfg, 1, 9, 10);
	struct aeg_raft_conf conf = { .n = 2, .ids = { 1, 2 },
		.roles = { AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_LEARNER } };
	struct aeg_raft *r;
	assert_int_equal(aeg_raft_new(&r, &cfg, &conf), 0);
	aeg_raft_campaign(r);
	assert_int_equal(aeg_raft_role(r), AEG_RAFT_LEADER);
	struct aeg_raft_ready rd;
	aeg_raft_ready(r, &rd);
	assert_true(rd.hs_changed);
	assert_int_equal(rd.n_msgs_now, 0);
	assert_int_equal(rd.n_msgs, 1);  /* the append to the learner, after the write */
	assert_int_equal(rd.msgs[0].type, AEG_RAFT_MSG_APPEND);
	aeg_raft_advance(r, &rd);
	for (uint32_t t = 0; t < cfg.heartbeat_ticks; t++)
		aeg_raft_tick(r);
	aeg_raft_ready(r, &rd);
	assert_int_equal(rd.n_msgs_now, 0);  /* the heartbeat waits as well */
	assert_int_equal(rd.n_msgs, 1);
	aeg_raft_advance(r, &rd);
	aeg_raft_persisted(r, 1, 1);
	for (uint32_t t = 0; t < cfg.heartbeat_ticks; t++)
		aeg_raft_tick(r);
	aeg_raft_ready(r, &rd);
	assert_int_equal(rd.n_msgs_now, 1);  /* the term is durable now */
	aeg_raft_advance(r, &rd);
	aeg_raft_free(r);
}

static void tiny_log(struct aeg_raft_config *cfg)
{
	cfg->log_entries_max = 8;
	cfg->log_bytes_max = 64;
}

static void test_errors(void **state)
{
	(void)state;
	struct h_net net;
	h_init(&net, 1, tiny_log);
	struct aeg_raft *r = net.nodes[1].r;
	assert_int_equal(h_propose(&net, 1, "x"), -EPERM);
	h_tick(&net, 1, h_cfg(r)->election_ticks_max);
	assert_int_equal(h_st(r).role, AEG_RAFT_LEADER);
	struct aeg_raft_payload p = { .data = NULL, .len = 3 };
	assert_int_equal(aeg_raft_propose(r, &p, 1, NULL), -EINVAL);
	assert_int_equal(aeg_raft_propose(r, NULL, 0, NULL), -EINVAL);
	char big[65] = { 0 };
	p = (struct aeg_raft_payload){ .data = big, .len = 65 };
	assert_int_equal(aeg_raft_propose(r, &p, 1, NULL), -EMSGSIZE);
	/* All or nothing: 8 slots, the noop uses one. */
	struct aeg_raft_payload many[8];
	for (int i = 0; i < 8; i++)
		many[i] = (struct aeg_raft_payload){ .data = "abcd", .len = 4 };
	uint64_t last = h_st(r).last_index;
	assert_int_equal(aeg_raft_propose(r, many, 8, NULL), -ENOBUFS);
	assert_int_equal(h_st(r).last_index, last);
	p = (struct aeg_raft_payload){ .data = big, .len = 61 };
	assert_int_equal(aeg_raft_propose(r, &p, 1, NULL), 0);
	assert_int_equal(aeg_raft_propose(r, many, 1, NULL), -ENOBUFS);  /* arena */
	/* Malformed messages. */
	struct aeg_raft_msg m = { .type = 99, .from = 2, .to = 1, .term = 1 };
	assert_int_equal(aeg_raft_step(r, &m), -EINVAL);
	m.type = AEG_RAFT_MSG_APPEND;
	m.to = 3;
	assert_int_equal(aeg_raft_step(r, &m), -EINVAL);
	m.to = 1;
	m.n_entries = 1;
	assert_int_equal(aeg_raft_step(r, &m), -EINVAL);
	struct aeg_raft_entry e = { .term = 5, .index = 1 };
	m.entries = &e;
	assert_int_equal(aeg_raft_step(r, &m), -EINVAL);  /* entry term > msg term */
	/* Bad configs. */
	struct aeg_raft_config cfg;
	struct aeg_raft_conf conf = { .n = 1, .ids = { 1 }, .roles = { AEG_RAFT_MEMBER_VOTER } };
	struct aeg_raft *other = (struct aeg_raft *)&cfg;  /* must come back NULL */
	aeg_raft_config_default(&cfg, 1, 1, 10);
	cfg.log_entries_max = 100;
	assert_int_equal(aeg_raft_new(&other, &cfg, &conf), -EINVAL);
	aeg_raft_config_default(&cfg, 0, 1, 10);
	assert_int_equal(aeg_raft_new(&other, &cfg, &conf), -EINVAL);
	aeg_raft_config_default(&cfg, 1, 1, 10);
	cfg.lease_read = true;
	cfg.check_quorum = false;
	assert_int_equal(aeg_raft_new(&other, &cfg, &conf), -EINVAL);
	assert_null(other);
	h_fini(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_in_one_append),
		cmocka_unit_test(test_commit_needs_quorum),
		cmocka_unit_test(test_leader_counts_itself_only_when_persisted),
		cmocka_unit_test(test_figure8_old_term_not_committed),
		cmocka_unit_test(test_figure8_old_term_entry_replaced),
		cmocka_unit_test(test_figure7_conflicting_logs),
		cmocka_unit_test(test_stale_leader_steps_down_and_is_overwritten),
		cmocka_unit_test(test_inflight_window_and_probe),
		cmocka_unit_test(test_stale_persisted_report_ignored),
		cmocka_unit_test(test_sole_voter_waits_for_its_term),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
