/* Replica placement on a worker (issue [G]): shard groups that arrive and
 * leave while the node runs, and the moves this worker's leaders carry out
 * (aegis/shard_move.h gives each step).
 *
 *   create: a CREATE from the shard's leader makes an empty replica here,
 *           a learner in the config it names; an empty hard state record
 *           makes it survive a restart (the log lists the worker's groups
 *           once the node has been placed: replica.c);
 *   drop:   a DROP (the config without us is committed), or our own
 *           replica moved away while we led it: pending requests are
 *           answered, the group leaves the driver, the log (a REMOVE
 *           record, made durable at once: a slow path) and its snapshot
 *           file goes; requests for the shard are redirected from then on;
 *   move:   an operator's SHARD_MOVE at the shard's leader: one step every
 *           RP_MOVE_STEP_MS until done, failed (logged with the reason), or
 *           RP_MOVE_TIMEOUT_MS. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "aegis/msg.h"
#include "aegis/shard_move.h"
#include "ctl_ring.h"
#include "replica_int.h"

#define RP_MOVE_STEP_MS 10
#define RP_MOVE_RESEND_MS 500
#define RP_MOVE_TIMEOUT_MS 600000
#define RP_MOVE_DROP_TRIES 10

static const char *const action_names[] = {
	[AEG_MOVE_WAIT] = "wait", [AEG_MOVE_ADD_LEARNER] = "add learner", [AEG_MOVE_CREATE] = "create",
	[AEG_MOVE_PROMOTE] = "promote", [AEG_MOVE_DROP] = "drop", [AEG_MOVE_DONE] = "done",
	[AEG_MOVE_FAILED] = "failed",
};

static int place_send(struct aeg_replica *rp, uint32_t node, const struct aeg_place_msg *m)
{
	uint8_t buf[AEG_PLACE_MSG_BYTES_MAX];
	int len = aeg_place_msg_encode(m, buf, sizeof(buf));
	assert(len > 0);
	return rp_send(rp, node, AEG_MSG_PLACE, 0, buf, (uint32_t)len);
}

static bool conf_has(const struct aeg_raft_conf *c, uint32_t id, uint8_t roles)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->ids[i] == id)
			return (c->roles[i] & roles) != 0;
	return false;
}

/* Where requests for a shard no longer here go: the leader when it left. */
static void moved_note(struct aeg_replica *rp, uint32_t shard, uint32_t hint)
{
	struct rp_moved *m = &rp->moved[rp->n_moved_next++ % RP_MOVED_MAX];
	m->shard = shard;
	m->hint = hint;
	m->valid = true;
}

uint32_t rp_moved_hint(const struct aeg_replica *rp, uint32_t shard)
{
	for (uint32_t i = 0; i < RP_MOVED_MAX; i++)
		if (rp->moved[i].valid && rp->moved[i].shard == shard)
			return rp->moved[i].hint;
	return 0;
}

static void moved_forget(struct aeg_replica *rp, uint32_t shard)
{
	for (uint32_t i = 0; i < RP_MOVED_MAX; i++)
		if (rp->moved[i].shard == shard)
			rp->moved[i].valid = false;
}

/* ---- create and drop ------------------------------------------------------ */

static void create(struct aeg_replica *rp, uint32_t src, const struct aeg_place_msg *m)
{
	const struct aeg_shard_map *map = rp->cfg.map;
	if (m->shard >= aeg_shard_map_shard_count(map) || aeg_shard_worker(m->shard, rp->cfg.workers) != rp->cfg.worker ||
	    !conf_has(&m->conf, rp->cfg.node, AEG_RAFT_MEMBER_LEARNER)) {
		rp->st.raft_bad++;
		return;
	}
	struct rp_shard *s = rp_shard_of(rp, aeg_shard_group(m->shard));
	if (s != NULL)
		return;  /* made already (a resent CREATE) */
	int rc = rp_group_add(rp, m->shard, &m->conf, m->index);
	rp_log(rp, "shard %u: replica created as a learner at node %u's request (config index %llu): %s", m->shard,
	       src, (unsigned long long)m->index, rc == 0 ? "ok" : strerror(-rc));
	if (rc == 0) {
		rp->place_created++;
		moved_forget(rp, m->shard);
	}
}

/* DROP: only a replica that is not a voter of a newer config than the one
 * that removed it (a later move may have brought the shard back). */
static void drop_asked(struct aeg_replica *rp, uint32_t src, const struct aeg_place_msg *m)
{
	struct rp_shard *s = m->shard < aeg_shard_map_shard_count(rp->cfg.map)
				     ? rp_shard_of(rp, aeg_shard_group(m->shard)) : NULL;
	if (s != NULL && !s->drop_pending) {
		struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
		struct aeg_raft_conf conf;
		aeg_raft_conf_get(r, &conf);
		bool newer = s->created_index > m->index ||
			     (aeg_raft_conf_index(r) > m->index &&
			      conf_has(&conf, rp->cfg.node, AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_LEARNER));
		if (newer) {
			rp_log(rp, "shard %u: drop asked by node %u refused: a member again since index %llu", m->shard, src,
			       (unsigned long long)m->index);
			return;
		}
		s->drop_pending = true;
		rp->drops_pending++;
		s->drop_hint = src;
		rp_log(rp, "shard %u: replica to be dropped at node %u's request (removed at index %llu)", m->shard, src,
		       (unsigned long long)m->index);
	}
	struct aeg_place_msg ack = { .op = AEG_PLACE_DROPPED, .shard = m->shard, .index = m->index };
	(void)place_send(rp, src, &ack);
}

void rp_place_on_msg(struct aeg_replica *rp, uint32_t src, const uint8_t *body, uint32_t len)
{
	struct aeg_place_msg m;
	if (aeg_place_msg_decode(&m, body, len) != 0 || aeg_shard_map_node(rp->cfg.map, src) == NULL) {
		rp->st.raft_bad++;
		return;
	}
	if (m.op == AEG_PLACE_CREATE) {
		create(rp, src, &m);
	} else if (m.op == AEG_PLACE_DROP) {
		drop_asked(rp, src, &m);
	} else if (m.op == AEG_PLACE_MOVE) {
		rp_place_move(rp, m.shard, m.from, m.to, true);
	} else if (m.op == AEG_PLACE_LEAD) {
		rp_split_lead_asked(rp, m.shard, m.to);
	} else {
		for (uint32_t i = 0; i < RP_MOVES_MAX; i++)
			if (rp->moves[i].active && rp->moves[i].shard == m.shard && rp->moves[i].from == src)
				rp->moves[i].dropped = true;
	}
}

/* Drops marked replicas; on the tick, when nothing is staged for them. */
static void drops(struct aeg_replica *rp)
{
	/* Rare (a move's end): the shards are walked only when one is marked. */
	for (uint32_t i = 0; rp->drops_pending > 0 && i < rp->n_shards; i++) {
		struct rp_shard *s = &rp->shards[i];
		if (s->kv == NULL || !s->drop_pending || s->staged_first != 0)
			continue;
		uint32_t shard = s->shard, group = s->group, hint = s->drop_hint;
		rp->drops_pending--;
		int rc = rp_group_drop(rp, s);
		rp_log(rp, "shard %u: replica dropped (group %u): %s", shard, group, rc == 0 ? "ok" : strerror(-rc));
		moved_note(rp, shard, hint);
		rp->place_dropped++;
	}
}

/* ---- moves ----------------------------------------------------------------- */

/* The shard's voters once the config without the source is committed,
 * for the meta records (the node relays them): once per move. */
/* A move of the shard began or is over (the node records the shard's state). */
static void placed_event(struct aeg_replica *rp, uint32_t shard, uint8_t kind)
{
	struct aeg_replica_placed *pl = &rp->placed[rp->placed_seq % AEG_REPLICA_PLACED_RING];
	memset(pl, 0, sizeof(*pl));
	pl->kind = kind;
	pl->shard = shard;
	rp->placed_seq++;
}

static void placed_note(struct aeg_replica *rp, struct rp_move *mv)
{
	struct rp_shard *s = rp_shard_of(rp, aeg_shard_group(mv->shard));
	if (mv->placed || s == NULL)
		return;
	struct aeg_replica_placed *pl = &rp->placed[rp->placed_seq % AEG_REPLICA_PLACED_RING];
	memset(pl, 0, sizeof(*pl));
	pl->shard = mv->shard;
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(aeg_gd_raft(rp->gd, s->group), &conf);
	for (uint32_t i = 0; i < conf.n && pl->n < 5; i++)
		if (conf.roles[i] & AEG_RAFT_MEMBER_VOTER)
			pl->voters[pl->n++] = conf.ids[i];
	if (pl->n > 0) {
		rp->placed_seq++;
		mv->placed = true;
	}
}

static void move_end(struct aeg_replica *rp, struct rp_move *mv, bool ok, const char *why)
{
	rp_log(rp, "shard %u: move of the replica on node %u to node %u %s after %llu ms%s%s", mv->shard, mv->from,
	       mv->to, ok ? "done" : "failed", (unsigned long long)(rp->now_ms - mv->started_ms), ok ? "" : ": ",
	       ok ? "" : why);
	if (ok) {
		rp->moves_done++;
		placed_note(rp, mv);
	} else {
		rp->moves_failed++;
	}
	placed_event(rp, mv->shard, AEG_REPLICA_PLACED_ENDED);
	mv->active = false;
	mv->last_action = ok ? AEG_MOVE_DONE : AEG_MOVE_FAILED;
}

static void send_create(struct aeg_replica *rp, struct rp_move *mv, struct aeg_raft *r)
{
	struct aeg_place_msg m = { .op = AEG_PLACE_CREATE, .shard = mv->shard, .index = aeg_raft_conf_index(r) };
	aeg_raft_conf_get(r, &m.conf);
	(void)place_send(rp, mv->to, &m);
	mv->last_send_ms = rp->now_ms;
}

static void move_step(struct aeg_replica *rp, struct rp_move *mv)
{
	struct rp_shard *s = rp_shard_of(rp, aeg_shard_group(mv->shard));
	if (s == NULL || s->drop_pending) {
		move_end(rp, mv, mv->from == rp->cfg.node, "the replica here is gone");
		return;
	}
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(r, &conf);
	const struct aeg_raft_progress *pr = aeg_raft_progress_of(r, mv->to);
	struct aeg_move_view v = {
		.self = rp->cfg.node, .leader = aeg_raft_role(r) == AEG_RAFT_LEADER, .conf = &conf,
		.conf_index = aeg_raft_conf_index(r), .commit = aeg_raft_commit(r),
		.to_replicating = pr != NULL && pr->state == AEG_RAFT_REPLICATE, .to_match = pr != NULL ? pr->match : 0,
	};
	struct aeg_move_step st;
	aeg_shard_move_next(&v, mv->from, mv->to, mv->dropped, &st);
	if (st.action != mv->last_action) {
		rp_log(rp, "shard %u: move %u -> %u: %s (%s)", mv->shard, mv->from, mv->to, action_names[st.action],
		       st.reason);
		mv->last_action = (uint8_t)st.action;
	}
	bool resend = rp->now_ms - mv->last_send_ms >= RP_MOVE_RESEND_MS;
	int rc = 0;
	switch (st.action) {
	case AEG_MOVE_WAIT:
		break;
	case AEG_MOVE_ADD_LEARNER:
	case AEG_MOVE_PROMOTE:
		rc = aeg_raft_propose_conf(r, &st.target);
		aeg_gd_touch(rp->gd, s->group);
		if (rc != 0 && rc != -EBUSY) {
			move_end(rp, mv, false, strerror(-rc));
			return;
		}
		if (rc == 0 && st.action == AEG_MOVE_ADD_LEARNER)
			send_create(rp, mv, r);  /* at once: the learner's config is in our log */
		break;
	case AEG_MOVE_CREATE:
		if (resend)
			send_create(rp, mv, r);
		break;
	case AEG_MOVE_DROP:
		placed_note(rp, mv);  /* the new config is committed: on record now */
		if (mv->from == rp->cfg.node) {
			s->drop_pending = true;  /* our own replica, after stepping down */
			rp->drops_pending++;
			s->drop_hint = mv->to;
			move_end(rp, mv, true, "");
			return;
		}
		if (resend && mv->drops_sent >= RP_MOVE_DROP_TRIES) {
			/* The source is down (re-replication) or gone: its copy is
			 * out of the group; it is left for an operator. */
			rp_log(rp, "shard %u: node %u did not confirm dropping its replica after %u tries; going on",
			       mv->shard, mv->from, mv->drops_sent);
			mv->dropped = true;
		} else if (resend) {
			struct aeg_place_msg m = { .op = AEG_PLACE_DROP, .shard = mv->shard, .index = v.conf_index };
			(void)place_send(rp, mv->from, &m);
			mv->last_send_ms = rp->now_ms;
			mv->drops_sent++;
		}
		break;
	case AEG_MOVE_DONE:
		move_end(rp, mv, true, "");
		return;
	case AEG_MOVE_FAILED:
		move_end(rp, mv, false, st.reason);
		return;
	}
	if (rp->now_ms - mv->started_ms > RP_MOVE_TIMEOUT_MS)
		move_end(rp, mv, false, "timed out");
}

void rp_place_tick(struct aeg_replica *rp)
{
	if (rp->now_ms - rp->place_tick_ms < RP_MOVE_STEP_MS)
		return;
	rp->place_tick_ms = rp->now_ms;
	for (uint32_t i = 0; i < RP_MOVES_MAX; i++)
		if (rp->moves[i].active)
			move_step(rp, &rp->moves[i]);
	drops(rp);
}

/* AEG_REPLICA_CTL_SHARD_MOVE: arg[0] shard, arg[1] from, arg[2] to. */
void rp_place_move(struct aeg_replica *rp, uint64_t shard, uint64_t from, uint64_t to, bool quiet)
{
	struct rp_shard *s = shard < aeg_shard_map_shard_count(rp->cfg.map)
				     ? rp_shard_of(rp, aeg_shard_group((uint32_t)shard)) : NULL;
	const char *why = NULL;
	struct rp_move *slot = NULL;
	if (s == NULL)
		why = "no replica of it here";
	else if (from == 0 || to == 0 || from > UINT32_MAX || to > UINT32_MAX || from == to ||
		 aeg_shard_map_node(rp->cfg.map, (uint32_t)to) == NULL)
		why = "bad nodes";
	else if (aeg_raft_role(aeg_gd_raft(rp->gd, s->group)) != AEG_RAFT_LEADER)
		why = "this node does not lead it";
	for (uint32_t i = 0; why == NULL && i < RP_MOVES_MAX; i++) {
		if (rp->moves[i].active && rp->moves[i].shard == shard) {
			if (quiet && rp->moves[i].from == from && rp->moves[i].to == to)
				return;  /* asked again while it runs */
			why = "a move of it is in progress";
		}
		else if (!rp->moves[i].active && slot == NULL)
			slot = &rp->moves[i];
	}
	if (why == NULL && slot == NULL)
		why = "too many moves in progress on this worker";
	if (why != NULL && quiet && (s == NULL || strcmp(why, "this node does not lead it") == 0))
		return;  /* asked of every voter: the leader answers */
	if (why != NULL) {
		rp_log(rp, "shard %llu: move %llu -> %llu refused: %s", (unsigned long long)shard, (unsigned long long)from,
		       (unsigned long long)to, why);
		rp->moves_failed++;
		return;
	}
	*slot = (struct rp_move){ .active = true, .shard = (uint32_t)shard, .from = (uint32_t)from, .to = (uint32_t)to,
				  .started_ms = rp->now_ms, .last_action = 0xff };
	rp->moves_started++;
	placed_event(rp, (uint32_t)shard, AEG_REPLICA_PLACED_STARTED);
	rp_log(rp, "shard %llu: moving the replica on node %llu to node %llu", (unsigned long long)shard,
	       (unsigned long long)from, (unsigned long long)to);
	move_step(rp, slot);
}

void rp_place_move_ask(struct aeg_replica *rp, const uint64_t *arg)
{
	if (arg[0] >= aeg_shard_map_shard_count(rp->cfg.map) || arg[1] == 0 || arg[2] == 0 || arg[1] > UINT32_MAX ||
	    arg[2] > UINT32_MAX)
		return;
	struct aeg_place_msg m = { .op = AEG_PLACE_MOVE, .shard = (uint32_t)arg[0], .from = (uint32_t)arg[1],
				   .to = (uint32_t)arg[2] };
	for (uint32_t i = 3; i < 7; i++) {
		if (arg[i] == 0 || arg[i] > UINT32_MAX)
			continue;
		if (arg[i] == rp->cfg.node)
			rp_place_move(rp, m.shard, m.from, m.to, true);
		else
			(void)place_send(rp, (uint32_t)arg[i], &m);
	}
}

void rp_place_drop_orphan(struct aeg_replica *rp, uint64_t shard)
{
	struct rp_shard *s = shard < aeg_shard_map_shard_count(rp->cfg.map)
				     ? rp_shard_of(rp, aeg_shard_group((uint32_t)shard)) : NULL;
	if (s == NULL || s->drop_pending)
		return;
	struct aeg_raft_status st;
	aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &st);
	for (uint32_t i = 0; i < RP_MOVES_MAX; i++)
		if (rp->moves[i].active && rp->moves[i].shard == s->shard)
			return;
	if (st.role == AEG_RAFT_LEADER || st.lead != 0) {
		rp_log(rp, "shard %u: orphan drop refused: the group has a leader (%u)", s->shard, st.lead);
		return;
	}
	s->drop_pending = true;
	rp->drops_pending++;
	s->drop_hint = 0;
	rp_log(rp, "shard %u: replica to be dropped: not on record and no leader (an orphan, last index %llu)",
	       s->shard, (unsigned long long)st.last_index);
}

void rp_place_publish(const struct aeg_replica *rp, struct aeg_replica_status *st)
{
	st->placed_seq = rp->placed_seq;
	memcpy(st->placed, rp->placed, sizeof(st->placed));
	st->moves_started = rp->moves_started;
	st->moves_done = rp->moves_done;
	st->moves_failed = rp->moves_failed;
	st->replicas_created = rp->place_created;
	st->replicas_dropped = rp->place_dropped;
	st->n_moves = 0;
	for (uint32_t i = 0; i < RP_MOVES_MAX; i++) {
		const struct rp_move *mv = &rp->moves[i];
		if (!mv->active)
			continue;
		st->moves[st->n_moves++] = (struct aeg_replica_move_status){
			.shard = mv->shard, .from = mv->from, .to = mv->to,
			.step = mv->last_action <= AEG_MOVE_FAILED ? action_names[mv->last_action] : "start",
			.ms = rp->now_ms - mv->started_ms,
		};
	}
}
