/* aegis/membership.h — node and cluster states from heartbeats, for the
 * control plane of issue [G]: suspect/down timeouts (configurable), the
 * states users of the design expect, and when a dead node's data must be
 * copied again.
 *
 * Node states:
 *   STARTING  known, not yet heard `healthy_after` heartbeats in a row
 *             (a new member, or a node back from DOWN)
 *   HEALTHY   heard within suspect_ms
 *   SUSPECT   silent for suspect_ms: no data moves (a pause, a partition
 *             that heals)
 *   DOWN      silent for down_ms; once DOWN for rereplicate_ms its replicas
 *             are to be copied elsewhere (aeg_members_needs_copy)
 *   LEAVING   being drained (aeg_members_leave): heartbeats do not change it
 *   LEFT      gone for good (aeg_members_left): ignored from then on
 * Cluster states (over the voters of the meta group, self included):
 *   FORMING   no voter has been HEALTHY yet but self
 *   NO_QUORUM fewer than a majority of voters HEALTHY or SUSPECT
 *   DEGRADED  a quorum, but some node SUSPECT, DOWN or STARTING
 *   HEALTHY   every node not LEAVING/LEFT is HEALTHY
 *
 * Pure: the caller passes the time (ms, monotonic) in; every change of a
 * node's state comes out as an event, for the meta log and the metrics. */
#ifndef AEGIS_MEMBERSHIP_H
#define AEGIS_MEMBERSHIP_H

#include <stdbool.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_MEMBERS_MAX 256

enum aeg_node_state {
	AEG_NODE_STARTING = 0,
	AEG_NODE_HEALTHY,
	AEG_NODE_SUSPECT,
	AEG_NODE_DOWN,
	AEG_NODE_LEAVING,
	AEG_NODE_LEFT,
};

enum aeg_cluster_state {
	AEG_CLUSTER_FORMING = 0,
	AEG_CLUSTER_HEALTHY,
	AEG_CLUSTER_DEGRADED,
	AEG_CLUSTER_NO_QUORUM,
};

struct aeg_members_config {
	uint32_t suspect_ms;     /* silence before SUSPECT (> 0) */
	uint32_t down_ms;        /* silence before DOWN (> suspect_ms) */
	uint32_t rereplicate_ms; /* DOWN this long: copy its replicas elsewhere */
	uint32_t healthy_after;  /* heartbeats in a row from STARTING (>= 1) */
};

struct aeg_member {
	uint32_t id;
	bool voter;              /* of the meta group */
	uint8_t state;           /* enum aeg_node_state */
	uint32_t beats;          /* heartbeats in a row while STARTING */
	bool ever_healthy;
	uint64_t last_heard_ms;
	uint64_t since_ms;       /* in this state since */
};

struct aeg_members {
	struct aeg_members_config cfg;
	uint32_t self;
	uint32_t n;
	struct aeg_member m[AEG_MEMBERS_MAX];
};

struct aeg_member_event {
	uint32_t id;
	uint8_t from, to;        /* enum aeg_node_state */
	uint64_t at_ms;
};

/* Self (always HEALTHY, never timed out) must be among ids. 0, or -EINVAL
 * (bad config, zero or duplicate id, self missing, n over the max). */
int aeg_members_init(struct aeg_members *ms, const struct aeg_members_config *cfg, uint32_t self,
		     const uint32_t *ids, const bool *voters, uint32_t n, uint64_t now_ms);
/* Adds a node (a join) as STARTING. 0, -EEXIST, -ENOSPC, -EINVAL. */
int aeg_members_add(struct aeg_members *ms, uint32_t id, bool voter, uint64_t now_ms);
/* A heartbeat from id: may write one event to *ev (returns 1), else 0;
 * -ENOENT for an unknown node (the caller counts it, changes nothing). */
int aeg_members_heard(struct aeg_members *ms, uint32_t id, uint64_t now_ms, struct aeg_member_event *ev);
/* Applies the timeouts; writes up to max events, returns how many. */
uint32_t aeg_members_tick(struct aeg_members *ms, uint64_t now_ms, struct aeg_member_event *ev, uint32_t max);
/* Drain (LEAVING) and removal (LEFT), from the meta log. 1 with an event,
 * 0 if already there, -ENOENT, -EINVAL (self cannot be LEFT here). */
int aeg_members_leave(struct aeg_members *ms, uint32_t id, uint64_t now_ms, struct aeg_member_event *ev);
int aeg_members_left(struct aeg_members *ms, uint32_t id, uint64_t now_ms, struct aeg_member_event *ev);
/* The meta group's voters changed (a drained voter handed its vote over):
 * exactly the members in ids[0..n) are voters from now on (ids not
 * members are ignored). Returns how many members changed. */
uint32_t aeg_members_set_voters(struct aeg_members *ms, const uint32_t *ids, uint32_t n);
/* The member, or NULL. */
const struct aeg_member *aeg_members_get(const struct aeg_members *ms, uint32_t id);
/* DOWN for at least rereplicate_ms: its replicas must be copied (a
 * SUSPECT node's never are). */
bool aeg_members_needs_copy(const struct aeg_members *ms, uint32_t id, uint64_t now_ms);
enum aeg_cluster_state aeg_members_cluster_state(const struct aeg_members *ms);
const char *aeg_node_state_name(uint8_t state);
const char *aeg_cluster_state_name(enum aeg_cluster_state s);

AEG_API_END

#endif
