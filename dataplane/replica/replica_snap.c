/* Snapshots of a worker's shards: taking one (state machine bytes, Raft's
 * copy for lagging followers, the snapshot file, log compaction),
 * installing one from the leader, and restoring a group at start from its
 * snapshot file and the log (what the recovery stager resolved).
 *
 * Slow path: the snapshot file is written with blocking write + fsync on
 * the worker's thread (issue [E] leaves moving it off the loop for later). */
#define _GNU_SOURCE
#include "replica_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/wal_recovery.h"
#include "aegis/wal_snapshot.h"
#include "dp_clock.h"

/* A snapshot step that held the loop this long is logged: it delays every
 * group of the worker (a move's cost, bench/rebalance). */
#define SNAP_SLOW_NS 20000000ull

#define SNAP_LOAD_MAX (1ull << 32)

/* Raft keeps up to a quarter of its window of applied entries in memory
 * behind a snapshot, so that a follower a little behind gets appends, not
 * the whole snapshot; and no more than a quarter of its payload quota
 * (log_bytes_max): large values would otherwise fill the quota with
 * entries kept behind and every proposal would find the log full. Walks
 * back at most window / 4 entries, once per window / 4 applied. */
static uint64_t keep_behind(const struct aeg_replica *rp, struct aeg_raft *r,
			    const struct aeg_raft_status *st)
{
	uint32_t window = rp->cfg.log_entries_max ? rp->cfg.log_entries_max : 1024;
	uint64_t bytes_max = rp->log_bytes_max / 4, bytes = 0, keep = 0;
	while (keep < window / 4 && st->applied - keep >= st->first_index && st->applied > keep) {
		const struct aeg_raft_entry *e = aeg_raft_entry_at(r, st->applied - keep);
		assert(e != NULL);
		bytes += e->len;
		if (bytes > bytes_max)
			break;
		keep++;
	}
	return keep;
}

/* The log window keeps what every live follower still needs, up to 3/4 of
 * the window; past that a lagging follower gets the snapshot instead.
 * Returns false when it must be tried again soon: applied entries not yet
 * durable here cannot go, and nothing else would bring this group back
 * (a follower whose window is full takes no more entries, so nothing more
 * is committed or applied: the group would stay stuck). */
bool rp_compact(struct aeg_replica *rp, struct rp_shard *s)
{
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	struct aeg_raft_status st;
	aeg_raft_status(r, &st);
	if (st.applied > st.persisted)
		return false;
	uint64_t keep = keep_behind(rp, r, &st);
	if (st.applied <= keep)
		return true;
	uint64_t target = st.applied - keep;
	if (st.role == AEG_RAFT_LEADER) {
		struct aeg_raft_conf conf;
		aeg_raft_conf_get(r, &conf);
		uint64_t need = target;
		for (uint32_t i = 0; i < conf.n; i++) {
			const struct aeg_raft_progress *pr = aeg_raft_progress_of(r, conf.ids[i]);
			if (pr != NULL && conf.ids[i] != rp->cfg.node && pr->recent_active && pr->match < need)
				need = pr->match;
		}
		uint64_t used = st.last_index - st.first_index + 1;
		uint32_t window = rp->cfg.log_entries_max ? rp->cfg.log_entries_max : 1024;
		if (used < window / 4 * 3 && st.log_bytes < rp->log_bytes_max / 4 * 3)
			target = need;
	}
	if (target < st.first_index)
		return true;
	int rc = aeg_raft_compact(r, target);
	if (rc != 0)
		rp_log(rp, "group %u: compact to %llu: %s", s->group, (unsigned long long)target, strerror(-rc));
	return true;
}

void rp_snapshot_needs(struct aeg_replica *rp)
{
	for (uint32_t i = 0; i < rp->n_shards; i++) {
		struct rp_shard *s = &rp->shards[i];
		if (s->kv == NULL)
			continue;  /* a free slot */
		struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
		struct aeg_raft_status st;
		aeg_raft_status(r, &st);
		if (st.role != AEG_RAFT_LEADER || s->snap_index + 1 >= st.first_index)
			continue;
		struct aeg_raft_conf conf;
		aeg_raft_conf_get(r, &conf);
		for (uint32_t k = 0; k < conf.n; k++) {
			const struct aeg_raft_progress *pr = aeg_raft_progress_of(r, conf.ids[k]);
			if (pr != NULL && conf.ids[k] != rp->cfg.node && pr->match + 1 < st.first_index) {
				s->want_snapshot = true;  /* its next entry is gone: it needs ours */
				rp_work(rp, s);
				break;
			}
		}
	}
	if (rp->now_ms - rp->last_pin_check_ms < 1000)
		return;
	rp->last_pin_check_ms = rp->now_ms;
	uint64_t pinned[16];
	int n = aeg_wal_pinning_groups(rp->wal, pinned, 16);
	for (int i = 0; i < n; i++) {
		struct rp_shard *s = pinned[i] < rp->groups_max ? rp_shard_of(rp, (uint32_t)pinned[i]) : NULL;
		if (s != NULL) {
			s->want_snapshot = true;  /* an idle group must not hold the disk */
			rp_work(rp, s);
		}
	}
}

/* The applied index at which the shard's next periodic snapshot is due.
 * Under uniform load every group reaches snapshot_every at about the same
 * moment; the first one comes earlier by a per-group amount, which keeps
 * the groups out of step from then on (one stall at a time, not all). */
uint64_t rp_snapshot_due(const struct aeg_replica *rp, const struct rp_shard *s)
{
	uint64_t every = rp->cfg.snapshot_every;
	assert(every > 0);
	if (s->snap_index != 0 || every < 2)
		return s->snap_index + every;
	return every - ((uint64_t)s->group * 0x9E3779B1u) % (every / 2);
}

/* The snapshot file carries the Raft configuration as of its index. */
static int meta_conf_set(struct aeg_wal_snap_meta *m, const struct aeg_raft_conf *conf)
{
	int n = aeg_raft_conf_encode(conf, m->conf, sizeof(m->conf));
	if (n < 0)
		return n;
	m->conf_len = (uint32_t)n;
	return 0;
}

/* Makes b the group's snapshot: Raft sends it from there until the next
 * one, so the previous buffer is let go only now (the file writer may
 * still hold it). */
static void snap_adopt(struct rp_shard *s, struct snap_buf *b, uint64_t index)
{
	snap_buf_put(s->snap);
	s->snap = b;
	s->snap_index = index;
}

int rp_snapshot_take(struct aeg_replica *rp, struct rp_shard *s)
{
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	struct aeg_raft_status rs;
	aeg_raft_status(r, &rs);
	uint64_t index = rs.applied;
	const struct aeg_raft_entry *e = aeg_raft_entry_at(r, index);
	if (index <= s->snap_index || e == NULL || aeg_kv_applied(s->kv) != index)
		return 0;
	uint64_t t0 = aeg_dp_now_ns();
	size_t len = aeg_kv_snapshot_size(s->kv);
	struct snap_buf *b = snap_buf_new(len);
	if (b == NULL)
		return -ENOMEM;
	int rc = aeg_kv_snapshot_write(s->kv, b->data, len);
	struct aeg_wal_snap_meta meta = { .group = s->group, .index = index, .term = e->term, .len = len };
	struct aeg_raft_conf conf;
	if (rc >= 0)
		rc = aeg_raft_conf_at(r, index, &conf);
	if (rc >= 0)
		rc = meta_conf_set(&meta, &conf);
	if (rc >= 0)
		rc = aeg_raft_snapshot_set(r, index, b->data, (uint32_t)len);
	if (rc < 0) {
		rp_log(rp, "group %u: snapshot at %llu failed: %s", s->group, (unsigned long long)index,
		       strerror(-rc));
		snap_buf_put(b);
		return rc;
	}
	snap_adopt(s, b, index);
	rp->st.snapshots_taken++;
	uint64_t took = aeg_dp_now_ns() - t0;
	if (took >= SNAP_SLOW_NS)
		rp_log(rp, "group %u: snapshot at %llu (%zu bytes) took %llu ms on the loop", s->group,
		       (unsigned long long)index, len, (unsigned long long)(took / 1000000u));
	/* The file is written off the loop; the log is compacted once it is
	 * durable. A full queue: this snapshot serves Raft only, a later one
	 * gets the file. */
	rc = snap_writer_submit(&rp->sw, &meta, b);
	return rc == -EAGAIN ? 0 : rc;
}

void rp_snapshot_files_done(struct aeg_replica *rp)
{
	struct snap_job jobs[16];
	uint32_t n = snap_writer_done(&rp->sw, jobs, 16);
	for (uint32_t i = 0; i < n; i++) {
		const struct aeg_wal_snap_meta *m = &jobs[i].meta;
		int rc = jobs[i].rc;
		if (m->group >= rp->groups_max || rp_shard_of(rp, (uint32_t)m->group) == NULL) {
			/* The group left while its file was written: no marker
			 * (it would bring the group back), no file. */
			(void)aeg_wal_snapshot_remove(rp->wal, m->group);
			snap_buf_put(jobs[i].buf);
			continue;
		}
		if (rc == 0)
			rc = aeg_wal_snapshot_mark(rp->wal, m);
		if (rc == 0) {
			rc = aeg_wal_compact(rp->wal, m->group, m->index);
			rc = rc < 0 ? rc : 0;
		}
		if (rc != 0)
			rp_log(rp, "group %llu: snapshot file at %llu: %s", (unsigned long long)m->group,
			       (unsigned long long)m->index, strerror(-rc));
		snap_buf_put(jobs[i].buf);
	}
}

int rp_install_snapshot(void *ctx, uint32_t group, uint64_t index, uint64_t term,
			const struct aeg_raft_conf *conf, const uint8_t *data, uint32_t len, uint64_t *ticket)
{
	struct aeg_replica *rp = ctx;
	struct rp_shard *s = rp_shard_of(rp, group);
	if (s == NULL)
		return -ENOENT;
	uint64_t t0 = aeg_dp_now_ns();
	int rc = aeg_kv_snapshot_load(s->kv, data, len);
	if (rc != 0) {
		rp_log(rp, "group %u: snapshot at %llu from the leader refused: %s", group,
		       (unsigned long long)index, strerror(-rc));
		return rc;
	}
	struct snap_buf *copy = snap_buf_new(len);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy->data, data, len);
	struct aeg_wal_snap_meta meta = { .group = group, .index = index, .term = term, .len = len };
	rc = conf != NULL ? meta_conf_set(&meta, conf) : -EINVAL;
	/* Synchronous: Raft reports the install durable with this ticket. */
	if (rc >= 0)
		rc = aeg_wal_snapshot_save(rp->wal, &meta, copy->data);
	if (rc < 0) {
		snap_buf_put(copy);
		return rc;
	}
	snap_adopt(s, copy, index);
	(void)aeg_wal_compact(rp->wal, group, index);
	/* The file is durable now (written and synced): no later batch to wait for. */
	*ticket = aeg_wal_durable_lsn(rp->wal);
	s->want_snapshot = true;  /* hands Raft a copy of its own once applied */
	rp_work(rp, s);
	rp->st.snapshots_installed++;
	uint64_t t1 = aeg_dp_now_ns();
	if (t1 - t0 >= SNAP_SLOW_NS)
		rp_log(rp, "group %u: snapshot at %llu from the leader (%u bytes) installed in %llu ms on the loop "
		       "(state machine and file)", group, (unsigned long long)index, len,
		       (unsigned long long)((t1 - t0) / 1000000u));
	return 0;
}

static int load_file(struct aeg_replica *rp, struct rp_shard *s, struct aeg_wal_snap_meta *meta)
{
	size_t cap = 1u << 20;
	for (;;) {
		struct snap_buf *b = snap_buf_new(cap);
		if (b == NULL)
			return -ENOMEM;
		int rc = aeg_wal_snapshot_load(rp->dir, s->group, meta, b->data, cap);
		if (rc >= 0) {
			b->len = (size_t)rc;
			snap_adopt(s, b, meta->index);
			return 0;
		}
		snap_buf_put(b);
		if (rc != -EMSGSIZE || cap >= SNAP_LOAD_MAX)
			return rc;
		cap *= 4;
	}
}

/* Restart: applies committed entries [from, upto] of the log straight to
 * the state machine and makes the result the group's snapshot base (with
 * the config in force at upto: the last CONF entry applied, else the
 * base's, else the initial one), so that Raft gets only the log's tail. */
static int replay_into_base(struct aeg_replica *rp, struct rp_shard *s, struct aeg_raft *r,
			    const struct aeg_wal_recovery *rec, uint64_t from, uint64_t upto,
			    const struct aeg_raft_conf *base_conf)
{
	struct aeg_raft_conf conf = *base_conf;
	uint64_t term = 0;
	for (uint64_t i = from; i <= upto; i++) {
		struct aeg_wal_entry_view e;
		int rc = aeg_wal_recovery_entry(rec, s->group, i, &e);
		struct aeg_kv_result res;
		if (rc == 0 && e.type == AEG_RAFT_ENTRY_NORMAL)
			rc = aeg_kv_apply(s->kv, i, e.data, e.len, &res);
		else if (rc == 0)
			rc = aeg_kv_apply_noop(s->kv, i);
		if (rc == -EINVAL)
			rc = 0;  /* not a command: skipped on every replica alike */
		if (rc == 0 && e.type == AEG_RAFT_ENTRY_CONF)
			rc = aeg_raft_conf_decode(&conf, e.data, e.len);
		if (rc != 0) {
			rp_log(rp, "group %u: replaying entry %llu: %s", s->group, (unsigned long long)i, strerror(-rc));
			return rc;
		}
		term = e.term;
	}
	size_t len = aeg_kv_snapshot_size(s->kv);
	struct snap_buf *b = snap_buf_new(len);
	if (b == NULL)
		return -ENOMEM;
	int rc = aeg_kv_snapshot_write(s->kv, b->data, len);
	if (rc >= 0)
		rc = aeg_raft_restore_snapshot(r, upto, term, &conf);
	if (rc >= 0)
		rc = aeg_raft_snapshot_set(r, upto, b->data, (uint32_t)len);
	if (rc < 0) {
		rp_log(rp, "group %u: base at %llu after replay: %s", s->group, (unsigned long long)upto, strerror(-rc));
		snap_buf_put(b);
		return rc;
	}
	snap_adopt(s, b, upto);
	return 0;
}

/* The snapshot file, if any, into the state machine; *base and *conf
 * describe it (0 and the initial config without one). */
static int recover_file(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_wal_group_state *st,
			struct aeg_wal_snap_meta *meta, struct aeg_raft_conf *conf, uint64_t *base)
{
	*base = 0;
	/* A file the log does not name is from before a crash that came
	 * between the file and its marker (the log then still has every
	 * entry: it is compacted only after the marker), or from an earlier
	 * replica of the group that was dropped: not ours either way. */
	if (st->snap_index == 0)
		return 0;
	int rc = load_file(rp, s, meta);
	if (rc == -ENOENT) {
		if (st->snap_index == 0)
			return 0;
		rp_log(rp, "group %u: the log names a snapshot at %llu but %s/snap-%u.snap is missing", s->group,
		       (unsigned long long)st->snap_index, rp->dir, s->group);
		return -EBADMSG;
	}
	if (rc != 0) {
		rp_log(rp, "group %u: snapshot file: %s", s->group, strerror(-rc));
		return rc;
	}
	if (meta->index < st->snap_index) {
		rp_log(rp, "group %u: snapshot file at %llu is older than the log's marker at %llu", s->group,
		       (unsigned long long)meta->index, (unsigned long long)st->snap_index);
		return -EBADMSG;
	}
	rc = meta->conf_len > 0 ? aeg_raft_conf_decode(conf, meta->conf, meta->conf_len) : -EBADMSG;
	if (rc == 0)
		rc = aeg_kv_snapshot_load(s->kv, s->snap->data, s->snap->len);
	if (rc != 0) {
		rp_log(rp, "group %u: loading the snapshot at %llu: %s", s->group, (unsigned long long)meta->index,
		       strerror(-rc));
		return rc;
	}
	*base = meta->index;
	return 0;
}

int rp_recover_group(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_wal_recovery *rec)
{
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	struct aeg_wal_group_state st;
	int rc = aeg_wal_recovery_find(rec, s->group, &st);
	if (rc == -ENOENT)
		memset(&st, 0, sizeof(st));
	else if (rc != 0)
		return rc;
	if (st.has_hard_state) {
		struct aeg_raft_hard_state hs = { .term = st.term, .vote = (uint32_t)st.vote, .commit = st.commit };
		rc = aeg_raft_restore_hard_state(r, &hs);
		if (rc != 0)
			return rc;
	}
	struct aeg_wal_snap_meta meta;
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(r, &conf);
	uint64_t base;
	rc = recover_file(rp, s, &st, &meta, &conf, &base);
	if (rc != 0)
		return rc;
	uint64_t from = st.first_index > base + 1 ? st.first_index : base + 1;
	/* The log may hold more entries since the last snapshot than the Raft
	 * window (which is compacted without snapshots): committed ones beyond
	 * half a window from the end are applied here and become the base. */
	uint32_t window = rp->cfg.log_entries_max ? rp->cfg.log_entries_max : 1024;
	uint64_t upto = 0;
	if (st.last_index >= from && st.last_index - from + 1 > window / 2) {
		upto = st.last_index - window / 2;
		if (upto > st.commit)
			upto = st.commit;
	}
	if (upto >= from) {
		rc = replay_into_base(rp, s, r, rec, from, upto, &conf);
		if (rc != 0)
			return rc;
		base = upto;
		from = upto + 1;
	} else if (base > 0) {
		rc = aeg_raft_restore_snapshot(r, meta.index, meta.term, &conf);
		if (rc == 0)
			rc = aeg_raft_snapshot_set(r, meta.index, s->snap->data, (uint32_t)s->snap->len);
		if (rc != 0) {
			rp_log(rp, "group %u: restoring the snapshot at %llu: %s", s->group, (unsigned long long)base,
			       strerror(-rc));
			return rc;
		}
	}
	for (uint64_t i = from; st.last_index > 0 && i <= st.last_index; i++) {
		struct aeg_wal_entry_view e;
		rc = aeg_wal_recovery_entry(rec, s->group, i, &e);
		if (rc == 0)
			rc = aeg_raft_restore_entry(r, e.term, e.index, e.type, e.data, e.len);
		if (rc != 0) {
			rp_log(rp, "group %u: restoring entry %llu: %s", s->group, (unsigned long long)i,
			       strerror(-rc));
			return rc;
		}
	}
	if (st.last_index > 0 || base > 0 || st.has_hard_state)
		rp_log(rp, "group %u: recovered term %llu, snapshot %llu, entries up to %llu", s->group,
		       (unsigned long long)st.term, (unsigned long long)base, (unsigned long long)st.last_index);
	return 0;
}
