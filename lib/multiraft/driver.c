/* The group driver: group table, dirty and tick lists, the ready loop with
 * its log write cursor, held messages and persist reports (see
 * aegis/group_driver.h). Heartbeat coalescing and message decoding live in
 * driver_net.c. */
#include "driver_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/msg.h"
#include "aegis/raft_codec.h"

void aeg_gd_config_default(struct aeg_gd_config *c, uint32_t self)
{
	memset(c, 0, sizeof(*c));
	c->self = self;
	c->groups_max = 1024;
	c->peers_max = 16;
	c->held_bytes = 1u << 20;
	c->pending_max = 1u << 16;
	c->msg_bytes_max = (2u << 20);
	c->recv_entries_max = 1024;
	c->hb_per_msg = 64;
}

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t p = 1;
	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

int aeg_gd_new(struct aeg_gd **out, const struct aeg_gd_config *cfg, const struct aeg_gd_io *io)
{
	*out = NULL;
	if (cfg->self == 0 || cfg->groups_max < 2 || cfg->peers_max == 0 || cfg->held_bytes < (64u << 10) ||
	    cfg->pending_max == 0 || cfg->msg_bytes_max < 1024 || cfg->recv_entries_max == 0 ||
	    cfg->hb_per_msg == 0 || cfg->hb_per_msg > 64 || io->log_entries == NULL || io->log_hard_state == NULL ||
	    io->install_snapshot == NULL || io->send == NULL || io->apply == NULL)
		return -EINVAL;
	struct aeg_gd *gd = calloc(1, sizeof(*gd));
	if (gd == NULL)
		return -ENOMEM;
	gd->cfg = *cfg;
	gd->io = *io;
	gd->held.size = pow2_at_least(cfg->held_bytes);
	gd->pend.cap = pow2_at_least(cfg->pending_max);
	gd->groups = calloc(cfg->groups_max, sizeof(*gd->groups));
	gd->dirty = calloc(cfg->groups_max, sizeof(*gd->dirty));
	gd->dirty_spare = calloc(cfg->groups_max, sizeof(*gd->dirty_spare));
	gd->active = calloc(cfg->groups_max, sizeof(*gd->active));
	gd->held.buf = aligned_alloc(8, gd->held.size);
	gd->pend.recs = calloc(gd->pend.cap, sizeof(*gd->pend.recs));
	gd->enc = malloc(cfg->msg_bytes_max);
	gd->ents = calloc(cfg->recv_entries_max, sizeof(*gd->ents));
	gd->peers = calloc(cfg->peers_max, sizeof(*gd->peers));
	gd->hbs = calloc((size_t)cfg->peers_max * cfg->hb_per_msg, sizeof(*gd->hbs));
	gd->hb_buf_bytes = 16 + (size_t)cfg->hb_per_msg * 64;
	gd->hb_buf = malloc(gd->hb_buf_bytes);
	int pace_rc = gd_pace_init(&gd->pace, cfg->snap_bytes_per_s, cfg->snap_pace_slots ? cfg->snap_pace_slots : 8,
				   cfg->snap_pace_slot_bytes ? cfg->snap_pace_slot_bytes : (128u << 10));
	if (gd->groups == NULL || gd->dirty == NULL || gd->dirty_spare == NULL || gd->active == NULL ||
	    gd->held.buf == NULL || gd->pend.recs == NULL || gd->enc == NULL || gd->ents == NULL ||
	    gd->peers == NULL || gd->hbs == NULL || gd->hb_buf == NULL || pace_rc != 0) {
		aeg_gd_free(gd);
		return -ENOMEM;
	}
	*out = gd;
	return 0;
}

void aeg_gd_free(struct aeg_gd *gd)
{
	if (gd == NULL)
		return;
	if (gd->groups != NULL) {
		for (uint32_t g = 0; g < gd->cfg.groups_max; g++) {
			if (gd->groups[g] != NULL) {
				aeg_raft_free(gd->groups[g]->r);
				free(gd->groups[g]);
			}
		}
	}
	free(gd->groups);
	free(gd->dirty);
	free(gd->dirty_spare);
	free(gd->active);
	free(gd->held.buf);
	free(gd->pend.recs);
	gd_pace_fini(&gd->pace);
	free(gd->enc);
	free(gd->ents);
	free(gd->peers);
	free(gd->hbs);
	free(gd->hb_buf);
	free(gd);
}

struct gd_group *gd_group(const struct aeg_gd *gd, uint32_t group)
{
	return group < gd->cfg.groups_max ? gd->groups[group] : NULL;
}

void gd_mark(struct aeg_gd *gd, struct gd_group *g)
{
	if (!g->dirty) {
		g->dirty = true;
		gd->dirty[gd->n_dirty++] = g->id;
	}
	if (!g->active && !aeg_raft_quiescent(g->r)) {
		g->active = true;
		g->active_pos = gd->n_active;
		gd->active[gd->n_active++] = g->id;
	}
}

static void active_remove(struct aeg_gd *gd, struct gd_group *g)
{
	assert(g->active && gd->active[g->active_pos] == g->id);
	uint32_t last = gd->active[--gd->n_active];
	gd->active[g->active_pos] = last;
	gd->groups[last]->active_pos = g->active_pos;
	g->active = false;
}

int aeg_gd_group_add(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_config *rc,
		     const struct aeg_raft_conf *initial)
{
	if (group == 0 || group >= gd->cfg.groups_max || rc->id != gd->cfg.self)
		return -EINVAL;
	if (gd->groups[group] != NULL)
		return -EEXIST;
	struct gd_group *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return -ENOMEM;
	int rc2 = aeg_raft_new(&g->r, rc, initial);
	if (rc2 != 0) {
		free(g);
		return rc2;
	}
	g->id = group;
	g->wr_lo = 1;
	g->wr_hi = 0;
	gd->groups[group] = g;
	gd->n_groups++;
	gd_mark(gd, g);
	return 0;
}

int aeg_gd_group_remove(struct aeg_gd *gd, uint32_t group)
{
	struct gd_group *g = gd_group(gd, group);
	if (g == NULL)
		return -ENOENT;
	if (g->active)
		active_remove(gd, g);
	if (g->dirty) {
		for (uint32_t i = 0; i < gd->n_dirty; i++) {
			if (gd->dirty[i] == group) {
				gd->dirty[i] = gd->dirty[--gd->n_dirty];
				break;
			}
		}
	}
	held_forget(&gd->held, group);
	aeg_raft_free(g->r);
	free(g);
	gd->groups[group] = NULL;
	gd->n_groups--;
	return 0;
}

void aeg_gd_group_restored(struct aeg_gd *gd, uint32_t group)
{
	struct gd_group *g = gd_group(gd, group);
	if (g == NULL)
		return;
	struct aeg_raft_status st;
	aeg_raft_status(g->r, &st);
	g->durable_term = st.term;
	gd_mark(gd, g);
}

void aeg_gd_tick_hold(struct aeg_gd *gd, uint32_t group, uint32_t ticks)
{
	struct gd_group *g = gd_group(gd, group);
	if (g != NULL)
		g->tick_hold = ticks;
}

struct aeg_raft *aeg_gd_raft(struct aeg_gd *gd, uint32_t group)
{
	struct gd_group *g = gd_group(gd, group);
	return g != NULL ? g->r : NULL;
}

int aeg_gd_group_error(const struct aeg_gd *gd, uint32_t group)
{
	struct gd_group *g = gd_group(gd, group);
	return g != NULL ? g->error : -ENOENT;
}

uint32_t aeg_gd_groups(const struct aeg_gd *gd, uint32_t *out, uint32_t max)
{
	uint32_t n = 0;
	for (uint32_t g = 1; g < gd->cfg.groups_max; g++) {
		if (gd->groups[g] == NULL)
			continue;
		if (n < max)
			out[n] = g;
		n++;
	}
	return n;
}

void aeg_gd_touch(struct aeg_gd *gd, uint32_t group)
{
	struct gd_group *g = gd_group(gd, group);
	if (g != NULL)
		gd_mark(gd, g);
}

int aeg_gd_propose(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_payload *batch, uint32_t n,
		   uint64_t *first_index)
{
	struct gd_group *g = gd_group(gd, group);
	if (g == NULL)
		return -ENOENT;
	if (g->error != 0)
		return g->error;
	int rc = aeg_raft_propose(g->r, batch, n, first_index);
	gd_mark(gd, g);
	return rc;
}

int aeg_gd_read_index(struct aeg_gd *gd, uint32_t group, uint64_t read_ctx)
{
	struct gd_group *g = gd_group(gd, group);
	if (g == NULL)
		return -ENOENT;
	int rc = aeg_raft_read_index(g->r, read_ctx);
	gd_mark(gd, g);
	return rc;
}

void aeg_gd_tick(struct aeg_gd *gd, uint64_t now_ms, uint32_t tick_ms)
{
	assert(tick_ms > 0);
	gd_pace_refill(&gd->pace, now_ms);
	gd_pace_drain(gd);
	if (gd->tick_ms_last == 0 || now_ms < gd->tick_ms_last) {
		gd->tick_ms_last = now_ms;
		return;
	}
	uint64_t ticks = (now_ms - gd->tick_ms_last) / tick_ms;
	if (ticks == 0)
		return;
	gd->tick_ms_last += ticks * tick_ms;
	if (ticks > 3)
		ticks = 3;  /* after a stall, do not fire every timeout at once */
	for (uint64_t t = 0; t < ticks; t++) {
		/* Backwards: a group going quiet is swapped out from behind us. */
		for (uint32_t i = gd->n_active; i-- > 0;) {
			struct gd_group *g = gd->groups[gd->active[i]];
			if (g->tick_hold > 0 && aeg_raft_lead(g->r) != AEG_RAFT_NONE)
				g->tick_hold = 0; /* bootstrap done: the leader is known */
			if (g->tick_hold > 0) {
				g->tick_hold--;
				continue;
			}
			aeg_raft_tick(g->r);
			if (aeg_raft_has_ready(g->r) && !g->dirty) {
				g->dirty = true;
				gd->dirty[gd->n_dirty++] = g->id;
			}
			if (aeg_raft_quiescent(g->r))
				active_remove(gd, g);
		}
	}
}

/* The voter that campaigns at once when node, the leader, is down: the
 * lowest voter id but node's. One successor per group, the same on every
 * replica, so the survivors do not split the vote; the others keep their
 * election timers (they take over if the successor is down too). */
static bool successor_is_self(const struct aeg_raft *r, uint32_t self, uint32_t node)
{
	struct aeg_raft_conf conf;
	aeg_raft_conf_get(r, &conf);
	uint32_t best = 0;
	for (uint32_t i = 0; i < conf.n; i++)
		if (conf.ids[i] != node && (conf.roles[i] & AEG_RAFT_MEMBER_VOTER) &&
		    (best == 0 || conf.ids[i] < best))
			best = conf.ids[i];
	return best == self;
}

void aeg_gd_node_down(struct aeg_gd *gd, uint32_t node)
{
	for (uint32_t gid = 1; gid < gd->cfg.groups_max; gid++) {
		struct gd_group *g = gd->groups[gid];
		if (g == NULL)
			continue;
		struct aeg_raft_status st;
		aeg_raft_status(g->r, &st);
		if (st.role != AEG_RAFT_FOLLOWER || (st.lead != node && st.lead != 0))
			continue;
		if (st.lead == node && successor_is_self(g->r, gd->cfg.self, node)) {
			aeg_raft_wake(g->r);
			aeg_raft_campaign(g->r); /* pre-vote first: a live leader keeps its term */
			gd_mark(gd, g);
		} else if (aeg_raft_quiescent(g->r)) {
			aeg_raft_wake(g->r);
			gd_mark(gd, g);
		}
	}
}

bool aeg_gd_busy(const struct aeg_gd *gd)
{
	return gd->n_dirty > 0 || gd->held.count > 0;
}

void aeg_gd_stats_get(const struct aeg_gd *gd, struct aeg_gd_stats *out)
{
	*out = gd->st;
	out->groups = gd->n_groups;
	out->active = gd->n_active;
}

size_t aeg_gd_memory_bytes(const struct aeg_gd *gd)
{
	const struct aeg_gd_config *c = &gd->cfg;
	return sizeof(*gd) + (size_t)c->groups_max * (sizeof(void *) + 3 * sizeof(uint32_t)) +
	       gd->held.size + gd->pend.cap * sizeof(struct pend_rec) + c->msg_bytes_max +
	       (size_t)c->recv_entries_max * sizeof(struct aeg_raft_entry) +
	       (size_t)c->peers_max * (sizeof(*gd->peers) + c->hb_per_msg * sizeof(struct aeg_raft_hb)) +
	       gd->hb_buf_bytes + gd->n_groups * sizeof(struct gd_group);
}
