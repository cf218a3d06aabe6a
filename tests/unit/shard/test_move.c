/* One replica move step by step (aegis/shard_move.h): the whole walk from
 * learner to drop, the leader moving its own replica away, the waits, and
 * the rules the broken variants break (a learner promoted before it caught
 * up; the source removed before its replacement votes). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "aegis/shard_move.h"

static struct aeg_raft_conf voters(uint32_t a, uint32_t b, uint32_t c)
{
	struct aeg_raft_conf k = { .n = 3, .ids = { a, b, c },
				   .roles = { AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER } };
	return k;
}

static uint32_t n_voters(const struct aeg_raft_conf *c)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->n; i++)
		n += (c->roles[i] & AEG_RAFT_MEMBER_VOTER) != 0;
	return n;
}

/* Raft's joint step: what the group's config is after the leader proposes
 * target (outgoing voters marked), as lib/raft makes it. */
static struct aeg_raft_conf joint_of(const struct aeg_raft_conf *now, const struct aeg_raft_conf *target)
{
	struct aeg_raft_conf j = *target;
	for (uint32_t i = 0; i < j.n; i++)
		if (aeg_raft_conf_role(now, j.ids[i]) & AEG_RAFT_MEMBER_VOTER)
			j.roles[i] |= AEG_RAFT_MEMBER_VOTER_OUT;
	for (uint32_t i = 0; i < now->n; i++)
		if (aeg_raft_conf_role(target, now->ids[i]) == 0 && (now->roles[i] & AEG_RAFT_MEMBER_VOTER)) {
			j.ids[j.n] = now->ids[i];
			j.roles[j.n++] = AEG_RAFT_MEMBER_VOTER_OUT;
		}
	return j;
}

static void test_walk(void **state)
{
	(void)state;
	struct aeg_raft_conf c = voters(1, 2, 3);
	struct aeg_move_view v = { .self = 1, .leader = true, .conf = &c, .conf_index = 0, .commit = 100 };
	struct aeg_move_step s;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_ADD_LEARNER);
	assert_int_equal(aeg_raft_conf_role(&s.target, 4), AEG_RAFT_MEMBER_LEARNER);
	assert_int_equal(n_voters(&s.target), 3);
	c = s.target;
	v.conf_index = 101;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_WAIT);  /* learner's entry not committed */
	v.commit = 101;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_CREATE);  /* nothing heard from it */
	v.to_match = 50;
	v.commit = 140;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_WAIT);  /* catching up */
	v.to_match = 140;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_WAIT);  /* not replicating yet (probe, snapshot) */
	v.to_replicating = true;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_PROMOTE);
	assert_int_equal(aeg_raft_conf_role(&s.target, 4), AEG_RAFT_MEMBER_VOTER);
	assert_int_equal(aeg_raft_conf_role(&s.target, 3), 0);
	assert_int_equal(aeg_raft_conf_role(&s.target, 1), AEG_RAFT_MEMBER_VOTER);
	assert_int_equal(aeg_raft_conf_role(&s.target, 2), AEG_RAFT_MEMBER_VOTER);
	struct aeg_raft_conf j = joint_of(&c, &s.target);
	c = j;
	v.conf_index = 150;
	v.commit = 160;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_WAIT);  /* joint: Raft leaves it by itself */
	c = voters(1, 2, 4);
	v.conf_index = 161;
	v.commit = 160;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_WAIT);
	v.commit = 161;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_DROP);
	aeg_shard_move_next(&v, 3, 4, true, &s);
	assert_int_equal(s.action, AEG_MOVE_DONE);
}

/* Every step keeps the voters: a config the walk proposes never has fewer
 * voters than the group started with, and `from` leaves only in the change
 * that makes `to` a voter. */
static void test_never_below_voters(void **state)
{
	(void)state;
	struct aeg_raft_conf c = voters(1, 2, 3);
	struct aeg_move_view v = { .self = 1, .leader = true, .conf = &c, .commit = 1,
				   .to_replicating = true, .to_match = 1 };
	struct aeg_move_step s;
	for (int i = 0; i < 6; i++) {
		aeg_shard_move_next(&v, 2, 5, false, &s);
		if (s.action != AEG_MOVE_ADD_LEARNER && s.action != AEG_MOVE_PROMOTE)
			break;
		assert_true(n_voters(&s.target) >= 3);
		if (aeg_raft_conf_role(&s.target, 2) == 0)
			assert_int_equal(aeg_raft_conf_role(&s.target, 5), AEG_RAFT_MEMBER_VOTER);
		c = s.action == AEG_MOVE_PROMOTE ? voters(1, 3, 5) : s.target;
		v.conf_index = v.commit = v.to_match = v.commit + 1;
	}
	assert_int_equal(s.action, AEG_MOVE_DROP);
}

/* The leader moves its own replica: after the promote it steps down (Raft
 * does, once the config without it is committed) and drops its replica. */
static void test_leader_moves_itself(void **state)
{
	(void)state;
	struct aeg_raft_conf c = voters(1, 2, 3);
	c.ids[c.n] = 4;
	c.roles[c.n++] = AEG_RAFT_MEMBER_LEARNER;
	struct aeg_move_view v = { .self = 1, .leader = true, .conf = &c, .conf_index = 7, .commit = 9,
				   .to_replicating = true, .to_match = 9 };
	struct aeg_move_step s;
	aeg_shard_move_next(&v, 1, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_PROMOTE);
	assert_int_equal(aeg_raft_conf_role(&s.target, 1), 0);
	c = voters(2, 3, 4);
	v.leader = false;
	v.conf_index = 11;
	v.commit = 10;
	aeg_shard_move_next(&v, 1, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_FAILED);  /* not committed: not ours to drop */
	v.commit = 11;
	aeg_shard_move_next(&v, 1, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_DROP);
	aeg_shard_move_next(&v, 1, 4, true, &s);
	assert_int_equal(s.action, AEG_MOVE_DONE);
}

static void test_refusals(void **state)
{
	(void)state;
	struct aeg_raft_conf c = voters(1, 2, 3);
	struct aeg_move_view v = { .self = 2, .leader = false, .conf = &c, .commit = 5 };
	struct aeg_move_step s;
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_FAILED);  /* a follower moves nothing */
	v.leader = true;
	aeg_shard_move_next(&v, 7, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_FAILED);  /* 7 holds no replica */
	aeg_shard_move_next(&v, 3, 3, false, &s);
	assert_int_equal(s.action, AEG_MOVE_FAILED);
	aeg_shard_move_next(&v, 3, 0, false, &s);
	assert_int_equal(s.action, AEG_MOVE_FAILED);
	v.conf_index = 6;  /* another change in flight */
	aeg_shard_move_next(&v, 3, 4, false, &s);
	assert_int_equal(s.action, AEG_MOVE_WAIT);
}

static void test_place_codec(void **state)
{
	(void)state;
	struct aeg_place_msg m = { .op = AEG_PLACE_CREATE, .shard = 70000, .index = 1234567,
				   .conf = voters(1, 2, 3) };
	m.conf.ids[3] = 4;
	m.conf.roles[3] = AEG_RAFT_MEMBER_LEARNER;
	m.conf.n = 4;
	uint8_t buf[AEG_PLACE_MSG_BYTES_MAX];
	int n = aeg_place_msg_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	struct aeg_place_msg d;
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.op, AEG_PLACE_CREATE);
	assert_int_equal(d.shard, 70000);
	assert_int_equal(d.index, 1234567);
	assert_int_equal(d.conf.n, 4);
	assert_int_equal(d.conf.ids[3], 4);
	assert_int_equal(d.conf.roles[3], AEG_RAFT_MEMBER_LEARNER);
	for (int k = 0; k < n; k++)
		assert_int_not_equal(aeg_place_msg_decode(&d, buf, (size_t)k), 0);  /* every truncation */
	buf[0] = 9;
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n), -EINVAL);
	struct aeg_place_msg drop = { .op = AEG_PLACE_DROP, .shard = 3, .index = 9 };
	n = aeg_place_msg_encode(&drop, buf, sizeof(buf));
	assert_int_equal(n, 3);
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.op, AEG_PLACE_DROP);
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n + 1), -EINVAL);  /* trailing byte */
	assert_int_equal(aeg_place_msg_encode(&m, buf, 4), -ENOBUFS);
	struct aeg_place_msg mv = { .op = AEG_PLACE_MOVE, .shard = 12, .from = 3, .to = 70000 };
	n = aeg_place_msg_encode(&mv, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.op, AEG_PLACE_MOVE);
	assert_int_equal(d.from, 3);
	assert_int_equal(d.to, 70000);
	for (int k = 0; k < n; k++)
		assert_int_not_equal(aeg_place_msg_decode(&d, buf, (size_t)k), 0);
	struct aeg_place_msg lead = { .op = AEG_PLACE_LEAD, .shard = 7, .from = 99, .to = 300 };
	n = aeg_place_msg_encode(&lead, buf, sizeof(buf));
	assert_int_equal(n, 1 + 1 + 1 + 2);  /* from is not sent */
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n), 0);
	assert_int_equal(d.op, AEG_PLACE_LEAD);
	assert_int_equal(d.shard, 7);
	assert_int_equal(d.from, 0);
	assert_int_equal(d.to, 300);
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n + 1), -EINVAL);
	for (int k = 0; k < n; k++)
		assert_int_not_equal(aeg_place_msg_decode(&d, buf, (size_t)k), 0);
	buf[0] = AEG_PLACE_LEAD + 1;
	assert_int_equal(aeg_place_msg_decode(&d, buf, (size_t)n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_never_below_voters),
		cmocka_unit_test(test_leader_moves_itself),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_place_codec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
