/* Snapshots of a worker's shards: taking one (state machine bytes, Raft's
 * copy for lagging followers, the snapshot file, log compaction),
 * installing one from the leader, and restoring a group at start from its
 * snapshot file and the log (what the recovery stager resolved).
 *
 * Slow path: the snapshot file is written with blocking write + fsync on
 * the worker's thread (issue [E] leaves moving it off the loop for later). */
#define _GNU_SOURCE
#include "replica_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/wal_recovery.h"
#include "aegis/wal_snapshot.h"

#define SNAP_LOAD_MAX (1ull << 32)

/* Raft keeps this many applied entries in memory behind a snapshot, so
 * that a follower a little behind gets appends, not the whole snapshot. */
static uint64_t keep_behind(const struct aeg_replica *rp)
{
	uint32_t window = rp->cfg.log_entries_max ? rp->cfg.log_entries_max : 1024;
	return window / 4;
}

/* The log window keeps what every live follower still needs, up to 3/4 of
 * the window; past that a lagging follower gets the snapshot instead. */
void rp_compact(struct aeg_replica *rp, struct rp_shard *s)
{
	struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
	struct aeg_raft_status st;
	aeg_raft_status(r, &st);
	uint64_t keep = keep_behind(rp);
	if (st.applied <= keep || st.applied > st.persisted)
		return;
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
		if (used < window / 4 * 3)
			target = need;
	}
	if (target < st.first_index)
		return;
	int rc = aeg_raft_compact(r, target);
	if (rc != 0)
		rp_log(rp, "group %u: compact to %llu: %s", s->group, (unsigned long long)target, strerror(-rc));
}

void rp_snapshot_needs(struct aeg_replica *rp)
{
	for (uint32_t i = 0; i < rp->n_shards; i++) {
		struct rp_shard *s = &rp->shards[i];
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
		if (s != NULL)
			s->want_snapshot = true;  /* an idle group must not hold the disk */
	}
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

/* Makes buf the group's snapshot: Raft sends it from there until the next
 * one, so the previous buffer is freed only now. */
static void snap_adopt(struct rp_shard *s, uint8_t *buf, size_t len, uint64_t index)
{
	free(s->snap_buf);
	s->snap_buf = buf;
	s->snap_len = len;
	s->snap_cap = len;
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
	size_t len = aeg_kv_snapshot_size(s->kv);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		return -ENOMEM;
	int rc = aeg_kv_snapshot_write(s->kv, buf, len);
	struct aeg_wal_snap_meta meta = { .group = s->group, .index = index, .term = e->term, .len = len };
	struct aeg_raft_conf conf;
	if (rc >= 0)
		rc = aeg_raft_conf_at(r, index, &conf);
	if (rc >= 0)
		rc = meta_conf_set(&meta, &conf);
	if (rc >= 0)
		rc = aeg_wal_snapshot_save(rp->wal, &meta, buf);
	if (rc >= 0)
		rc = aeg_raft_snapshot_set(r, index, buf, (uint32_t)len);
	if (rc < 0) {
		rp_log(rp, "group %u: snapshot at %llu failed: %s", s->group, (unsigned long long)index,
		       strerror(-rc));
		free(buf);
		return rc;
	}
	snap_adopt(s, buf, len, index);
	rc = aeg_wal_compact(rp->wal, s->group, index);
	rp->st.snapshots_taken++;
	return rc < 0 ? rc : 0;
}

int rp_install_snapshot(void *ctx, uint32_t group, uint64_t index, uint64_t term,
			const struct aeg_raft_conf *conf, const uint8_t *data, uint32_t len, uint64_t *ticket)
{
	struct aeg_replica *rp = ctx;
	struct rp_shard *s = rp_shard_of(rp, group);
	if (s == NULL)
		return -ENOENT;
	int rc = aeg_kv_snapshot_load(s->kv, data, len);
	if (rc != 0) {
		rp_log(rp, "group %u: snapshot at %llu from the leader refused: %s", group,
		       (unsigned long long)index, strerror(-rc));
		return rc;
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, data, len);
	struct aeg_wal_snap_meta meta = { .group = group, .index = index, .term = term, .len = len };
	rc = conf != NULL ? meta_conf_set(&meta, conf) : -EINVAL;
	if (rc >= 0)
		rc = aeg_wal_snapshot_save(rp->wal, &meta, copy);
	if (rc < 0) {
		free(copy);
		return rc;
	}
	snap_adopt(s, copy, len, index);
	(void)aeg_wal_compact(rp->wal, group, index);
	/* The file is durable now (written and synced): no later batch to wait for. */
	*ticket = aeg_wal_durable_lsn(rp->wal);
	s->want_snapshot = true;  /* hands Raft a copy of its own once applied */
	rp->st.snapshots_installed++;
	return 0;
}

static int load_file(struct aeg_replica *rp, struct rp_shard *s, struct aeg_wal_snap_meta *meta)
{
	size_t cap = 1u << 20;
	for (;;) {
		uint8_t *buf = malloc(cap);
		if (buf == NULL)
			return -ENOMEM;
		int rc = aeg_wal_snapshot_load(rp->dir, s->group, meta, buf, cap);
		if (rc >= 0) {
			snap_adopt(s, buf, (size_t)rc, meta->index);
			return 0;
		}
		free(buf);
		if (rc != -EMSGSIZE || cap >= SNAP_LOAD_MAX)
			return rc;
		cap *= 4;
	}
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
	rc = load_file(rp, s, &meta);
	uint64_t base = 0;
	if (rc == -ENOENT) {
		if (st.snap_index > 0) {
			rp_log(rp, "group %u: the log names a snapshot at %llu but %s/snap-%u.snap is missing",
			       s->group, (unsigned long long)st.snap_index, rp->dir, s->group);
			return -EBADMSG;
		}
	} else if (rc != 0) {
		rp_log(rp, "group %u: snapshot file: %s", s->group, strerror(-rc));
		return rc;
	} else {
		base = meta.index;
		if (base < st.snap_index) {
			rp_log(rp, "group %u: snapshot file at %llu is older than the log's marker at %llu",
			       s->group, (unsigned long long)base, (unsigned long long)st.snap_index);
			return -EBADMSG;
		}
		struct aeg_raft_conf conf;
		rc = meta.conf_len > 0 ? aeg_raft_conf_decode(&conf, meta.conf, meta.conf_len) : -EBADMSG;
		if (rc == 0)
			rc = aeg_kv_snapshot_load(s->kv, s->snap_buf, s->snap_len);
		if (rc == 0)
			rc = aeg_raft_restore_snapshot(r, meta.index, meta.term, &conf);
		if (rc == 0)
			rc = aeg_raft_snapshot_set(r, meta.index, s->snap_buf, (uint32_t)s->snap_len);
		if (rc != 0) {
			rp_log(rp, "group %u: restoring the snapshot at %llu: %s", s->group,
			       (unsigned long long)base, strerror(-rc));
			return rc;
		}
	}
	uint64_t from = st.first_index > base + 1 ? st.first_index : base + 1;
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
