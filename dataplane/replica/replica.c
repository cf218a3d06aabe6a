/* One aegisd worker (replica.h): its shard groups over the group driver,
 * the io_uring log under them, the per-iteration hooks of the worker
 * loop, and the status it publishes for the admin socket. */
#define _GNU_SOURCE
#include "replica_int.h"

#include "aegis/join_req.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aegis/msg.h"
#include "aegis/wal_recovery.h"
#include "dp_clock.h"
#include "local_chan.h"

void rp_log(const struct aeg_replica *rp, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (rp->cfg.log != NULL)
		rp->cfg.log("worker %u: %s", rp->cfg.worker, line);
	else
		fprintf(stderr, "aegisd: worker %u: %s\n", rp->cfg.worker, line);
}

void rp_work(struct aeg_replica *rp, struct rp_shard *s)
{
	if (!s->on_work) {
		s->on_work = true;
		rp->work[rp->n_work++] = (uint32_t)(s - rp->shards);
	}
}

struct rp_shard *rp_shard_of(struct aeg_replica *rp, uint32_t group)
{
	return group < rp->groups_max ? rp->by_group[group] : NULL;
}

/* ---- driver I/O: the log, the network, the state machine --------------- */

static int io_log_entries(void *ctx, uint32_t group, const struct aeg_raft_entry *ents, uint32_t n,
			  uint32_t *taken, uint64_t *ticket)
{
	struct aeg_replica *rp = ctx;
	struct aeg_wal_entry we[64];
	if (n > 64)
		n = 64;
	for (uint32_t i = 0; i < n; i++)
		we[i] = (struct aeg_wal_entry){ .term = ents[i].term, .index = ents[i].index,
						.data = ents[i].data, .len = ents[i].len, .type = ents[i].type };
	int rc = aeg_wal_append_entries(rp->wal, group, we, n, ticket);
	if (rc < 0)
		return rc;
	*taken = (uint32_t)rc;
	return 0;
}

static int io_log_hard_state(void *ctx, uint32_t group, const struct aeg_raft_hard_state *hs, uint64_t *ticket)
{
	struct aeg_replica *rp = ctx;
	int rc = aeg_wal_set_hard_state(rp->wal, group, hs->term, hs->vote, hs->commit, ticket);
	return rc < 0 ? rc : 0;
}

static struct rp_peer *peer_of(struct aeg_replica *rp, uint32_t node)
{
	for (uint32_t i = 0; i < rp->n_peers; i++)
		if (rp->peers[i].node == node)
			return &rp->peers[i];
	return NULL;
}

static int io_send(void *ctx, uint32_t node, uint8_t type, uint32_t group, const uint8_t *body, uint32_t len)
{
	struct aeg_replica *rp = ctx;
	if (rp->w == NULL)
		return -ENOTCONN;
	struct rp_peer *p = peer_of(rp, node);
	if (p != NULL)
		p->last_tx_ms = rp->now_ms;
	rp->st.raft_msgs_out++;
	return aeg_worker_send(rp->w, node, rp->cfg.worker, type, group, body, len);
}

void rp_peers_from_map(struct aeg_replica *rp)
{
	uint32_t n_nodes;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(rp->cfg.map, &n_nodes);
	for (uint32_t i = 0; i < n_nodes && rp->n_peers < RP_PEERS_MAX; i++)
		if (nodes[i].id != rp->cfg.node && peer_of(rp, nodes[i].id) == NULL)
			rp->peers[rp->n_peers++] = (struct rp_peer){ .node = nodes[i].id };
}

int rp_send(struct aeg_replica *rp, uint32_t node, uint8_t type, uint32_t group, const uint8_t *body, uint32_t len)
{
	return io_send(rp, node, type, group, body, len);
}

static void io_apply(void *ctx, uint32_t group, const struct aeg_raft_entry *e)
{
	struct aeg_replica *rp = ctx;
	struct rp_shard *s = rp_shard_of(rp, group);
	assert(s != NULL);
	struct aeg_kv_result res = { 0 };
	int rc;
	if (e->type == AEG_RAFT_ENTRY_NORMAL) {
		rc = aeg_kv_apply(s->kv, e->index, e->data, e->len, &res);
	} else {
		rc = aeg_kv_apply_noop(s->kv, e->index);
	}
	if (rc == -ENOMEM) {
		/* The allocator failed under a budget that every replica
		 * shares: going on would diverge from the others. */
		rp_log(rp, "group %u: out of memory applying index %llu: stopping", group,
		       (unsigned long long)e->index);
		abort();
	}
	if (rc == -EINVAL)
		rp_log(rp, "group %u: index %llu is not a command (skipped on every replica)", group,
		       (unsigned long long)e->index);
	if (rc == 0 && res.status != AEG_KV_OK && e->type == AEG_RAFT_ENTRY_NORMAL)
		rp_split_refused(rp, s, e, &res);
	rp_client_applied(rp, s, e, e->type == AEG_RAFT_ENTRY_NORMAL && rc == 0 ? &res : NULL);
	if (s == rp->meta && e->type == AEG_RAFT_ENTRY_NORMAL && rc == 0)
		rp_meta_applied(rp, e->data, e->len);
	if (rp->cfg.snapshot_every > 0 && e->index >= rp_snapshot_due(rp, s))
		s->want_snapshot = true;
	uint32_t window = rp->cfg.log_entries_max ? rp->cfg.log_entries_max : 1024;
	s->applied_bytes_since_compact += e->len;
	if (++s->applied_since_compact >= window / 4 || rp_compact_due(rp, s) || s->want_snapshot)
		rp_work(rp, s);
}

/* Three stages ahead of the apply (group_driver.h): the command's bytes,
 * then the key's table slot, then the entry in it. */
static void io_prefetch(void *ctx, uint32_t group, const struct aeg_raft_entry *e, uint32_t ahead)
{
	struct aeg_replica *rp = ctx;
	struct rp_shard *s = rp_shard_of(rp, group);
	if (s == NULL || e->type != AEG_RAFT_ENTRY_NORMAL || e->len == 0)
		return;
	if (ahead > 2 * AEG_GD_PREFETCH_STEP) {
		__builtin_prefetch(e->data);
		if (e->len > 64)
			__builtin_prefetch((const uint8_t *)e->data + 64);
	} else {
		aeg_kv_prefetch(s->kv, e->data, e->len, ahead > AEG_GD_PREFETCH_STEP ? 0 : 1);
	}
}

static void io_read_ready(void *ctx, uint32_t group, uint64_t read_ctx, uint64_t index)
{
	rp_client_read_ready(ctx, group, read_ctx, index);
}

/* ---- start-up: groups and recovery --------------------------------------- */

static int replay_rec(void *ctx, const struct aeg_wal_rec *rec)
{
	return aeg_wal_recovery_add(ctx, rec);
}

static void raft_config_of(struct aeg_replica *rp, uint32_t group, struct aeg_raft_config *rc)
{
	const struct aeg_replica_config *c = &rp->cfg;
	aeg_raft_config_default(rc, c->node, rp->seed ^ ((uint64_t)c->node << 32) ^ group, c->tick_ms);
	/* Thousands of groups per worker: small fixed parts per group, payloads
	 * in the worker's pool, one snapshot receive buffer per worker. */
	aeg_raft_config_many_groups(rc);
	/* A move adds a learner beside the voters (aegis/shard_move.h); the
	 * meta group has every node (up to the config limit). */
	uint32_t members = group == aeg_shard_group(aeg_shard_map_meta_shard(c->map))
				   ? AEG_RAFT_CONF_MAX : aeg_shard_map_replication_factor(c->map) + 1;
	if (members > rc->peers_max)
		rc->peers_max = members < AEG_RAFT_CONF_MAX ? members : AEG_RAFT_CONF_MAX;
	rc->election_ticks_min = (c->election_ms_min + c->tick_ms - 1) / c->tick_ms;
	rc->election_ticks_max = (c->election_ms_max + c->tick_ms - 1) / c->tick_ms;
	rc->heartbeat_ticks = (c->heartbeat_ms + c->tick_ms - 1) / c->tick_ms;
	rc->pre_vote = c->pre_vote;
	rc->check_quorum = c->check_quorum;
	rc->lease_read = c->lease_read;
	rc->quiesce_ticks = c->quiesce_ms / c->tick_ms;
	if (c->log_entries_max != 0)
		rc->log_entries_max = c->log_entries_max;
	rc->batch_entries_max = 256;
	/* A learner catching up gets the snapshot one chunk per round trip:
	 * 16 KiB chunks moved ~4 MB/s here, 64 KiB and 512 KiB ones (a
	 * fragmented message) both ~8 MB/s (bench/rebalance): the rest of a
	 * move costs more than the round trips. */
	rc->snapshot_chunk_bytes = 64u << 10;
	rc->snapshot_keep_streams = true;  /* rp_snapshot_kept_check */
	rc->inflight_max = 64;      /* appends in flight per follower (8 B each) */
	rc->reads_max = 256;          /* pipelined linearizable reads per group */
	/* The log may hold a few values of the largest size besides many
	 * small ones (a quota on the pool, not memory of the group). */
	rc->log_bytes_max = 8ull * (c->kv.value_bytes_max + 4096);
	rp->log_bytes_max = rc->log_bytes_max;
	/* Jumbo frames (node.frame_bytes): appends as large as a frame
	 * holds, so fewer messages (and acks) per write. */
	uint32_t frame = c->dgram_bytes_max ? c->dgram_bytes_max : AEG_CLIENT_DGRAM_BYTES_DEFAULT;
	rc->batch_bytes_max = frame > AEG_CLIENT_DGRAM_BYTES_DEFAULT ? frame - RP_APPEND_ROOM : RP_APPEND_BYTES_MAX;
	rc->snap_slot = &rp->snap_slot;
	rc->snap_slot_idle_ticks = 4 * rc->election_ticks_max;
	rc->payload_alloc = payload_pool_alloc;
	rc->payload_free = payload_pool_free;
	rc->payload_ctx = &rp->pool;
}

/* A new group (nothing in the log): its preferred leader campaigns at once
 * (staggered over loop iterations); the other replicas hold their election
 * timers for two timeouts plus a share of the start-up, so that thousands
 * of groups elect without storms. A restarted group elects as usual. */
static void bootstrap(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_raft_conf *conf,
		      const struct aeg_raft_config *rc)
{
	struct aeg_raft_status st;
	aeg_raft_status(aeg_gd_raft(rp->gd, s->group), &st);
	if (st.term != 0 || st.last_index != 0)
		return;
	if (conf->ids[0] == rp->cfg.node && conf->roles[0] == AEG_RAFT_MEMBER_VOTER) {
		rp->campaign[rp->n_campaign++] = s->group;
		return;
	}
	uint32_t startup_ticks = aeg_shard_map_shard_count(rp->cfg.map) / 100;
	aeg_gd_tick_hold(rp->gd, s->group, 12 * rc->election_ticks_max + startup_ticks);
}

/* Campaigns of new groups, a few per iteration, once every peer has been
 * heard from (a campaign before the others run only fails), or after a
 * while with whoever is there. */
static void campaigns(struct aeg_replica *rp)
{
	if (rp->campaign_next >= rp->n_campaign)
		return;
	if (rp->campaign_wait_since_ms == 0)
		rp->campaign_wait_since_ms = rp->now_ms;
	bool solo = aeg_shard_map_replication_factor(rp->cfg.map) == 1;  /* nobody to wait for */
	bool all_heard = true;
	for (uint32_t i = 0; i < rp->n_peers; i++)
		all_heard = all_heard && rp->peers[i].heard;
	if (!solo && !all_heard && rp->now_ms - rp->campaign_wait_since_ms < 10u * rp->cfg.election_ms_max)
		return;
	for (uint32_t k = 0; k < 64 && rp->campaign_next < rp->n_campaign; k++) {
		uint32_t group = rp->campaign[rp->campaign_next++];
		struct aeg_raft *r = aeg_gd_raft(rp->gd, group);
		struct aeg_raft_status st;
		aeg_raft_status(r, &st);
		if (st.term == 0 && st.role == AEG_RAFT_FOLLOWER && st.lead == 0) {
			aeg_raft_campaign(r);
			aeg_gd_touch(rp->gd, group);
		}
	}
}

/* s (shard, group set) with its state machine, Raft group (initial config
 * conf, preferred leader first) and what the log recovered of it (rec
 * NULL: a new group, nothing to recover). */
static int group_open(struct aeg_replica *rp, struct rp_shard *s, const struct aeg_raft_conf *conf,
		      const struct aeg_wal_recovery *rec)
{
	rp->by_group[s->group] = s;
	int rc = aeg_kv_new(&s->kv, &rp->cfg.kv, NULL);
	if (rc != 0)
		return rc;
	struct aeg_raft_config rc_cfg;
	raft_config_of(rp, s->group, &rc_cfg);
	rp->st.raft_bytes_per_group = aeg_raft_memory_bytes(&rc_cfg);
	rc = aeg_gd_group_add(rp->gd, s->group, &rc_cfg, conf);
	if (rc != 0)
		return rc;
	if (rec != NULL) {
		rc = rp_recover_group(rp, s, rec);
		if (rc != 0)
			return rc;
	}
	aeg_gd_group_restored(rp->gd, s->group);
	bootstrap(rp, s, conf, &rc_cfg);
	return 0;
}

static void conf_of_voters(struct aeg_raft_conf *conf, const uint32_t *ids, uint32_t n)
{
	memset(conf, 0, sizeof(*conf));
	for (uint32_t i = 0; i < n && i < AEG_RAFT_CONF_MAX; i++) {
		conf->ids[conf->n] = ids[i];
		conf->roles[conf->n++] = AEG_RAFT_MEMBER_VOTER;
	}
}

/* The start config of a shard: the map's replicas, or, for a replica the
 * map does not place here (a move brought it), the map's other replicas
 * with us a learner (the log's own config, once it has one, wins). */
static void start_conf(struct aeg_replica *rp, uint32_t shard, struct aeg_raft_conf *conf)
{
	uint32_t n = 0;
	const uint32_t *reps = aeg_shard_replicas(rp->cfg.map, shard, &n);
	conf_of_voters(conf, reps, n);
	if (aeg_shard_has_replica(rp->cfg.map, shard, rp->cfg.node) || conf->n == AEG_RAFT_CONF_MAX)
		return;
	conf->ids[conf->n] = rp->cfg.node;
	conf->roles[conf->n++] = AEG_RAFT_MEMBER_LEARNER;
}

static struct rp_shard *slot_new(struct aeg_replica *rp)
{
	for (uint32_t i = 0; i < rp->n_shards; i++)
		if (rp->shards[i].kv == NULL && rp->shards[i].group == 0)
			return &rp->shards[i];
	if (rp->n_shards == rp->shards_cap)
		return NULL;
	return &rp->shards[rp->n_shards++];
}

/* The file that says this worker's groups come from its log: written once
 * the first start's groups are all in the log. Before it, the map's
 * placement (and whatever the log already holds) is created. */
#define PLACED_FILE "placed"

static bool placed(const struct aeg_replica *rp)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/" PLACED_FILE, rp->dir);
	return access(path, F_OK) == 0;
}

static int placed_write(struct aeg_replica *rp)
{
	for (uint32_t i = 0; i < rp->n_shards; i++) {
		uint64_t lsn;
		struct aeg_raft_status st;
		aeg_raft_status(aeg_gd_raft(rp->gd, rp->shards[i].group), &st);
		int rc = st.term == 0 && st.last_index == 0
				 ? aeg_wal_set_hard_state(rp->wal, rp->shards[i].group, 0, 0, 0, &lsn) : 0;
		if (rc == -EAGAIN)
			rc = aeg_wal_flush(rp->wal, NULL, NULL) < 0 ? -EIO
			     : aeg_wal_set_hard_state(rp->wal, rp->shards[i].group, 0, 0, 0, &lsn);
		if (rc < 0) {
			rp_log(rp, "recording group %u in the log: %s", rp->shards[i].group, strerror(-rc));
			return rc;
		}
	}
	int rc = aeg_wal_flush(rp->wal, NULL, NULL);
	if (rc < 0) {
		rp_log(rp, "log flush at first start: %s", strerror(-rc));
		return rc;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/" PLACED_FILE, rp->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fsync(fd) != 0 || close(fd) != 0 || fsync(aeg_wal_dir_fd(rp->wal)) != 0) {
		rc = -errno;
		rp_log(rp, "writing %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return 0;
}

static int groups_create(struct aeg_replica *rp, const struct aeg_wal_recovery *rec)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	uint32_t count = aeg_shard_map_shard_count(m);
	bool from_log = placed(rp);
	for (uint32_t shard = 0; shard < count; shard++) {
		if (aeg_shard_worker(shard, rp->cfg.workers) != rp->cfg.worker)
			continue;
		struct aeg_wal_group_state gst;
		bool in_log = aeg_wal_recovery_find(rec, aeg_shard_group(shard), &gst) == 0;
		bool in_map = aeg_shard_has_replica(m, shard, rp->cfg.node);
		if (!in_log && (from_log || !in_map))
			continue;
		struct rp_shard *s = slot_new(rp);
		assert(s != NULL);
		s->shard = shard;
		s->group = aeg_shard_group(shard);
		struct aeg_raft_conf conf;
		start_conf(rp, shard, &conf);
		int rc = group_open(rp, s, &conf, rec);
		if (rc != 0)
			return rc;
	}
	struct rp_shard *meta = &rp->shards[rp->n_shards];
	struct aeg_raft_conf conf;
	if (rp_meta_create(rp, meta, &conf) == 1) {
		rp->n_shards++;
		int rc = group_open(rp, meta, &conf, rec);
		if (rc != 0)
			return rc;
	}
	return from_log ? 0 : placed_write(rp);
}

int rp_group_add(struct aeg_replica *rp, uint32_t shard, const struct aeg_raft_conf *conf, uint64_t created_index)
{
	uint32_t group = aeg_shard_group(shard);
	assert(rp_shard_of(rp, group) == NULL && group < rp->groups_max);
	struct rp_shard *s = slot_new(rp);
	if (s == NULL)
		return -ENOSPC;
	memset(s, 0, sizeof(*s));
	s->shard = shard;
	s->group = group;
	s->created_index = created_index;
	/* In the log before anything else: a restart finds the group there. */
	uint64_t lsn;
	int rc = aeg_wal_set_hard_state(rp->wal, group, 0, 0, 0, &lsn);
	if (rc == 0)
		rc = group_open(rp, s, conf, NULL);
	if (rc != 0) {
		if (rp_shard_of(rp, group) == s)
			(void)aeg_gd_group_remove(rp->gd, group);
		aeg_kv_free(s->kv);
		rp->by_group[group] = NULL;
		memset(s, 0, sizeof(*s));
	}
	return rc;
}

int rp_group_drop(struct aeg_replica *rp, struct rp_shard *s)
{
	assert(s->kv != NULL && s->staged_first == 0);
	uint32_t group = s->group;
	rp_client_drop_group(rp, s, s->drop_hint);
	if (s->on_work) {
		uint32_t idx = (uint32_t)(s - rp->shards), kept = 0;
		for (uint32_t i = 0; i < rp->n_work; i++)
			if (rp->work[i] != idx)
				rp->work[kept++] = rp->work[i];
		rp->n_work = kept;
	}
	(void)aeg_gd_group_remove(rp->gd, group);
	uint64_t lsn;
	int rc = aeg_wal_group_remove(rp->wal, group, &lsn);
	/* Durable before the snapshot file goes (a slow path: a move's end):
	 * a restart must not find the group with its file missing. */
	if (rc == 0 || rc == -ENOENT)
		rc = aeg_wal_flush(rp->wal, NULL, NULL) < 0 ? -EIO : 0;
	if (rc == 0) {
		rc = aeg_wal_snapshot_remove(rp->wal, group);
		rc = rc == -ENOENT ? 0 : rc;
	}
	aeg_kv_free(s->kv);
	snap_buf_put(s->snap);
	snap_buf_put(s->snap_kept);
	rp->by_group[group] = NULL;
	memset(s, 0, sizeof(*s));
	return rc;
}

static int open_log(struct aeg_replica *rp, struct aeg_wal_recovery *rec, uint32_t groups)
{
	const struct aeg_replica_config *c = &rp->cfg;
	if (mkdir(rp->dir, 0700) != 0 && errno != EEXIST) {
		int rc = -errno;
		rp_log(rp, "creating %s: %s", rp->dir, strerror(errno));
		return rc;
	}
	struct aeg_wal_config wc = {
		.dir = rp->dir, .worker_id = c->worker, .segment_bytes = c->segment_bytes,
		.batch_bytes_max = c->wal_batch_bytes_max ? c->wal_batch_bytes_max : (4u << 20),
		.groups_max = groups + 16,
		/* Several batches in flight: the next write+fdatasync starts while
		 * the disk still syncs the previous one (slow shared disks). */
		.batches_inflight_max = 4, .dsync = c->wal_dsync, .no_sync = c->wal_no_sync, .replay = replay_rec, .replay_ctx = rec,
	};
	int rc = aeg_wal_open(&rp->wal, &wc);
	if (rc != 0) {
		rp_log(rp, "opening the log in %s: %s", rp->dir, strerror(-rc));
		return rc;
	}
	rc = aeg_wal_recovery_finish(rec);
	if (rc != 0)
		rp_log(rp, "log in %s: %s", rp->dir, aeg_wal_recovery_error(rec, NULL, NULL));
	return rc;
}

int aeg_replica_new(struct aeg_replica **out, const struct aeg_replica_config *cfg)
{
	*out = NULL;
	if (cfg->map == NULL || cfg->workers == 0 || cfg->worker >= cfg->workers || cfg->tick_ms == 0 ||
	    cfg->client_key == NULL || cfg->data_dir == NULL)
		return -EINVAL;
	struct aeg_replica *rp = calloc(1, sizeof(*rp));
	if (rp == NULL)
		return -ENOMEM;
	rp->cfg = *cfg;
	rp->debug = getenv("AEG_DEBUG") != NULL;
	if (getrandom(&rp->seed, sizeof(rp->seed), 0) != sizeof(rp->seed))
		rp->seed = aeg_dp_wall_ns();
	snprintf(rp->dir, sizeof(rp->dir), "%s/w%u", cfg->data_dir, cfg->worker);
	uint32_t count = aeg_shard_map_shard_count(cfg->map);
	uint32_t n_nodes = 0;
	const struct aeg_shard_node *nodes = aeg_shard_map_nodes(cfg->map, &n_nodes);
	for (uint32_t i = 0; i < n_nodes && rp->n_peers < RP_PEERS_MAX; i++) {
		uint32_t id = nodes[i].id;
		if (id != cfg->node)
			rp->peers[rp->n_peers++].node = id;
	}
	rp->groups_max = count + 2;
	rp->shards_cap = count + 1;
	payload_pool_init(&rp->pool, RP_POOL_CACHE_BYTES);
	rp->snap_slot.cap = RP_SNAP_SLOT_BYTES;
	/* mmap, not malloc: pages cost nothing until a snapshot arrives (malloc
	 * may fill them, e.g. under MALLOC_PERTURB_). */
	void *slot = mmap(NULL, RP_SNAP_SLOT_BYTES, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	rp->snap_slot.buf = slot == MAP_FAILED ? NULL : slot;
	rp->by_group = calloc(rp->groups_max, sizeof(*rp->by_group));
	/* + 1: the meta group (replica_meta.c) */
	rp->shards = calloc(count + 1, sizeof(*rp->shards));
	rp->work = calloc(count + 1, sizeof(*rp->work));
	rp->campaign = calloc(count + 1, sizeof(*rp->campaign));
	struct aeg_wal_recovery *rec = NULL;
	int rc = (rp->by_group == NULL || rp->shards == NULL || rp->work == NULL || rp->campaign == NULL || rp->snap_slot.buf == NULL) ? -ENOMEM : aeg_wal_recovery_new(&rec);
	if (rc == 0)
		rc = rp_client_init(rp);
	if (rc == 0)
		rc = open_log(rp, rec, count);
	if (rc == 0) {
		struct aeg_gd_config gc;
		aeg_gd_config_default(&gc, cfg->node);
		gc.groups_max = rp->groups_max;
		gc.snap_bytes_per_s = cfg->snap_bytes_per_s;
		struct aeg_gd_io io = {
			.log_entries = io_log_entries, .log_hard_state = io_log_hard_state,
			.install_snapshot = rp_install_snapshot, .send = io_send, .apply = io_apply, .prefetch = io_prefetch,
			.read_ready = io_read_ready, .ctx = rp,
		};
		rc = aeg_gd_new(&rp->gd, &gc, &io);
	}
	if (rc == 0)
		rc = snap_pool_init(&rp->snap_pool);
	if (rc == 0)
		rc = snap_writer_start(&rp->sw, aeg_wal_dir(rp->wal), aeg_wal_dir_fd(rp->wal), &rp->snap_pool);
	if (rc == 0)
		rc = groups_create(rp, rec);
	if (rec != NULL)
		aeg_wal_recovery_free(rec);
	if (rc != 0) {
		aeg_replica_free(rp);
		return rc;
	}
	rp_log(rp, "%u shard groups, log in %s", rp->n_shards, rp->dir);
	*out = rp;
	return 0;
}

void aeg_replica_free(struct aeg_replica *rp)
{
	(void)aeg_replica_close(rp);
}

int aeg_replica_close(struct aeg_replica *rp)
{
	if (rp == NULL)
		return 0;
	int result = rp->st.wal_failed;
	snap_writer_stop(&rp->sw);  /* files queued are written first */
	if (rp->wal != NULL && rp->sw.joined)
		rp_snapshot_files_done(rp);
	snap_writer_fini(&rp->sw);
	if (rp->wal != NULL) {
		int rc = aeg_wal_flush(rp->wal, NULL, NULL);
		if (rc < 0) {
			rp_log(rp, "final log flush: %s", strerror(-rc));
			result = rc;
		}
		aeg_wal_close(rp->wal);
	}
	aeg_gd_free(rp->gd);  /* gives every payload back to the pool */
	payload_pool_fini(&rp->pool);
	if (rp->snap_slot.buf != NULL)
		munmap(rp->snap_slot.buf, RP_SNAP_SLOT_BYTES);
	for (uint32_t i = 0; i < rp->n_shards; i++) {
		if (rp->shards[i].kv != NULL)
			aeg_kv_free(rp->shards[i].kv);
		snap_buf_put(rp->shards[i].snap);
		snap_buf_put(rp->shards[i].snap_kept);
	}
	rp_client_fini(rp);
	rp_split_fini(rp);
	for (int i = 0; i < 2; i++) {
		free(rp->pub_groups[i]);
		free(rp->pub_place[i]);
	}
	free(rp->meta_place);
	free(rp->shards);
	free(rp->work);
	free(rp->campaign);
	free(rp->by_group);
	snap_pool_fini(&rp->snap_pool);  /* every buffer is back by now */
	free(rp);
	return result;
}

/* ---- the worker loop's hooks --------------------------------------------- */

void aeg_replica_on_msg(void *arg, struct aeg_worker *w, uint32_t src_node, uint32_t src_worker,
			const struct aeg_wire_msg *m)
{
	struct aeg_replica *rp = arg;
	rp->w = w;
	if (src_worker != rp->cfg.worker) {
		rp->st.raft_bad++;  /* shards live on the same worker index everywhere */
		return;
	}
	rp->st.raft_msgs_in++;
	struct rp_peer *p = peer_of(rp, src_node);
	if (p != NULL) {
		p->last_rx_ms = rp->now_ms;
		p->heard = true;
		p->rx_msgs++;
		if (p->down) {
			p->down = false;
			rp_log(rp, "node %u is back", src_node);
		}
	}
	if (m->type == AEG_MSG_META) {
		rp_meta_on_msg(rp, src_node, m->body, m->body_len);
		return;
	}
	if (m->type == AEG_MSG_PLACE) {
		rp_place_on_msg(rp, src_node, m->body, m->body_len);
		return;
	}
	if (aeg_gd_receive(rp->gd, src_node, m->type, m->group, m->body, m->body_len) != 0)
		rp->st.raft_bad++;
}

void aeg_replica_on_raw(void *arg, struct aeg_worker *w, const struct aeg_pkt *pkt)
{
	struct aeg_replica *rp = arg;
	rp->w = w;
	if (pkt->ipv4 == AEG_LOCAL_IPV4) {
		rp->st.client_drops++;  /* the local channels' address: never from the wire */
		return;
	}
	if (pkt->len >= 4 && ((uint32_t)pkt->data[0] | (uint32_t)pkt->data[1] << 8 | (uint32_t)pkt->data[2] << 16 |
			      (uint32_t)pkt->data[3] << 24) == AEG_JOIN_REQ_MAGIC) {
		rp_join_heard(rp, pkt);
		return;
	}
	rp_client_datagram(rp, pkt);
}

static void wal_durable(struct aeg_replica *rp)
{
	int rc = aeg_wal_poll(rp->wal, NULL, NULL);
	if (rc < 0 && rp->st.wal_failed == 0) {
		rp->st.wal_failed = rc;
		rp_log(rp, "the log stopped: %s (no more writes are acknowledged)", strerror(-rc));
	}
	aeg_gd_durable(rp->gd, aeg_wal_durable_lsn(rp->wal));
}

static uint32_t after_work(struct aeg_replica *rp)
{
	uint32_t did = aeg_gd_process(rp->gd);
	rp_snapshot_files_done(rp);
	uint32_t n = rp->n_work, kept = 0, snaps = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct rp_shard *s = &rp->shards[rp->work[i]];
		/* One snapshot per iteration: it walks the whole state machine
		 * on the loop, and several at once stall every group's writes. */
		bool snap_later = s->want_snapshot && snaps > 0;
		if (s->want_snapshot && snaps == 0) {
			s->want_snapshot = false;
			snaps++;
			(void)rp_snapshot_take(rp, s);
		}
		bool compact_later = false;
		if (rp_compact_due(rp, s)) {
			compact_later = !rp_compact(rp, s);
			if (!compact_later)
				s->applied_since_compact = 0, s->applied_bytes_since_compact = 0;
		}
		bool one_waits = s->n_one > 0 && rp_client_check_one(rp, s);
		if (one_waits || compact_later || snap_later)
			rp->work[kept++] = rp->work[i];  /* still waiting on the disk or its turn */
		else
			s->on_work = false;
	}
	/* Shards added meanwhile (rp_work during the loop) follow the kept ones. */
	memmove(rp->work + kept, rp->work + n, (rp->n_work - n) * sizeof(*rp->work));
	rp->n_work = kept + (rp->n_work - n);
	int rc = aeg_wal_submit(rp->wal);
	if (rc < 0 && rp->st.wal_failed == 0) {
		rp->st.wal_failed = rc;
		rp_log(rp, "log submit: %s", strerror(-rc));
	}
	did += aeg_gd_flush(rp->gd);
	rp_client_check(rp);
	rp_replies_flush(rp);
	return did + (rc > 0);
}

static void clocks(struct aeg_replica *rp, uint64_t now_ns)
{
	rp->now_ms = now_ns / 1000000u;
	rp->now_ns = now_ns;
	rp->wall_ms = aeg_dp_wall_ns() / 1000000u;
}

static void status_publish(struct aeg_replica *rp);

/* Keepalives on quiet links (an empty heartbeat batch) and the failure
 * detector that wakes quiet groups led by a silent node. */
static void liveness(struct aeg_replica *rp)
{
	uint8_t empty[8];
	int len = aeg_raft_hb_batch_encode(NULL, 0, empty, sizeof(empty));
	/* Our own pause (a long iteration, a starved CPU) is not the peers'
	 * silence: their frames wait in our queue. Without this, one stall
	 * wakes every group the peers lead, the elections cost CPU, that makes
	 * the next stall: a storm that 10,000 groups per node never leave. */
	uint64_t gap = rp->liveness_ms != 0 ? rp->now_ms - rp->liveness_ms : 0;
	rp->liveness_ms = rp->now_ms;
	if (gap > rp->cfg.heartbeat_ms) {
		for (uint32_t i = 0; i < rp->n_peers; i++) {
			struct rp_peer *p = &rp->peers[i];
			if (p->last_rx_ms == 0)
				continue;
			p->last_rx_ms += gap - rp->cfg.heartbeat_ms;
			if (p->last_rx_ms > rp->now_ms)
				p->last_rx_ms = rp->now_ms;
		}
		if (gap >= rp->cfg.election_ms_min && rp->now_ms - rp->stall_log_ms >= 10000) {
			rp->stall_log_ms = rp->now_ms;
			rp_log(rp, "loop stalled for %llu ms (CPU starved or a long iteration); "
			       "peers' silence during it is not counted", (unsigned long long)gap);
		}
	}
	for (uint32_t i = 0; i < rp->n_peers; i++) {
		struct rp_peer *p = &rp->peers[i];
		if (p->last_rx_ms == 0)
			p->last_rx_ms = rp->now_ms;  /* start: give it a timeout's grace */
		if (len > 0 && rp->now_ms - p->last_tx_ms >= rp->cfg.heartbeat_ms)
			(void)io_send(rp, p->node, AEG_MSG_RAFT_HB, 0, empty, (uint32_t)len);
		/* Silent for election_timeout_min plus a keepalive, and at least 4
		 * keepalives (our own stalls are not counted): one survivor of each
		 * group it led campaigns at once (aeg_gd_node_down), the others
		 * wake. The keepalive of margin: the other survivors grant the
		 * pre-vote only once they too have not heard the leader for
		 * election_timeout_min (counted in ticks, which lag a little). A
		 * dead leader is then replaced in about min + a heartbeat + a vote
		 * round; should that vote fail, the election timers do it within
		 * 2 x election_timeout_max. A false suspicion costs pre-votes the
		 * live leader's followers refuse. */
		uint64_t silent_ms = rp->cfg.election_ms_min + rp->cfg.heartbeat_ms;
		if (silent_ms < 4ull * rp->cfg.heartbeat_ms)
			silent_ms = 4ull * rp->cfg.heartbeat_ms;
		if (!p->down && rp->now_ms - p->last_rx_ms > silent_ms) {
			p->down = true;
			rp_log(rp, "node %u silent for %llu ms: waking the groups it leads", p->node,
			       (unsigned long long)(rp->now_ms - p->last_rx_ms));
			aeg_gd_node_down(rp->gd, p->node);
		}
	}
}

uint32_t aeg_replica_on_tick(void *arg, struct aeg_worker *w, uint64_t now_ns)
{
	struct aeg_replica *rp = arg;
	rp->w = w;
	clocks(rp, now_ns);
	uint64_t before = aeg_wal_durable_lsn(rp->wal);
	wal_durable(rp);
	aeg_gd_tick(rp->gd, rp->now_ms, rp->cfg.tick_ms);
	campaigns(rp);
	liveness(rp);
	rp_place_tick(rp);
	rp_split_tick(rp);
	rp_meta_tick(rp);
	uint32_t did = after_work(rp);
	/* Both walk every shard: with thousands of them, less often. */
	uint64_t period = RP_STATUS_PERIOD_NS * (rp->n_shards > 1000 ? rp->n_shards / 1000 : 1);
	if (now_ns - rp->last_status_ns >= period) {
		rp->last_status_ns = now_ns;
		status_publish(rp);
		rp_snapshot_needs(rp);
	}
	/* A write still on the disk is not work: the idle wait wakes on its
	 * completion (aeg_replica_wake_fd), so the loop does not spin for it. */
	return did + (aeg_wal_durable_lsn(rp->wal) != before);
}

int aeg_replica_wake_fd(void *arg)
{
	struct aeg_replica *rp = arg;
	return aeg_wal_wait_fd(rp->wal);
}

uint32_t aeg_replica_on_rx_done(void *arg, struct aeg_worker *w, uint64_t now_ns)
{
	struct aeg_replica *rp = arg;
	rp->w = w;
	clocks(rp, now_ns);
	uint32_t local = rp_local_poll(rp);  /* embedded clients join this iteration's batch */
	rp_propose_staged(rp);
	return after_work(rp) + local;
}

void aeg_replica_on_exit(void *arg, struct aeg_worker *w)
{
	struct aeg_replica *rp = arg;
	(void)w;
	int rc = aeg_wal_flush(rp->wal, NULL, NULL);
	if (rc < 0 && rp->st.wal_failed == 0) {
		rp->st.wal_failed = rc;
		rp_log(rp, "log flush at stop: %s", strerror(-rc));
	}
}

/* ---- status --------------------------------------------------------------- */

static void status_publish(struct aeg_replica *rp)
{
	uint64_t seq = __atomic_load_n(&rp->pub_seq, __ATOMIC_RELAXED);
	int slot = (int)((seq + 1) & 1);
	if (rp->pub_groups[slot] == NULL) {
		rp->pub_groups[slot] = calloc(rp->shards_cap + 1, sizeof(struct aeg_replica_group_status));
		if (rp->pub_groups[slot] == NULL)
			return;
	}
	struct aeg_replica_status *st = &rp->pub_st[slot];
	*st = rp->st;
	st->worker = rp->cfg.worker;
	st->map_epoch = aeg_shard_map_epoch(rp->cfg.map);
	struct aeg_gd_stats gs;
	aeg_gd_stats_get(rp->gd, &gs);
	st->gd = gs;
	st->groups = (uint32_t)gs.groups;
	st->active_groups = (uint32_t)gs.active;
	const struct aeg_wal_stats *ws = aeg_wal_get_stats(rp->wal);
	st->wal_syncs = ws->syncs;
	st->wal_bytes = ws->bytes_written;
	st->wal_records = ws->records;
	st->wal_batches = ws->batches;
	st->wal_sync_ns = ws->sync_ns;
	st->wal_fill_ns = ws->fill_ns;
	st->wal_report_ns = ws->report_ns;
	st->wal_failed = ws->failed;
	st->driver_bytes = aeg_gd_memory_bytes(rp->gd);
	rp_meta_publish(rp, &st->meta);
	rp_meta_place_publish(rp, slot);
	rp_place_publish(rp, st);
	rp_split_publish(rp, &st->split);
	/* What the control plane's failure detector reads (lib/membership). */
	st->n_peers = rp->n_peers < AEG_REPLICA_PEERS_MAX ? rp->n_peers : AEG_REPLICA_PEERS_MAX;
	for (uint32_t i = 0; i < st->n_peers; i++)
		st->peers[i] = (struct aeg_replica_peer_status){ .node = rp->peers[i].node,
								 .rx_msgs = rp->peers[i].rx_msgs };
	uint32_t changes = 0, n_pub = 0;
	for (uint32_t i = 0; i < rp->n_shards; i++) {
		struct rp_shard *s = &rp->shards[i];
		if (s->kv == NULL)
			continue;  /* a free slot (dropped) */
		struct aeg_replica_group_status *g = &rp->pub_groups[slot][n_pub++];
		struct aeg_raft_status rs;
		struct aeg_raft *r = aeg_gd_raft(rp->gd, s->group);
		aeg_raft_status(r, &rs);
		struct aeg_kv_stats ks;
		aeg_kv_stats_get(s->kv, &ks);
		if (rs.term != s->seen_term || rs.lead != s->seen_lead) {
			/* An operator wants to see leadership move (and tests read it);
			 * with many groups, a count per status period instead. */
			if (s->seen_term != 0 && ++changes <= 8)
				rp_log(rp, "group %u: term %llu, leader %u (was term %llu, leader %u), %s here",
				       s->group, (unsigned long long)rs.term, rs.lead, (unsigned long long)s->seen_term,
				       s->seen_lead, rs.role == AEG_RAFT_LEADER ? "leader" : "not leader");
			s->seen_term = rs.term;
			s->seen_lead = rs.lead;
		}
		*g = (struct aeg_replica_group_status){
			.shard = s->shard, .group = s->group, .role = (uint8_t)rs.role,
			.quiet = aeg_raft_quiescent(r), .lead = rs.lead, .term = rs.term,
			.commit = rs.commit, .applied = rs.applied, .last_index = rs.last_index,
			.keys = ks.keys, .kv_bytes = ks.logical_bytes,
			.mem_bytes = ks.mem_bytes + st->raft_bytes_per_group + (s->snap ? s->snap->len : 0),
			.error = aeg_gd_group_error(rp->gd, s->group),
		};
		struct aeg_raft_conf conf;
		aeg_raft_conf_get(r, &conf);
		for (uint32_t k = 0; k < conf.n && k < AEG_REPLICA_MEMBERS_MAX; k++) {
			g->members[k] = conf.ids[k];
			g->member_roles[k] = conf.roles[k];
			g->n_members++;
		}
	}
	if (changes > 8)
		rp_log(rp, "%u more groups changed term or leader in the last %llu ms", changes - 8,
		       (unsigned long long)(RP_STATUS_PERIOD_NS / 1000000u));
	rp->pub_n[slot] = n_pub;
	__atomic_store_n(&rp->pub_seq, seq + 1, __ATOMIC_RELEASE);
}

/* Words [off, off + n) of the published placement (seqlock copy): the
 * meta epoch of the copy, 0 if none. */
static uint64_t pub_place_read(struct aeg_replica *rp, uint32_t *out, size_t off, size_t n)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t seq = __atomic_load_n(&rp->pub_seq, __ATOMIC_ACQUIRE);
		int slot = (int)(seq & 1);
		if (seq == 0 || rp->pub_place[slot] == NULL)
			return 0;
		uint64_t epoch = rp->pub_place_epoch[slot];
		memcpy(out, rp->pub_place[slot] + off, n * sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&rp->pub_seq, __ATOMIC_RELAXED) <= seq + 1)
			return epoch;
	}
	return 0;
}

uint64_t aeg_replica_meta_placement(struct aeg_replica *rp, uint32_t *out, size_t n)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	size_t want = (size_t)aeg_shard_map_shard_count(m) * aeg_shard_map_replication_factor(m);
	return n < want ? 0 : pub_place_read(rp, out, 0, want);
}

uint64_t aeg_replica_meta_states(struct aeg_replica *rp, uint32_t *out, size_t n)
{
	const struct aeg_shard_map *m = rp->cfg.map;
	size_t count = aeg_shard_map_shard_count(m), cells = count * aeg_shard_map_replication_factor(m);
	return n < count ? 0 : pub_place_read(rp, out, cells, count);
}

uint64_t aeg_replica_meta_ranges(struct aeg_replica *rp, uint8_t *buf, size_t cap, size_t *len)
{
	*len = 0;
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t seq = __atomic_load_n(&rp->pub_seq, __ATOMIC_ACQUIRE);
		int slot = (int)(seq & 1);
		if (seq == 0)
			return 0;
		uint64_t index = rp->pub_ranges_index[slot];
		uint32_t n = rp->pub_ranges_len[slot];
		if (index != 0 && (n > cap || rp->pub_ranges[slot] == NULL))
			return 0;
		if (index != 0)
			memcpy(buf, rp->pub_ranges[slot], n);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&rp->pub_seq, __ATOMIC_RELAXED) <= seq + 1) {
			*len = index != 0 ? n : 0;
			return index;
		}
	}
	return 0;
}

uint32_t aeg_replica_status_read(struct aeg_replica *rp, struct aeg_replica_status *st,
				 struct aeg_replica_group_status *groups, uint32_t max)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		uint64_t seq = __atomic_load_n(&rp->pub_seq, __ATOMIC_ACQUIRE);
		if (seq == 0) {
			memset(st, 0, sizeof(*st));
			st->worker = rp->cfg.worker;
			return 0;
		}
		int slot = (int)(seq & 1);
		*st = rp->pub_st[slot];
		uint32_t n = rp->pub_n[slot];
		if (groups != NULL && rp->pub_groups[slot] != NULL)
			memcpy(groups, rp->pub_groups[slot], (n < max ? n : max) * sizeof(*groups));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		/* The worker writes the other slot next; two publishes during
		 * our copy would reuse this one. */
		if (__atomic_load_n(&rp->pub_seq, __ATOMIC_RELAXED) <= seq + 1)
			return n;
	}
	return 0;
}
