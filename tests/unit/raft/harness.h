/* A tiny in-memory cluster for the Raft unit tests: nodes, a message queue
 * the test delivers from (or drops), a cut matrix for partitions, and
 * storage that persists each ready at once unless a node holds it back. */
#ifndef AEGIS_TEST_RAFT_HARNESS_H
#define AEGIS_TEST_RAFT_HARNESS_H

#include "aegis/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H_NODES_MAX 7
#define H_QUEUE_MAX 4096
#define H_APPLIED_MAX 4096

struct h_msg {
	struct aeg_raft_msg *m;   /* deep copy (tests/sim/msg_clone.h) */
};

struct h_node {
	struct aeg_raft *r;
	struct aeg_raft_config cfg;  /* what r was made with */
	bool hold_persist;           /* leave writes pending (not durable) */
	uint64_t pending_index, pending_term;
	uint64_t applied[H_APPLIED_MAX]; /* index of each applied entry */
	uint32_t n_applied;
	struct aeg_raft_read_state reads[64];
	uint32_t n_reads;
	uint32_t n_snap_installs;
	uint64_t snap_index, snap_term;
	uint8_t snap[256];
	uint32_t snap_len;
};

struct h_net {
	uint32_t n;
	uint32_t voters;
	struct h_node nodes[H_NODES_MAX + 1];   /* 1-based ids */
	bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
	struct h_msg q[H_QUEUE_MAX];
	uint32_t qn;
	uint64_t sent_by_type[AEG_RAFT_MSG_TYPE_MAX + 1];
};

/* Tweaks the default config before a node starts (may be NULL). */
typedef void (*h_cfg_fn)(struct aeg_raft_config *cfg);

void h_init(struct h_net *net, uint32_t n, h_cfg_fn fn);
/* n nodes of which only 1..voters are in the initial config. */
void h_init_voters(struct h_net *net, uint32_t n, uint32_t voters, h_cfg_fn fn);
/* A node whose storage already holds the given entry terms (index 1..).
 * Call after h_init for that node; resets it. */
void h_restart_with_log(struct h_net *net, uint32_t id, uint64_t term, uint32_t vote,
			const uint64_t *terms, uint32_t n_terms, h_cfg_fn fn);
void h_fini(struct h_net *net);
/* Processes the node's ready: persist (unless held), queue messages. */
void h_ready(struct h_net *net, uint32_t id);
void h_ready_all(struct h_net *net);
/* Completes a held write. */
void h_persist(struct h_net *net, uint32_t id);
/* Delivers queued messages until none is left (cut links drop them). */
void h_deliver_all(struct h_net *net);
/* Delivers only the messages matching (from, to, type); 0 = any. */
uint32_t h_deliver(struct h_net *net, uint32_t from, uint32_t to, uint32_t type);
void h_drop_all(struct h_net *net);
void h_isolate(struct h_net *net, uint32_t id);
void h_heal(struct h_net *net);
void h_tick(struct h_net *net, uint32_t id, uint32_t ticks);
/* Ticks every node one at a time and delivers until a leader exists. */
uint32_t h_elect(struct h_net *net, uint32_t id);
uint32_t h_leader(struct h_net *net);
int h_propose(struct h_net *net, uint32_t id, const char *s);
uint32_t h_count_queued(const struct h_net *net, uint32_t from, uint32_t to, uint32_t type);

/* Reading a group through the public API, in expressions. */
struct aeg_raft_status h_st(const struct aeg_raft *r);
struct aeg_raft_conf h_conf(const struct aeg_raft *r);
/* White box (harness.c sees lib/raft's internals): the group's own config,
 * and the knobs a few tests turn on a running group. */
const struct aeg_raft_config *h_cfg(const struct aeg_raft *r);
void h_set_pre_vote(struct aeg_raft *r, bool on);
/* Ticks since a leader was heard: past the lease/boot hold. */
void h_set_since_leader(struct aeg_raft *r, uint32_t ticks);

#endif
