/* Snapshots of a worker's shards: taking one (state machine bytes, Raft's
 * copy for lagging followers, the snapshot file, log compaction),
 * installing one from the leader, and restoring a group at start from its
 * snapshot file and the log (what the recovery stager resolved).
 *
 * Slow path, and off the loop where it costs: files are written and
 * installs loaded by the worker's snapshot thread (snap_writer.h); the
 * loop serializes the state machine into a pooled buffer (a memcpy-like
 * pass over its keys, sorted). */
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
		rp_snapshot_kept_check(rp, s);
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

/* Lets go of the older snapshot Raft kept for a follower's stream once it
 * no longer sends it. */
void rp_snapshot_kept_check(struct aeg_replica *rp, struct rp_shard *s)
{
	if (s->snap_kept == NULL)
		return;
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	if (r != NULL && aeg_raft_snapshot_kept(r) == s->snap_kept_index)
		return;
	snap_buf_put(s->snap_kept);
	s->snap_kept = NULL;
	s->snap_kept_index = 0;
}

/* A snapshot taken here replaces ours; Raft may keep sending the one it
 * replaces to a follower part way through it (snapshot_keep_streams). */
static void snap_adopt_taken(struct aeg_replica *rp, struct rp_shard *s, struct snap_buf *b, uint64_t index)
{
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	if (s->snap != NULL && s->snap_index != 0 && aeg_raft_snapshot_kept(r) == s->snap_index) {
		snap_buf_put(s->snap_kept);
		s->snap_kept = s->snap;
		s->snap_kept_index = s->snap_index;
		s->snap = NULL;
		rp->st.snapshots_kept++;
	}
	snap_adopt(s, b, index);
	rp_snapshot_kept_check(rp, s);
}

/* The snapshot serialized and its file written by the snapshot thread from
 * a view of the state machine (aeg_kv_view_open: pointer copies here, the
 * kv goes on applying). false: not handed over (do it here). */
static bool take_later(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_wal_snap_meta *meta)
{
	struct aeg_kv_view *view;
	if (aeg_kv_view_open(s->kv, &view) != 0)
		return false;
	struct snap_job job = { .kind = SNAP_JOB_TAKE, .meta = *meta, .view = view, .seq = rp->install_seq + 1 };
	if (snap_writer_submit(&rp->sw, &job) != 0) {
		aeg_kv_view_close(view);
		return false;
	}
	s->take_seq = ++rp->install_seq;
	s->take_ns = aeg_dp_now_ns();
	return true;
}

int rp_snapshot_take(struct aeg_replica *rp, struct rp_shard *s)
{
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	struct aeg_raft_status rs;
	aeg_raft_status(r, &rs);
	uint64_t index = rs.applied;
	const struct aeg_raft_entry *e = aeg_raft_entry_at(r, index);
	if (index <= s->snap_index || e == NULL || aeg_kv_applied(s->kv) != index || s->take_seq != 0)
		return 0;
	struct aeg_wal_snap_meta tmeta = { .group = s->group, .index = index, .term = e->term };
	struct aeg_raft_conf tconf;
	if (aeg_raft_conf_at(r, index, &tconf) == 0 && meta_conf_set(&tmeta, &tconf) == 0 &&
	    take_later(rp, s, &tmeta))
		return 0;
	uint64_t t0 = aeg_dp_now_ns(), c0 = aeg_dp_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	size_t len = aeg_kv_snapshot_size(s->kv);
	struct snap_buf *b = snap_buf_get(&rp->snap_pool, len);
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
	snap_adopt_taken(rp, s, b, index);
	rp->st.snapshots_taken++;
	uint64_t took = aeg_dp_now_ns() - t0;
	if (took >= SNAP_SLOW_NS)
		rp_log(rp, "group %u: snapshot at %llu (%zu bytes) took %llu ms on the loop (%llu ms of CPU)", s->group,
		       (unsigned long long)index, len, (unsigned long long)(took / 1000000u),
		       (unsigned long long)((aeg_dp_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1000000u));
	/* The file is written off the loop; the log is compacted once it is
	 * durable. A full queue: this snapshot serves Raft only, a later one
	 * gets the file. */
	struct snap_job job = { .kind = SNAP_JOB_FILE, .meta = meta, .buf = b };
	rc = snap_writer_submit(&rp->sw, &job);
	return rc == -EAGAIN ? 0 : rc;
}

/* A state machine let go: freed off the loop (50,000 keys take ms). */
static void kv_let_go(struct aeg_replica *rp, struct aeg_kv *kv)
{
	struct snap_job job = { .kind = SNAP_JOB_FREE_KV, .kv = kv };
	if (kv != NULL && snap_writer_submit(&rp->sw, &job) != 0)
		aeg_kv_free(kv);
}

static void file_done(struct aeg_replica *rp, struct snap_job *job)
{
	const struct aeg_wal_snap_meta *m = &job->meta;
	int rc = job->rc;
	if (m->group >= rp->groups_max || rp_shard_of(rp, (uint32_t)m->group) == NULL) {
		/* The group left while its file was written: no marker
		 * (it would bring the group back), no file. */
		(void)aeg_wal_snapshot_remove(rp->wal, m->group);
		return;
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
}

/* The state machine and the file of an install are ready: the marker goes
 * to the log (the file is durable, so a restart finds both), the new state
 * replaces the old, Raft serves the bytes on, and the group goes on. */
static void install_done(struct aeg_replica *rp, struct snap_job *job)
{
	const struct aeg_wal_snap_meta *m = &job->meta;
	uint32_t group = (uint32_t)m->group;
	struct rp_shard *s = m->group < rp->groups_max ? rp_shard_of(rp, group) : NULL;
	if (s == NULL || s->install_seq != job->seq) {
		/* Dropped meanwhile (the driver forgot the install with it). */
		if (s == NULL)
			(void)aeg_wal_snapshot_remove(rp->wal, m->group);
		kv_let_go(rp, job->kv);
		return;
	}
	s->install_seq = 0;
	int rc = job->rc;
	if (rc == 0)
		rc = aeg_wal_snapshot_mark(rp->wal, m);
	if (rc != 0) {
		rp_log(rp, "group %u: snapshot at %llu from the leader: %s (the group stops)", group,
		       (unsigned long long)m->index, strerror(-rc));
		kv_let_go(rp, job->kv);
		(void)aeg_gd_install_done(rp->gd, group, m->index, rc, 0);
		return;
	}
	uint64_t t0 = aeg_dp_now_ns();
	if (s->take_seq != 0)
		aeg_kv_free(s->kv);  /* its view is closed here, on this thread: not on the writer's */
	else
		kv_let_go(rp, s->kv);
	s->kv = job->kv;
	snap_buf_put(s->snap);
	s->snap = job->buf;
	s->snap_index = m->index;
	job->buf = NULL;  /* the shard's now */
	(void)aeg_wal_compact(rp->wal, group, m->index);
	/* Raft's applied is the snapshot's index (the driver held the group):
	 * it sends these bytes on, should it lead before the next snapshot. */
	struct aeg_raft *r = aeg_gd_raft(rp->gd, group);
	if (aeg_raft_snapshot_set(r, m->index, s->snap->data, (uint32_t)s->snap->len) != 0) {
		s->want_snapshot = true;
		rp_work(rp, s);
	}
	/* The file is durable (written and synced); the marker rides on the
	 * next batch, ahead of every later entry of the group. */
	rc = aeg_gd_install_done(rp->gd, group, m->index, 0, aeg_wal_durable_lsn(rp->wal));
	assert(rc == 0);
	(void)rc;
	rp->st.snapshots_installed++;
	uint64_t t1 = aeg_dp_now_ns();
	uint64_t loop_ns = s->install_loop_ns + (t1 - t0);
	if (t1 - s->install_ns >= SNAP_SLOW_NS || loop_ns >= SNAP_SLOW_NS / 4)
		rp_log(rp, "group %u: snapshot at %llu from the leader (%zu bytes) installed in %llu ms: "
		       "state machine %llu ms and file %llu ms off the loop, %llu ms on it", group,
		       (unsigned long long)m->index, s->snap->len, (unsigned long long)((t1 - s->install_ns) / 1000000u),
		       (unsigned long long)(job->load_ns / 1000000u), (unsigned long long)(job->file_ns / 1000000u),
		       (unsigned long long)(loop_ns / 1000000u));
}

/* A snapshot serialized off the loop: Raft sends it from now on (its
 * index may be behind applied by now), the file is durable: the marker and
 * the compaction follow as for any snapshot file. */
static void take_done(struct aeg_replica *rp, struct snap_job *job)
{
	const struct aeg_wal_snap_meta *m = &job->meta;
	uint32_t group = (uint32_t)m->group;
	struct rp_shard *s = m->group < rp->groups_max ? rp_shard_of(rp, group) : NULL;
	aeg_kv_view_close(job->view);  /* the loop's thread: the kv may let go of entries again */
	job->view = NULL;
	if (s == NULL || s->take_seq != job->seq) {
		if (s == NULL)
			(void)aeg_wal_snapshot_remove(rp->wal, m->group);
		return;
	}
	s->take_seq = 0;
	if (job->rc != 0) {
		rp_log(rp, "group %u: snapshot at %llu: %s", group, (unsigned long long)m->index, strerror(-job->rc));
		return;
	}
	struct aeg_raft *r = aeg_gd_raft(rp->gd, group);
	struct aeg_raft_conf conf;
	int rc = aeg_raft_conf_decode(&conf, m->conf, m->conf_len);
	if (rc == 0)
		rc = aeg_raft_snapshot_set_at(r, m->index, m->term, &conf, job->buf->data, (uint32_t)job->buf->len);
	if (rc != 0) {
		/* A newer one came meanwhile (an install): this one is not needed. */
		rp_log(rp, "group %u: snapshot at %llu no longer usable: %s", group, (unsigned long long)m->index,
		       strerror(-rc));
		return;
	}
	snap_adopt_taken(rp, s, job->buf, m->index);
	job->buf = NULL;
	rp->st.snapshots_taken++;
	rp->st.snapshots_off_loop++;
	file_done(rp, job);
	uint64_t took = aeg_dp_now_ns() - s->take_ns;
	if (took >= SNAP_SLOW_NS * 10)
		rp_log(rp, "group %u: snapshot at %llu (%llu bytes) took %llu ms off the loop (serialized in %llu ms, file %llu ms)",
		       group, (unsigned long long)m->index, (unsigned long long)m->len,
		       (unsigned long long)(took / 1000000u), (unsigned long long)(job->load_ns / 1000000u),
		       (unsigned long long)(job->file_ns / 1000000u));
}

void rp_snapshot_files_done(struct aeg_replica *rp)
{
	struct snap_job jobs[16];
	uint32_t n = snap_writer_done(&rp->sw, jobs, 16);
	for (uint32_t i = 0; i < n; i++) {
		if (jobs[i].kind == SNAP_JOB_FILE)
			file_done(rp, &jobs[i]);
		else if (jobs[i].kind == SNAP_JOB_INSTALL)
			install_done(rp, &jobs[i]);
		else if (jobs[i].kind == SNAP_JOB_TAKE)
			take_done(rp, &jobs[i]);
		snap_buf_put(jobs[i].buf);
	}
}

/* The install on the loop: when the thread's queue is full. */
static int install_here(struct aeg_replica *rp, struct rp_shard *s, struct snap_buf *copy,
			const struct aeg_wal_snap_meta *meta, uint64_t *ticket)
{
	uint32_t group = s->group;
	int rc = aeg_kv_snapshot_load(s->kv, copy->data, copy->len);
	if (rc != 0) {
		rp_log(rp, "group %u: snapshot at %llu from the leader refused: %s", group,
		       (unsigned long long)meta->index, strerror(-rc));
		snap_buf_put(copy);
		return rc;
	}
	/* Synchronous: Raft reports the install durable with this ticket. */
	rc = aeg_wal_snapshot_save(rp->wal, meta, copy->data);
	if (rc < 0) {
		snap_buf_put(copy);
		return rc;
	}
	snap_adopt(s, copy, meta->index);
	(void)aeg_wal_compact(rp->wal, group, meta->index);
	/* The file is durable now (written and synced): no later batch to wait for. */
	*ticket = aeg_wal_durable_lsn(rp->wal);
	s->want_snapshot = true;  /* hands Raft a copy of its own once applied */
	rp_work(rp, s);
	rp->st.snapshots_installed++;
	return 0;
}

int rp_install_snapshot(void *ctx, uint32_t group, uint64_t index, uint64_t term,
			const struct aeg_raft_conf *conf, const uint8_t *data, uint32_t len, uint64_t *ticket)
{
	struct aeg_replica *rp = ctx;
	struct rp_shard *s = rp_shard_of(rp, group);
	if (s == NULL)
		return -ENOENT;
	uint64_t t0 = aeg_dp_now_ns(), c0 = aeg_dp_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	struct aeg_wal_snap_meta meta = { .group = group, .index = index, .term = term, .len = len };
	int rc = conf != NULL ? meta_conf_set(&meta, conf) : -EINVAL;
	if (rc < 0)
		return rc;
	/* Raft's receive slot is reused once this returns: the bytes are ours. */
	struct snap_buf *copy = snap_buf_get(&rp->snap_pool, len);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy->data, data, len);
	struct snap_job job = { .kind = SNAP_JOB_INSTALL, .meta = meta, .buf = copy, .seq = rp->install_seq + 1 };
	aeg_kv_limits_get(s->kv, &job.lim);
	rc = snap_writer_submit(&rp->sw, &job);
	if (rc == 0) {
		snap_buf_put(copy);  /* the job holds it */
		s->install_seq = ++rp->install_seq;
		s->install_ns = t0;
		s->install_loop_ns = aeg_dp_now_ns() - t0;
		if (s->install_loop_ns >= SNAP_SLOW_NS / 4)
			rp_log(rp, "group %u: snapshot at %llu from the leader (%u bytes) copied in %llu ms (%llu ms of CPU)",
			       group, (unsigned long long)index, len, (unsigned long long)(s->install_loop_ns / 1000000u),
			       (unsigned long long)((aeg_dp_clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1000000u));
		return AEG_GD_INSTALL_LATER;
	}
	rc = install_here(rp, s, copy, &meta, ticket);
	uint64_t t1 = aeg_dp_now_ns();
	if (rc == 0 && t1 - t0 >= SNAP_SLOW_NS)
		rp_log(rp, "group %u: snapshot at %llu from the leader (%u bytes) installed in %llu ms on the loop "
		       "(state machine and file; the writer's queue was full)", group, (unsigned long long)index, len,
		       (unsigned long long)((t1 - t0) / 1000000u));
	return rc;
}

static int load_file(struct aeg_replica *rp, struct rp_shard *s, struct aeg_wal_snap_meta *meta)
{
	size_t cap = 1u << 20;
	for (;;) {
		struct snap_buf *b = snap_buf_get(&rp->snap_pool, cap);
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
	struct snap_buf *b = snap_buf_get(&rp->snap_pool, len);
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
