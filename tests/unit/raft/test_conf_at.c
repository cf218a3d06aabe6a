/* aeg_raft_conf_at: the configuration in force at a log index (what a
 * snapshot at that index must store), through a joint change, with an
 * uncommitted config on top, after compaction, after a snapshot install
 * and after a restart from a snapshot; -ERANGE outside the log. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "harness.h"

#define V AEG_RAFT_MEMBER_VOTER
#define O AEG_RAFT_MEMBER_VOTER_OUT
#define L AEG_RAFT_MEMBER_LEARNER

static struct aeg_raft_conf conf_of(const uint32_t *ids, const uint8_t *roles, uint32_t n)
{
	struct aeg_raft_conf c;
	memset(&c, 0, sizeof(c));
	c.n = n;
	for (uint32_t i = 0; i < n; i++) {
		c.ids[i] = ids[i];
		c.roles[i] = roles[i];
	}
	return c;
}

static void assert_conf(const struct aeg_raft_conf *got, const struct aeg_raft_conf *want)
{
	assert_int_equal(got->n, want->n);
	for (uint32_t i = 0; i < want->n; i++) {
		assert_int_equal(got->ids[i], want->ids[i]);
		assert_int_equal(got->roles[i], want->roles[i]);
	}
}

static void assert_conf_at(const struct aeg_raft *r, uint64_t index, const struct aeg_raft_conf *want)
{
	struct aeg_raft_conf got;
	assert_int_equal(aeg_raft_conf_at(r, index, &got), 0);
	assert_conf(&got, want);
}

static void settle(struct h_net *net, uint32_t lead)
{
	for (int i = 0; i < 4; i++) {
		h_deliver_all(net);
		h_tick(net, lead, net->nodes[lead].cfg.heartbeat_ticks);
	}
	h_deliver_all(net);
}

static void small_chunks(struct aeg_raft_config *cfg)
{
	cfg->snapshot_chunk_bytes = 4;
	cfg->snapshot_bytes_max = 64;
}

static const struct aeg_raft_conf *initial3(void)
{
	static struct aeg_raft_conf c;
	c = conf_of((uint32_t[]){ 1, 2, 3 }, (uint8_t[]){ V, V, V }, 3);
	return &c;
}

/* Leader 1 of {1,2,3} adds voter 4: noop at 1, joint at 2, final at 3. */
static void add_voter(struct h_net *net, struct aeg_raft_conf *joint, struct aeg_raft_conf *final)
{
	h_init_voters(net, 4, 3, small_chunks);
	assert_int_equal(h_elect(net, 1), 1);
	*final = conf_of((uint32_t[]){ 1, 2, 3, 4 }, (uint8_t[]){ V, V, V, V }, 4);
	*joint = conf_of((uint32_t[]){ 1, 2, 3, 4 }, (uint8_t[]){ V | O, V | O, V | O, V }, 4);
	assert_int_equal(aeg_raft_propose_conf(net->nodes[1].r, final), 0);
	settle(net, 1);
	assert_int_equal(h_st(net->nodes[1].r).commit, 3);
}

static void test_joint_and_uncommitted(void **state)
{
	(void)state;
	struct h_net net;
	struct aeg_raft_conf joint, final, got;
	add_voter(&net, &joint, &final);
	for (uint32_t id = 1; id <= 4; id++) {
		struct aeg_raft *r = net.nodes[id].r;
		assert_conf_at(r, 0, initial3());
		assert_conf_at(r, 1, initial3());
		assert_conf_at(r, 2, &joint);
		assert_conf_at(r, 3, &final);
		assert_int_equal(aeg_raft_conf_at(r, 4, &got), -ERANGE);
	}
	/* A change that cannot commit (1 cut off): in force on 1 at once, but
	 * a snapshot at the commit index must still store the final config. */
	struct aeg_raft *r = net.nodes[1].r;
	h_isolate(&net, 1);
	struct aeg_raft_conf shrink = conf_of((uint32_t[]){ 1, 2, 3 }, (uint8_t[]){ V, V, V }, 3);
	assert_int_equal(aeg_raft_propose_conf(r, &shrink), 0);
	h_deliver_all(&net);
	uint64_t last = h_st(r).last_index;
	assert_int_equal(h_st(r).commit, 3);
	aeg_raft_conf_get(r, &got);
	assert_int_equal(got.n, 4);  /* joint toward {1,2,3}: 4 is outgoing */
	assert_int_equal(got.roles[3], O);
	assert_conf_at(r, last, &got);
	assert_conf_at(r, h_st(r).commit, &final);
	assert_int_equal(aeg_raft_conf_at(r, last + 1, &got), -ERANGE);
	h_fini(&net);
}

static void test_after_compaction(void **state)
{
	(void)state;
	struct h_net net;
	struct aeg_raft_conf joint, final, got;
	add_voter(&net, &joint, &final);
	struct aeg_raft *r = net.nodes[1].r;
	assert_int_equal(h_propose(&net, 1, "a"), 0);
	settle(&net, 1);
	assert_int_equal(h_st(r).applied, 4);
	/* Base at the joint entry: its config comes from the base now. */
	assert_int_equal(aeg_raft_snapshot_set(r, 4, "s", 1), 0);
	assert_int_equal(aeg_raft_compact(r, 2), 0);
	assert_int_equal(aeg_raft_conf_at(r, 1, &got), -ERANGE);
	assert_conf_at(r, 2, &joint);
	assert_conf_at(r, 3, &final);
	assert_conf_at(r, 4, &final);
	/* Base past every conf entry. */
	assert_int_equal(aeg_raft_compact(r, 4), 0);
	assert_int_equal(aeg_raft_conf_at(r, 3, &got), -ERANGE);
	assert_conf_at(r, 4, &final);
	aeg_raft_conf_get(r, &got);
	assert_conf(&got, &final);
	h_fini(&net);
}

static void test_after_install_and_restart(void **state)
{
	(void)state;
	struct h_net net;
	h_init_voters(&net, 4, 3, small_chunks);
	assert_int_equal(h_elect(&net, 1), 1);
	h_isolate(&net, 3);
	struct aeg_raft *r = net.nodes[1].r;
	struct aeg_raft_conf with_learner =
		conf_of((uint32_t[]){ 1, 2, 3, 4 }, (uint8_t[]){ V, V, V, L }, 4);
	assert_int_equal(aeg_raft_propose_conf(r, &with_learner), 0);  /* index 2 */
	for (int i = 0; i < 4; i++)
		assert_int_equal(h_propose(&net, 1, "e"), 0);
	settle(&net, 1);
	assert_int_equal(h_st(r).applied, 6);
	assert_int_equal(aeg_raft_snapshot_set(r, 6, "snap6", 5), 0);
	assert_int_equal(aeg_raft_compact(r, 6), 0);
	/* 3 is behind the window: it gets the snapshot, whose config is the
	 * one at index 6 (the learner change), not its own initial one. */
	h_heal(&net);
	settle(&net, 1);
	struct h_node *f = &net.nodes[3];
	assert_int_equal(f->n_snap_installs, 1);
	assert_int_equal(f->snap_index, 6);
	struct aeg_raft_conf got;
	assert_int_equal(aeg_raft_conf_at(f->r, 5, &got), -ERANGE);
	assert_conf_at(f->r, 6, &with_learner);
	aeg_raft_conf_get(f->r, &got);
	assert_conf(&got, &with_learner);
	/* Restart from that snapshot: the stored config is the base again. */
	aeg_raft_free(f->r);
	assert_int_equal(aeg_raft_new(&f->r, &f->cfg, initial3()), 0);
	struct aeg_raft_hard_state hs = { .term = h_st(r).term, .vote = 1, .commit = 6 };
	assert_int_equal(aeg_raft_restore_hard_state(f->r, &hs), 0);
	assert_int_equal(aeg_raft_restore_snapshot(f->r, 6, 1, &with_learner), 0);
	assert_conf_at(f->r, 6, &with_learner);
	assert_int_equal(aeg_raft_conf_at(f->r, 7, &got), -ERANGE);
	assert_int_equal(aeg_raft_restore_entry(f->r, 1, 7, AEG_RAFT_ENTRY_NORMAL, "x", 1), 0);
	assert_conf_at(f->r, 7, &with_learner);
	h_fini(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_joint_and_uncommitted),
		cmocka_unit_test(test_after_compaction),
		cmocka_unit_test(test_after_install_and_restart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
