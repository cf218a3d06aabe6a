/* Membership changes by joint consensus (Raft thesis §4.3): a change of
 * voters first moves to the joint config C_old,new (VOTER = incoming,
 * VOTER_OUT = outgoing; commits and elections need a majority of each),
 * then the leader proposes C_new as soon as the joint entry is committed.
 * A config is in force on a node as soon as its entry is in the node's log
 * (thesis §4.1), and reverts if the entry is truncated; applying at commit
 * time instead (etcd's way) needs the applied config persisted with the
 * state machine, which the simulator showed (two leaders in one term when
 * a removed node restarted with its old config). One change may be
 * uncommitted at a time. Learners receive the log but never vote; a change
 * that only touches learners needs no joint phase. Config entries carry
 * the encoded config (lib/common/codec.h). */
#include "raft_int.h"

#include "common/codec.h"

#define ROLE_MASK (AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT | AEG_RAFT_MEMBER_LEARNER)

int aeg_raft_conf_encode(const struct aeg_raft_conf *c, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_varint(&w, c->n);
	for (uint32_t i = 0; i < c->n && i < AEG_RAFT_CONF_MAX; i++) {
		aeg_put_varint(&w, c->ids[i]);
		aeg_put_u8(&w, c->roles[i]);
	}
	return w.error ? -ENOBUFS : (int)w.len;
}

static bool conf_valid(const struct aeg_raft_conf *c)
{
	if (c->n > AEG_RAFT_CONF_MAX)
		return false;
	for (uint32_t i = 0; i < c->n; i++) {
		uint8_t role = c->roles[i];
		if (c->ids[i] == AEG_RAFT_NONE || role == 0 || (role & ~ROLE_MASK) != 0 ||
		    ((role & AEG_RAFT_MEMBER_VOTER) && (role & AEG_RAFT_MEMBER_LEARNER)))
			return false;
		for (uint32_t j = 0; j < i; j++)
			if (c->ids[j] == c->ids[i])
				return false;
	}
	return true;
}

int aeg_raft_conf_decode(struct aeg_raft_conf *c, const uint8_t *buf, size_t len)
{
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len);
	uint64_t n = aeg_get_varint(&r);
	if (r.error)
		return -EMSGSIZE;
	if (n > AEG_RAFT_CONF_MAX)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	c->n = (uint32_t)n;
	for (uint32_t i = 0; i < c->n; i++) {
		c->ids[i] = aeg_get_varint32(&r);
		c->roles[i] = aeg_get_u8(&r);
	}
	if (r.error)
		return -EMSGSIZE;
	if (aeg_reader_left(&r) != 0 || !conf_valid(c))
		return -EINVAL;
	return 0;
}

static bool conf_joint(const struct aeg_raft_conf *c)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->roles[i] & AEG_RAFT_MEMBER_VOTER_OUT)
			return true;
	return false;
}

uint8_t aeg_raft_conf_role(const struct aeg_raft_conf *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->ids[i] == id)
			return c->roles[i];
	return 0;
}

/* The config that leaves a joint one: outgoing voters drop out (those that
 * stay as learners keep that role). */
static void conf_leave_joint(const struct aeg_raft_conf *joint, struct aeg_raft_conf *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < joint->n; i++) {
		uint8_t role = joint->roles[i] & ~AEG_RAFT_MEMBER_VOTER_OUT;
		if (role == 0)
			continue;
		out->ids[out->n] = joint->ids[i];
		out->roles[out->n] = role;
		out->n++;
	}
}

static int propose_conf_entry(struct aeg_raft *r, const struct aeg_raft_conf *c)
{
	uint8_t buf[8 + AEG_RAFT_CONF_MAX * 6];
	int len = aeg_raft_conf_encode(c, buf, sizeof(buf));
	if (len < 0)
		return len;
	int rc = log_append(r, r->term, AEG_RAFT_ENTRY_CONF, buf, (uint32_t)len);
	if (rc != 0)
		return rc;
	r->pending_conf = r->last;
	repl_bcast_append(r, false);
	return 0;
}

int aeg_raft_propose_conf(struct aeg_raft *r, const struct aeg_raft_conf *target)
{
	if (target == NULL || !conf_valid(target) || target->n > r->cfg.peers_max)
		return -EINVAL;
	for (uint32_t i = 0; i < target->n; i++)
		if (target->roles[i] & AEG_RAFT_MEMBER_VOTER_OUT)
			return -EINVAL;  /* joint configs are ours to make */
	if (r->role != AEG_RAFT_LEADER)
		return -EPERM;
	if (r->transferee != AEG_RAFT_NONE || r->pending_conf > r->commit || conf_joint(&r->conf))
		return -EBUSY;
	aeg_raft_wake(r);
	/* Voters of the target are the incoming config; today's voters that
	 * change status form the outgoing one. */
	struct aeg_raft_conf next;
	memset(&next, 0, sizeof(next));
	bool voters_change = false;
	uint32_t voters_in = 0;
	for (uint32_t i = 0; i < target->n; i++) {
		uint8_t now = aeg_raft_conf_role(&r->conf, target->ids[i]);
		uint8_t want = target->roles[i];
		voters_in += (want & AEG_RAFT_MEMBER_VOTER) != 0;
		voters_change |= (want & AEG_RAFT_MEMBER_VOTER) != (now & AEG_RAFT_MEMBER_VOTER);
		next.ids[next.n] = target->ids[i];
		next.roles[next.n] = want | ((now & AEG_RAFT_MEMBER_VOTER) ? AEG_RAFT_MEMBER_VOTER_OUT : 0);
		next.n++;
	}
	for (uint32_t i = 0; i < r->conf.n; i++) {
		if (aeg_raft_conf_role(target, r->conf.ids[i]) != 0 || !(r->conf.roles[i] & AEG_RAFT_MEMBER_VOTER))
			continue;
		voters_change = true;  /* a voter leaves */
		if (next.n == AEG_RAFT_CONF_MAX)
			return -EINVAL;
		next.ids[next.n] = r->conf.ids[i];
		next.roles[next.n] = AEG_RAFT_MEMBER_VOTER_OUT;
		next.n++;
	}
	if (voters_in == 0 || next.n > r->cfg.peers_max)
		return -EINVAL;
	if (!voters_change) {
		struct aeg_raft_conf simple;
		conf_leave_joint(&next, &simple);  /* learners only: no joint phase */
		return propose_conf_entry(r, &simple);
	}
	return propose_conf_entry(r, &next);
}

void membership_on_append(struct aeg_raft *r, const struct aeg_raft_entry *e)
{
	struct aeg_raft_conf c;
	if (aeg_raft_conf_decode(&c, e->data, e->len) != 0 || c.n > r->cfg.peers_max)
		return;  /* validated by the leader that made it */
	r->conf = c;
	r->conf_index = e->index;
	progress_apply_conf(r);
}

void membership_conf_at(const struct aeg_raft *r, uint64_t index, struct aeg_raft_conf *out)
{
	for (uint64_t i = index < r->last ? index : r->last; i >= r->first && i > 0; i--) {
		const struct aeg_raft_entry *e = log_slot(r, i);
		if (e->type == AEG_RAFT_ENTRY_CONF && aeg_raft_conf_decode(out, e->data, e->len) == 0)
			return;
	}
	*out = r->base_conf;
}

void aeg_raft_conf_get(const struct aeg_raft *r, struct aeg_raft_conf *out)
{
	*out = r->conf;
}

uint64_t aeg_raft_conf_index(const struct aeg_raft *r)
{
	return r->conf_index;
}

int aeg_raft_conf_at(const struct aeg_raft *r, uint64_t index, struct aeg_raft_conf *out)
{
	if (index < r->snap_index || index > r->last)
		return -ERANGE;
	membership_conf_at(r, index, out);
	return 0;
}

void membership_rescan(struct aeg_raft *r)
{
	uint64_t at = r->snap_index;
	for (uint64_t i = r->last; i >= r->first && i > 0; i--)
		if (log_slot(r, i)->type == AEG_RAFT_ENTRY_CONF) {
			at = i;
			break;
		}
	membership_conf_at(r, at, &r->conf);
	r->conf_index = at;
	progress_apply_conf(r);
}

void membership_on_commit(struct aeg_raft *r)
{
	if (r->role != AEG_RAFT_LEADER || r->conf_index > r->commit)
		return;
	if (!election_promotable(r)) {
		/* Our removal is committed: the voter with the longest log
		 * campaigns at once (TimeoutNow) rather than after an election
		 * timeout without a leader; the others elect one if it fails. */
		struct aeg_raft_progress *best = NULL;
		for (uint32_t i = 0; i < r->conf.n; i++) {
			struct aeg_raft_progress *pr = progress_get(r, r->conf.ids[i]);
			if (pr != NULL && pr->id != r->id && progress_is_voter(pr) && (best == NULL || pr->match > best->match))
				best = pr;
		}
		if (best != NULL && best->match >= r->commit)
			transfer_send_timeout_now(r, best->id);
		raft_become_follower(r, r->term, AEG_RAFT_NONE);
		return;
	}
	if (conf_joint(&r->conf) && r->pending_conf <= r->commit) {
		struct aeg_raft_conf out;
		conf_leave_joint(&r->conf, &out);
		int rc = propose_conf_entry(r, &out);
		(void)rc;  /* window full: retried when the commit moves again */
	}
}
