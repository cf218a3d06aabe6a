/* Deterministic cluster simulator for lib/raft driven through the group
 * driver (lib/multiraft, aegis/group_driver.h), as aegisd's workers drive
 * it: N nodes, each running G Raft groups on one driver, a simulated log
 * shared by the node's groups (batches with tickets that become durable
 * after a latency; the unsynced tail is lost or torn on a crash) and a
 * simulated network carrying the driver's encoded messages (loss,
 * duplication, delay/reordering, symmetric and asymmetric partitions),
 * clients running a tiny key-value workload per group, all in virtual time
 * driven by one seed. After every event the invariants are checked per
 * group; at the end each group's client history is checked for
 * linearizability and liveness after healing is checked. */
#ifndef AEGIS_SIM_H
#define AEGIS_SIM_H

#include "aegis/group_driver.h"
#include "aegis/raft.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_NODES_MAX 5
#define SIM_GROUPS_MAX 4
#define SIM_LOG_MAX 2048         /* entries a group's log may reach in one run */
#define SIM_KEYS 4
#define SIM_CLIENTS 3            /* per group */
#define SIM_OPS_MAX 600          /* per group */
#define SIM_TERMS_MAX 4096
#define SIM_CONFS_MAX 512        /* committed config entries in one run */
/* The transport's largest message (the worker's fragmentation limit,
 * aegis/worker.h msg_bytes_max default: 1 MiB + 64 KiB) and a frame. */
#define SIM_MSG_BYTES_MAX ((1u << 20) + (64u << 10))
#define SIM_FRAME_BYTES 1472u

/* ---- PRNG (xoshiro256**, seeded by splitmix64) ---- */
struct sim_rng {
	uint64_t s[4];
};
void rng_seed(struct sim_rng *g, uint64_t seed);
uint64_t rng_next(struct sim_rng *g);
uint64_t rng_below(struct sim_rng *g, uint64_t n);   /* [0, n) */
bool rng_pct(struct sim_rng *g, uint32_t pct);        /* true with pct % */

/* ---- fault mix ---- */
struct sim_mix {
	const char *name;
	uint32_t loss_pct, dup_pct;
	uint32_t delay_us_min, delay_us_max;
	uint32_t partition_every_ms;   /* 0: never */
	uint32_t crash_every_ms;       /* 0: never */
	uint32_t transfer_every_ms;    /* 0: never */
	uint32_t drift_pct;            /* per-node tick period +- */
	uint32_t disk_us_min, disk_us_max;
	bool torn;                     /* a crash may tear the unsynced write */
	bool lease_read;
	/* raft knobs: plain Raft without pre-vote/check-quorum must be safe too */
	bool no_prevote, no_check_quorum;
	uint32_t batch_entries;        /* entries per append (0: 64) */
	uint32_t snap_every;           /* take a snapshot every N applied entries (0: never) */
	uint32_t conf_every_ms;        /* membership changes (0: never) */
	uint32_t moves_every_ms;       /* replica moves, moves.c (0: never) */
	uint32_t churn_every_ms;       /* joins, drains, failures + the planner, churn.c (0: never) */
	uint32_t initial_voters;       /* nodes 1..k start as voters (0: all) */
	uint32_t quiesce_ticks;        /* raft quiescence (0: off) */
	uint32_t think_ms_max;         /* client pause between ops (0: 40 ms) */
	uint32_t partition_ms_max;     /* longest partition (0: 550 ms) */
	/* adversarial crashes at interesting points */
	uint32_t crash_after_vote_pct;   /* a node that just granted a vote */
	uint32_t crash_after_commit_pct; /* a leader whose commit just moved */
	uint32_t crash_after_propose_pct;/* a leader that just took a proposal */
	/* the driver and its log */
	uint32_t groups;               /* Raft groups per node (0: 1) */
	uint32_t log_room;             /* entries a log batch takes (0: any) */
	uint32_t log_inflight;         /* batches in flight (0: any) */
	uint32_t value_bytes_min, value_bytes_max; /* put payloads (0: 13 B) */
	/* Figure 8 share: this % of seeds run one entry per append, leaders
	 * crash right after proposing or after their commit moves */
	uint32_t fig8_pct;
};
extern const struct sim_mix sim_mixes[];
extern const uint32_t sim_mixes_n;
/* Mixes run only by name (--mix), not in the default rotation. */
extern const struct sim_mix sim_extra_mixes[];
extern const uint32_t sim_extra_mixes_n;

/* ---- events ---- */
enum sim_ev_type {
	EV_TICK, EV_DELIVER, EV_DISK_DONE, EV_CLIENT, EV_FAULT, EV_HEAL, EV_RESTART, EV_CRASH, EV_MOVE, EV_PLAN,
	EV_INSTALL_DONE,
};

struct sim_ev {
	uint64_t t;
	uint64_t seq;
	uint32_t type;
	uint32_t node;
	uint64_t arg;
	void *ptr;
};

/* ---- disk ---- */
struct sim_dentry {
	uint64_t term;
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

#define SIM_SNAP_BYTES (SIM_KEYS * 8 + 16)  /* kv values, chain hash, index */

struct sim_snap {
	uint64_t index, term;          /* index 0: none */
	struct aeg_raft_conf conf;
	uint8_t data[SIM_SNAP_BYTES];
	uint32_t len;
};

/* One record of a log batch, for one group: a hard state, entries (writing
 * index lo drops every stored entry >= lo) or an installed snapshot. */
enum sim_rec_kind { REC_HS, REC_ENTS, REC_SNAP };

struct sim_rec {
	uint32_t kind;
	uint32_t group;                /* 0-based */
	struct aeg_raft_hard_state hs;
	struct sim_snap snap;
	uint64_t lo, hi;
	struct sim_dentry *ents;
	struct sim_rec *next;
};

/* A batch of the node's log: every record the driver handed over between
 * two submissions; one ticket; durable at once after its latency. */
struct sim_batch {
	uint64_t ticket;
	struct sim_rec *head, *tail;
	uint32_t n_ents;
	uint64_t done_t;
	struct sim_batch *next;
};

/* What is durable for one group of one node. */
struct sim_gdisk {
	struct aeg_raft_hard_state hs;
	struct sim_snap snap;          /* the log's base */
	uint64_t last;
	struct sim_dentry log[SIM_LOG_MAX + 1];  /* [snap.index + 1, last] */
};

/* ---- one group on one node ---- */
struct sim_pending_op {
	uint32_t op;                   /* history index */
	uint64_t index, term;          /* put: entry; read: read index (term 0) */
	bool read_ready;
};

struct sim_rep {
	uint32_t node, g;              /* g: 0-based; the driver's group id is g + 1 */
	struct aeg_raft *r;            /* the driver's group; NULL while down */
	/* mirror of the raft log as handed to the log: term and chained hash
	 * per index (mterm, mchain below), valid in [mbase, mlast] */
	uint64_t mlast;
	uint64_t mbase;                /* snapshot base: mterm/mchain valid from here */
	uint64_t lag_lo;               /* the log did not take entries from here (0: none) */
	struct sim_snap own_snap;      /* what aeg_raft_snapshot_set points at */
	struct sim_snap inst_snap;     /* installed from the leader (slot mode) */
	bool installed;                /* in this process(): set inst_snap again */
	bool install_pending;          /* seeds with bit 2: inst_snap loads later (EV_INSTALL_DONE) */
	uint64_t payload_allocs, payload_bytes;
	uint64_t max_commit;           /* this incarnation */
	uint64_t applied;
	uint64_t applied_bytes;        /* since the last snapshot */
	uint64_t kv[SIM_KEYS];
	struct sim_pending_op pend[SIM_CLIENTS * 4];
	uint32_t n_pend;
	enum aeg_raft_role prev_role;
	uint64_t prev_term;
	/* Large arrays last: reused across seeds, valid only in the ranges
	 * above, not cleared (sim_run clears what comes before). */
	struct sim_gdisk disk;
	uint64_t mterm[SIM_LOG_MAX + 1];
	uint64_t mchain[SIM_LOG_MAX + 1];
};

struct sim;

struct sim_node {
	struct sim *sim;
	uint32_t id;
	bool up;
	struct aeg_gd *gd;             /* NULL while down */
	struct aeg_raft_config cfg;    /* of the last group added */
	uint32_t tick_us;
	uint64_t clock_ms;             /* the node's monotonic clock (ticks) */
	struct sim_rep *reps;          /* [SIM_GROUPS_MAX], kept across seeds */
	/* the log: the open batch, batches in flight (complete in order) */
	struct sim_batch *open;
	struct sim_batch *head, *tail;
	uint32_t inflight;
	/* Odd seeds: the snapshot receive buffer is a slot shared by the
	 * node's groups (a worker's); an installed snapshot is served on from
	 * inst_snap. Seeds with bit 1 set and large-value mixes: payloads
	 * come from a counting allocator (a worker's pool) that must balance
	 * when the group is freed. */
	struct aeg_raft_snap_slot slot;
	uint8_t slot_buf[SIM_SNAP_BYTES];
	uint32_t incarnation;
	uint64_t crashed_t;            /* last crash: its unsent messages die */
	uint64_t bad_msgs;             /* driver's count at the last check */
};

/* ---- history ---- */
/* OP_GET is linearizable (ReadIndex or lease); OP_GET_STALE reads any
 * replica's applied state (consistency level "one"): not linearizable by
 * design, checked only for values that were really written. */
enum sim_op_kind { OP_PUT, OP_GET, OP_GET_STALE };

struct sim_op {
	uint32_t client;
	uint32_t kind;
	uint32_t key;
	uint64_t value;                /* put: written; get: observed */
	uint64_t invoke_t, return_t;   /* return_t = UINT64_MAX: no answer */
	bool ok;
	bool failed;                   /* put that provably never took effect */
	uint64_t index, term;          /* put: its log entry */
	const char *how;               /* "log", "read_index", "lease" */
};

struct sim_client {
	uint32_t target;               /* node it talks to */
	int32_t op;                    /* outstanding op, -1 none */
	uint64_t deadline;
	bool submitted;
};

/* A committed config entry (global knowledge). */
struct sim_gconf {
	uint64_t index;
	struct aeg_raft_conf conf;
};

/* Global knowledge of one group, for the invariants, and its workload. */
struct sim_group {
	uint64_t gcommit;                            /* max committed index seen */
	uint32_t n_gconfs;
	uint32_t n_ops;
	struct sim_client clients[SIM_CLIENTS];
	uint64_t next_value;
	uint64_t live_t, live_index;                 /* liveness probe */
	uint32_t leader_of_term[SIM_TERMS_MAX];
	/* Large arrays last: reused across seeds, valid up to gcommit,
	 * n_gconfs, n_ops; not cleared. */
	uint64_t gchain[SIM_LOG_MAX + 1];
	uint64_t gterm[SIM_LOG_MAX + 1];
	uint64_t gcterm[SIM_LOG_MAX + 1];            /* term in which it was seen committed */
	struct sim_gconf gconfs[SIM_CONFS_MAX];      /* committed conf entries, by index */
	struct sim_op ops[SIM_OPS_MAX];
};

/* ---- network message in flight: the driver's encoded bytes ---- */
struct sim_msg {
	uint32_t from, to, group;      /* group: the driver's id (0 for a batch) */
	uint8_t type;                  /* AEG_MSG_RAFT or AEG_MSG_RAFT_HB */
	uint32_t len;
	uint64_t sent_t;
	uint32_t sender_incarnation;
	uint8_t body[];
};

/* Membership churn (churn.c): what the control plane knows of each node. */
enum sim_member { SIM_MEMBER_OUT = 0, SIM_MEMBER_IN, SIM_MEMBER_LEAVING };
struct sim_churn {
	uint8_t member[SIM_NODES_MAX + 1];    /* enum sim_member */
	uint64_t down_since[SIM_NODES_MAX + 1]; /* first plan that saw it down (0: up) */
	uint64_t joins, drains, failures, plans, planned_moves;
};
/* A replica move in one group (moves.c). */
struct sim_move {
	bool active, dropped;
	uint32_t from, to;
	uint64_t started_t;
};

struct sim {
	uint64_t seed;
	const struct sim_mix *mix;
	uint32_t n;
	uint32_t groups;
	bool fig8;                     /* this seed runs the Figure 8 adversary */
	bool trace;
	uint64_t now;
	uint64_t fault_end_t, end_t, liveness_bound_us;
	struct sim_rng rng;
	struct sim_node nodes[SIM_NODES_MAX + 1];   /* 1-based */
	bool cut[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1];
	struct sim_ev *heap;
	uint32_t heap_n, heap_cap;
	uint64_t ev_seq;
	uint64_t ticket_seq;                         /* log tickets, never reused */
	struct sim_group *grp;                       /* [SIM_GROUPS_MAX], kept across seeds */
	struct aeg_raft_entry *scratch;              /* decode scratch, kept */
	struct sim_rep *reps_mem[SIM_NODES_MAX + 1];
	uint64_t healed_t;
	/* results */
	char failure[256];
	uint64_t events, msgs, acked_writes, reads_ok, lin_steps;
	uint64_t conf_changes, wakes, big_msgs, max_msg, log_full, ops_total;
	uint64_t crashes, partitions, transfers, elections, lin_gaveup, snap_installs, snaps_taken;
	struct sim_move moves[SIM_GROUPS_MAX];
	uint32_t moves_voters;                       /* voters each group starts with */
	uint64_t moves_started, moves_done, moves_failed;
	struct sim_churn churn;
};

/* moves.c */
void moves_start(struct sim *s);
/* Starts a move of group g's replica on from to to (no move of g active). */
void moves_begin(struct sim *s, uint32_t g, uint32_t from, uint32_t to);
void moves_step(struct sim *s);
bool moves_idle(const struct sim *s);
void moves_check_end(struct sim *s);

/* churn.c */
void churn_init(struct sim *s);
void churn_event(struct sim *s);
void churn_plan(struct sim *s);
/* The planner has nothing left to move (true without churn). */
bool churn_settled(struct sim *s);
void churn_check_end(struct sim *s);
/* sim.c */
void sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_push(struct sim *s, uint64_t t, uint32_t type, uint32_t node, uint64_t arg, void *ptr);
int sim_run(struct sim *s, uint64_t seed, const struct sim_mix *mix, uint32_t nodes, bool trace);
void sim_free(struct sim *s);
/* The leader of group g (0-based) with the highest term, or 0. */
uint32_t sim_leader(const struct sim *s, uint32_t g);
/* Group g's Raft on node id (NULL while down). */
struct aeg_raft *sim_raft(const struct sim *s, uint32_t id, uint32_t g);
static inline struct sim_rep *sim_rep(struct sim *s, uint32_t id, uint32_t g)
{
	return &s->nodes[id].reps[g];
}
/* Mix knobs as this seed runs them (the Figure 8 share overrides some). */
uint32_t sim_batch_entries(const struct sim *s);
uint32_t sim_crash_after_commit_pct(const struct sim *s);
uint32_t sim_crash_after_propose_pct(const struct sim *s);
uint32_t sim_crash_after_elect_pct(const struct sim *s);
/* Figure 8 crash windows (us): a crash within 1 ms also kills what the
 * node just sent (the noop of a new leader, the append after a commit). */
#define FIG8_COMMIT_US 1000
#define FIG8_ELECT_US 1000
#define FIG8_PROPOSE_US 3000

/* net.c */
/* The driver's io.send: one encoded message (copied). */
int net_send(void *ctx, uint32_t to, uint8_t type, uint32_t group, const uint8_t *body, uint32_t len);
void net_deliver(struct sim *s, struct sim_msg *sm);
void net_msg_free(struct sim_msg *sm);
void net_fault(struct sim *s);
void net_heal(struct sim *s);

/* disk.c: the node's log behind aeg_gd_io */
void disk_free(struct sim_gdisk *d);
int disk_log_entries(void *ctx, uint32_t group, const struct aeg_raft_entry *ents, uint32_t n,
		     uint32_t *taken, uint64_t *ticket);
int disk_log_hard_state(void *ctx, uint32_t group, const struct aeg_raft_hard_state *hs,
			uint64_t *ticket);
/* Records an installed snapshot in the open batch. */
void disk_log_snapshot(struct sim *s, struct sim_node *nd, uint32_t g, const struct sim_snap *sn,
		       uint64_t *ticket);
/* Submits the open batch (if any and the log has room in flight). */
void disk_submit(struct sim *s, struct sim_node *nd);
/* The batch with this ticket is durable: lands it, tells the driver. */
void disk_complete(struct sim *s, struct sim_node *nd, uint64_t ticket);
/* Crash: batches not durable are lost; with `torn` the oldest may land in part. */
void disk_crash(struct sim *s, struct sim_node *nd);
/* Makes snap the group's log base at once (a snapshot file written and synced). */
void disk_set_snapshot(struct sim_gdisk *d, const struct sim_snap *snap);

/* node.c */
/* The configuration every group starts with (before any log or snapshot). */
void node_initial_conf(const struct sim *s, struct aeg_raft_conf *c);
int node_start(struct sim *s, uint32_t id);
void node_stop(struct sim *s, uint32_t id);
/* The node's loop after an input: process every dirty group, snapshots,
 * submit the log batch, flush coalesced heartbeats, check. */
void node_loop(struct sim *s, uint32_t id);
void node_maybe_crash_soon(struct sim *s, struct sim_node *nd, uint32_t pct, const char *why);
void node_maybe_crash_within(struct sim *s, struct sim_node *nd, uint32_t pct, const char *why,
			     uint64_t lo_us, uint64_t hi_us);
void node_tick(struct sim *s, uint32_t id);
/* Mirror of entry e as handed to the log by group g on node nd. */
void node_mirror(struct sim *s, struct sim_rep *rp, const struct aeg_raft_entry *e);
uint64_t chain_hash(uint64_t prev, uint64_t term, uint32_t type, const uint8_t *data, uint32_t len);

/* sm.c: the groups' state machine (the driver's io.apply and friends) */
void sm_snap_load(struct sim *s, struct sim_rep *rp, uint64_t index, uint64_t term,
		  const uint8_t *data, uint32_t len);
/* Commit moved: global knowledge, and the Figure 8 adversary. */
void sm_commit_check(struct sim *s, struct sim_rep *rp);
void sm_apply(void *ctx, uint32_t group, const struct aeg_raft_entry *e);
void sm_read_ready(void *ctx, uint32_t group, uint64_t read_ctx, uint64_t index);
/* The end of an install left for later (seeds with bit 2). */
void sm_install_done(struct sim *s, struct sim_node *nd, struct sim_rep *rp);
int sm_install_snapshot(void *ctx, uint32_t group, uint64_t index, uint64_t term,
			const struct aeg_raft_conf *conf, const uint8_t *data, uint32_t len,
			uint64_t *ticket);
void sm_maybe_snapshot(struct sim *s, struct sim_rep *rp);

/* client.c */
void client_event(struct sim *s, uint64_t arg);
void client_start(struct sim *s);
void client_applied(struct sim *s, struct sim_rep *rp, const struct aeg_raft_entry *e);
void client_read_ready(struct sim *s, struct sim_rep *rp, uint64_t ctx, uint64_t index);
void client_node_lost(struct sim *s, struct sim_rep *rp);

/* check.c */
/* Global committed log vs this replica's commit index. */
void check_commit(struct sim *s, struct sim_rep *rp);
/* A leader of term acted (sent a message) or made its term durable. */
void check_leader_of_term(struct sim *s, uint32_t g, uint32_t id, uint64_t term);
void check_all(struct sim *s, uint32_t touched);
/* A snapshot at index (index <= commit) must carry the config in force
 * there in the committed log ("why" names the path for the message). */
void check_snapshot_conf(struct sim *s, const struct sim_rep *rp, uint64_t index,
			 const struct aeg_raft_conf *c, const char *why);
void check_end(struct sim *s);

/* lin.c: Wing & Gong with Lowe's cache, per key, register model. Returns
 * 1 linearizable, 0 not, -1 gave up after max_steps. */
int lin_check_key(const struct sim_op *ops, uint32_t n_ops, uint32_t key,
		  uint64_t max_steps, uint64_t *steps);

#endif
