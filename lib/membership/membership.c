/* Node and cluster states from heartbeats (aegis/membership.h). */
#include "aegis/membership.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

static struct aeg_member *find(struct aeg_members *ms, uint32_t id)
{
	for (uint32_t i = 0; id != 0 && i < ms->n; i++)
		if (ms->m[i].id == id)
			return &ms->m[i];
	return NULL;
}

uint32_t aeg_members_set_voters(struct aeg_members *ms, const uint32_t *ids, uint32_t n)
{
	uint32_t changed = 0;
	for (uint32_t i = 0; i < ms->n; i++) {
		bool voter = false;
		for (uint32_t k = 0; k < n && !voter; k++)
			voter = ids[k] == ms->m[i].id;
		changed += ms->m[i].voter != voter;
		ms->m[i].voter = voter;
	}
	return changed;
}

const struct aeg_member *aeg_members_get(const struct aeg_members *ms, uint32_t id)
{
	return find((struct aeg_members *)ms, id);
}

static int set_state(struct aeg_member *m, uint8_t to, uint64_t now_ms, struct aeg_member_event *ev)
{
	if (m->state == to)
		return 0;
	if (ev != NULL)
		*ev = (struct aeg_member_event){ .id = m->id, .from = m->state, .to = to, .at_ms = now_ms };
	m->state = to;
	m->since_ms = now_ms;
	m->beats = 0;
	if (to == AEG_NODE_HEALTHY)
		m->ever_healthy = true;
	return 1;
}

int aeg_members_init(struct aeg_members *ms, const struct aeg_members_config *cfg, uint32_t self,
		     const uint32_t *ids, const bool *voters, uint32_t n, uint64_t now_ms)
{
	if (cfg == NULL || cfg->suspect_ms == 0 || cfg->down_ms <= cfg->suspect_ms || cfg->healthy_after == 0 ||
	    self == 0 || ids == NULL || n > AEG_MEMBERS_MAX)
		return -EINVAL;
	memset(ms, 0, sizeof(*ms));
	ms->cfg = *cfg;
	ms->self = self;
	for (uint32_t i = 0; i < n; i++) {
		int rc = aeg_members_add(ms, ids[i], voters == NULL || voters[i], now_ms);
		if (rc != 0)
			return rc == -EEXIST ? -EINVAL : rc;
	}
	struct aeg_member *me = find(ms, self);
	if (me == NULL)
		return -EINVAL;
	set_state(me, AEG_NODE_HEALTHY, now_ms, NULL);
	return 0;
}

int aeg_members_add(struct aeg_members *ms, uint32_t id, bool voter, uint64_t now_ms)
{
	if (id == 0)
		return -EINVAL;
	if (find(ms, id) != NULL)
		return -EEXIST;
	if (ms->n == AEG_MEMBERS_MAX)
		return -ENOSPC;
	/* A new node gets down_ms of grace from now before it can be DOWN. */
	ms->m[ms->n++] = (struct aeg_member){ .id = id, .voter = voter, .state = AEG_NODE_STARTING,
					      .last_heard_ms = now_ms, .since_ms = now_ms };
	return 0;
}

int aeg_members_heard(struct aeg_members *ms, uint32_t id, uint64_t now_ms, struct aeg_member_event *ev)
{
	struct aeg_member *m = find(ms, id);
	if (m == NULL)
		return -ENOENT;
	if (now_ms > m->last_heard_ms)
		m->last_heard_ms = now_ms;
	switch (m->state) {
	case AEG_NODE_SUSPECT:
		return set_state(m, AEG_NODE_HEALTHY, now_ms, ev); /* it was a pause */
	case AEG_NODE_DOWN:
		/* Back from the dead: its data may be stale or copied away; it
		 * earns HEALTHY again like a new node. */
		return set_state(m, AEG_NODE_STARTING, now_ms, ev);
	case AEG_NODE_STARTING:
		if (++m->beats >= ms->cfg.healthy_after)
			return set_state(m, AEG_NODE_HEALTHY, now_ms, ev);
		return 0;
	default:
		return 0; /* HEALTHY stays; LEAVING and LEFT are the meta log's */
	}
}

uint32_t aeg_members_tick(struct aeg_members *ms, uint64_t now_ms, struct aeg_member_event *ev, uint32_t max)
{
	uint32_t out = 0;
	for (uint32_t i = 0; i < ms->n && out < max; i++) {
		struct aeg_member *m = &ms->m[i];
		if (m->id == ms->self || m->state == AEG_NODE_LEAVING || m->state == AEG_NODE_LEFT)
			continue;
		uint64_t silent = now_ms > m->last_heard_ms ? now_ms - m->last_heard_ms : 0;
		uint8_t to = m->state;
		if (silent >= ms->cfg.down_ms)
			to = AEG_NODE_DOWN;
		else if (silent >= ms->cfg.suspect_ms && m->state == AEG_NODE_HEALTHY)
			to = AEG_NODE_SUSPECT;
		else if (silent >= ms->cfg.suspect_ms && m->state == AEG_NODE_STARTING)
			m->beats = 0; /* heartbeats "in a row" */
		out += (uint32_t)set_state(m, to, now_ms, ev != NULL ? &ev[out] : NULL);
	}
	return out;
}

int aeg_members_leave(struct aeg_members *ms, uint32_t id, uint64_t now_ms, struct aeg_member_event *ev)
{
	struct aeg_member *m = find(ms, id);
	if (m == NULL)
		return -ENOENT;
	if (m->state == AEG_NODE_LEFT)
		return -EINVAL;
	return set_state(m, AEG_NODE_LEAVING, now_ms, ev);
}

int aeg_members_left(struct aeg_members *ms, uint32_t id, uint64_t now_ms, struct aeg_member_event *ev)
{
	struct aeg_member *m = find(ms, id);
	if (m == NULL)
		return -ENOENT;
	if (id == ms->self)
		return -EINVAL;
	return set_state(m, AEG_NODE_LEFT, now_ms, ev);
}

bool aeg_members_needs_copy(const struct aeg_members *ms, uint32_t id, uint64_t now_ms)
{
	const struct aeg_member *m = aeg_members_get(ms, id);
	return m != NULL && m->state == AEG_NODE_DOWN && now_ms - m->since_ms >= ms->cfg.rereplicate_ms;
}

enum aeg_cluster_state aeg_members_cluster_state(const struct aeg_members *ms)
{
	uint32_t voters = 0, alive = 0, others_healthy = 0;
	bool all_healthy = true;
	for (uint32_t i = 0; i < ms->n; i++) {
		const struct aeg_member *m = &ms->m[i];
		if (m->state == AEG_NODE_LEFT)
			continue;
		if (m->voter && m->state != AEG_NODE_LEAVING) {
			voters++;
			alive += m->state == AEG_NODE_HEALTHY || m->state == AEG_NODE_SUSPECT;
			others_healthy += m->id != ms->self && m->ever_healthy;
		}
		if (m->state != AEG_NODE_LEAVING && m->state != AEG_NODE_HEALTHY)
			all_healthy = false;
	}
	assert(voters == 0 || alive <= voters);
	if (voters > 1 && others_healthy == 0)
		return AEG_CLUSTER_FORMING;
	if (2 * alive <= voters)
		return AEG_CLUSTER_NO_QUORUM;
	return all_healthy ? AEG_CLUSTER_HEALTHY : AEG_CLUSTER_DEGRADED;
}

const char *aeg_node_state_name(uint8_t state)
{
	static const char *const names[] = { "starting", "healthy", "suspect", "down", "leaving", "left" };
	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "invalid";
}

const char *aeg_cluster_state_name(enum aeg_cluster_state s)
{
	static const char *const names[] = { "forming", "healthy", "degraded", "no_quorum" };
	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "invalid";
}
