/* One replica move, step by step (see aegis/shard_move.h), and the
 * placement messages' codec. */
#include "aegis/shard_move.h"

#include <errno.h>
#include <string.h>

#include "common/codec.h"

static bool joint(const struct aeg_raft_conf *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->roles[i] & AEG_RAFT_MEMBER_VOTER_OUT)
			return true;
	return false;
}

static void step(struct aeg_move_step *out, enum aeg_move_action a, const char *reason)
{
	out->action = a;
	out->reason = reason;
}

/* conf with `to` a learner. */
static void with_learner(const struct aeg_raft_conf *conf, uint32_t to, struct aeg_raft_conf *t)
{
	*t = *conf;
	t->ids[t->n] = to;
	t->roles[t->n] = AEG_RAFT_MEMBER_LEARNER;
	t->n++;
}

/* conf with `to` a voter and `from` gone: one change, so Raft's joint
 * config holds both majorities until the new one is in. */
static void swapped(const struct aeg_raft_conf *conf, uint32_t from, uint32_t to, struct aeg_raft_conf *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; i < conf->n; i++) {
		uint32_t id = conf->ids[i];
#ifndef AEG_MOVE_BUG_REMOVE_FIRST
		if (id == from)
			continue;
		t->ids[t->n] = id;
		t->roles[t->n] = id == to ? AEG_RAFT_MEMBER_VOTER : conf->roles[i];
#else
		/* Broken on purpose (a test must fail): `from` leaves while its
		 * replacement stays a learner. */
		if (id == from)
			continue;
		t->ids[t->n] = id;
		t->roles[t->n] = conf->roles[i];
		(void)to;
#endif
		t->n++;
	}
}

void aeg_shard_move_next(const struct aeg_move_view *v, uint32_t from, uint32_t to, bool dropped,
			 struct aeg_move_step *out)
{
	memset(out, 0, sizeof(*out));
	const struct aeg_raft_conf *c = v->conf;
	uint8_t from_role = aeg_raft_conf_role(c, from), to_role = aeg_raft_conf_role(c, to);
	bool committed = v->commit >= v->conf_index;
	if (from == 0 || to == 0 || from == to) {
		step(out, AEG_MOVE_FAILED, "bad move");
		return;
	}
	if (!v->leader) {
		/* A leader that moved its own replica away steps down once the
		 * config without it is committed; it then drops the replica. */
		if (v->self == from && from_role == 0 && (to_role & AEG_RAFT_MEMBER_VOTER) && committed)
			step(out, dropped ? AEG_MOVE_DONE : AEG_MOVE_DROP, "own replica moved away");
		else
			step(out, AEG_MOVE_FAILED, "leadership lost");
		return;
	}
	if (to_role == 0) {
		if (!(from_role & AEG_RAFT_MEMBER_VOTER) || (from_role & AEG_RAFT_MEMBER_VOTER_OUT))
			step(out, AEG_MOVE_FAILED, "the source is not a voter of the group");
		else if (!committed || joint(c))
			step(out, AEG_MOVE_WAIT, "another config change is in progress");
		else if (c->n >= AEG_RAFT_CONF_MAX)
			step(out, AEG_MOVE_FAILED, "the group has no room for a learner");
		else {
			with_learner(c, to, &out->target);
			step(out, AEG_MOVE_ADD_LEARNER, "adding the learner");
		}
		return;
	}
	if (to_role == AEG_RAFT_MEMBER_LEARNER) {
		if (!(from_role & AEG_RAFT_MEMBER_VOTER))
			step(out, AEG_MOVE_FAILED, "the source left the group meanwhile");
		else if (!committed || joint(c))
			step(out, AEG_MOVE_WAIT, "the learner's config is not committed yet");
		else if (v->to_match == 0)
			step(out, AEG_MOVE_CREATE, "the learner has not answered yet");
#ifndef AEG_MOVE_BUG_PROMOTE_EARLY
		else if (!v->to_replicating || v->to_match < v->commit)
			step(out, AEG_MOVE_WAIT, "the learner is catching up");
#endif
		else {
			swapped(c, from, to, &out->target);
			step(out, AEG_MOVE_PROMOTE, "promoting the learner, removing the source");
		}
		return;
	}
	/* `to` is a voter. */
	if (joint(c) || !committed) {
		step(out, AEG_MOVE_WAIT, "the new config is not committed yet");
		return;
	}
	if (from_role != 0) {
		swapped(c, from, to, &out->target);  /* e.g. `to` was made a voter by hand */
		step(out, AEG_MOVE_PROMOTE, "removing the source");
		return;
	}
	step(out, dropped ? AEG_MOVE_DONE : AEG_MOVE_DROP, "dropping the source's replica");
}

int aeg_place_msg_encode(const struct aeg_place_msg *m, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u8(&w, m->op);
	aeg_put_varint(&w, m->shard);
	aeg_put_varint(&w, m->index);
	if (w.error)
		return -ENOBUFS;
	size_t len = w.len;
	if (m->op == AEG_PLACE_CREATE) {
		int n = aeg_raft_conf_encode(&m->conf, buf + len, cap - len);
		if (n < 0)
			return -ENOBUFS;
		len += (size_t)n;
	} else if (m->op == AEG_PLACE_MOVE || m->op == AEG_PLACE_LEAD) {
		aeg_writer_init(&w, buf + len, cap - len);
		if (m->op == AEG_PLACE_MOVE)
			aeg_put_varint(&w, m->from);
		aeg_put_varint(&w, m->to);
		if (w.error)
			return -ENOBUFS;
		len += w.len;
	}
	return (int)len;
}

int aeg_place_msg_decode(struct aeg_place_msg *m, const uint8_t *buf, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	memset(m, 0, sizeof(*m));
	m->op = aeg_get_u8(&r);
	m->shard = aeg_get_varint32(&r);
	m->index = aeg_get_varint(&r);
	if (r.error)
		return -EMSGSIZE;
	if (m->op < AEG_PLACE_CREATE || m->op > AEG_PLACE_LEAD)
		return -EINVAL;
	if (m->op == AEG_PLACE_MOVE || m->op == AEG_PLACE_LEAD) {
		if (m->op == AEG_PLACE_MOVE)
			m->from = aeg_get_varint32(&r);
		m->to = aeg_get_varint32(&r);
		if (r.error)
			return -EMSGSIZE;
	}
	size_t left = aeg_reader_left(&r);
	if (m->op != AEG_PLACE_CREATE)
		return left == 0 ? 0 : -EINVAL;
	return aeg_raft_conf_decode(&m->conf, buf + (len - left), left);
}
