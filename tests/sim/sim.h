/* Deterministic cluster simulator for lib/raft: N real raft nodes, each with
 * a simulated disk (writes complete after a latency; the unsynced tail is
 * lost or torn on a crash) and a simulated network (loss, duplication,
 * delay/reordering, symmetric and asymmetric partitions), clients running a
 * tiny key-value workload, all in virtual time driven by one seed. After
 * every event the invariants are checked; at the end the client history is
 * checked for linearizability and liveness after healing is checked. */
#ifndef AEGIS_SIM_H
#define AEGIS_SIM_H

#include "aegis/raft.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_NODES_MAX 5
#define SIM_LOG_MAX 4096         /* entries a node's log may reach in one run */
#define SIM_KEYS 4
#define SIM_CLIENTS 3
#define SIM_OPS_MAX 600
#define SIM_TERMS_MAX 4096
#define SIM_CONFS_MAX 512        /* committed config entries in one run */

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
	uint32_t initial_voters;       /* nodes 1..k start as voters (0: all) */
	uint32_t quiesce_ticks;        /* raft quiescence (0: off) */
	uint32_t think_ms_max;         /* client pause between ops (0: 40 ms) */
	uint32_t partition_ms_max;     /* longest partition (0: 550 ms) */
	/* adversarial crashes at interesting points */
	uint32_t crash_after_vote_pct;   /* a node that just granted a vote */
	uint32_t crash_after_commit_pct; /* a leader whose commit just moved */
	uint32_t crash_after_propose_pct;/* a leader that just took a proposal */
};
extern const struct sim_mix sim_mixes[];
extern const uint32_t sim_mixes_n;

/* ---- events ---- */
enum sim_ev_type {
	EV_TICK, EV_DELIVER, EV_DISK_DONE, EV_CLIENT, EV_FAULT, EV_HEAL, EV_RESTART, EV_CRASH,
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

struct sim_write {
	uint64_t seq;
	bool has_snap;
	struct sim_snap snap;
	bool has_hs;
	struct aeg_raft_hard_state hs;
	uint64_t lo, hi;               /* entries; lo > hi: none */
	struct sim_dentry *ents;
	uint64_t done_t;
	struct sim_write *next;
};

struct sim_disk {
	struct aeg_raft_hard_state hs;
	struct sim_snap snap;          /* the log's base */
	struct sim_dentry log[SIM_LOG_MAX + 1];  /* [snap.index + 1, last] durable */
	uint64_t last;
	struct sim_write *head, *tail; /* in-flight writes, complete in order */
	uint64_t write_seq, done_seq;
};

/* ---- node ---- */
struct sim_pending_op {
	uint32_t op;                   /* history index */
	uint64_t index, term;          /* put: entry; read: read index (term 0) */
	bool read_ready;
};

struct sim_node {
	uint32_t id;
	bool up;
	struct aeg_raft *r;             /* NULL while down */
	struct aeg_raft_config cfg;
	uint32_t tick_us;
	struct sim_disk disk;
	/* mirror of the raft log: term and chained hash per index */
	uint64_t mterm[SIM_LOG_MAX + 1];
	uint64_t mchain[SIM_LOG_MAX + 1];
	uint64_t mlast;
	uint64_t mbase;                /* snapshot base: mterm/mchain valid from here */
	struct sim_snap own_snap;      /* what aeg_raft_snapshot_set points at */
	/* Odd seeds: the snapshot receive buffer is a slot (as a worker's,
	 * shared by its groups) and an installed snapshot is served on from
	 * inst_snap; seeds with bit 1 set: payloads come from a counting
	 * allocator that must balance when the group is freed. */
	struct aeg_raft_snap_slot slot;
	uint8_t slot_buf[SIM_SNAP_BYTES];
	struct sim_snap inst_snap;
	uint64_t payload_allocs, payload_bytes;
	uint64_t max_commit;           /* this incarnation */
	uint64_t applied;
	uint64_t kv[SIM_KEYS];
	struct sim_pending_op pend[SIM_CLIENTS * 4];
	uint32_t n_pend;
	uint32_t incarnation;
	uint64_t crashed_t;            /* last crash: its unsent messages die */
	enum aeg_raft_role prev_role;
	uint64_t prev_term;
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

/* ---- network message in flight ---- */
struct sim_msg {
	struct aeg_raft_msg *m;        /* deep copy (msg_clone.h) */
	uint64_t held_until_seq;       /* late message waiting for a write */
	uint64_t sent_t;
	uint32_t sender_incarnation;
	struct sim_msg *next;          /* held list */
};

struct sim {
	uint64_t seed;
	const struct sim_mix *mix;
	uint32_t n;
	bool trace;
	uint64_t now;
	uint64_t fault_end_t, end_t, liveness_bound_us;
	struct sim_rng rng;
	struct sim_node nodes[SIM_NODES_MAX + 1];   /* 1-based */
	bool cut[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1];
	struct sim_ev *heap;
	uint32_t heap_n, heap_cap;
	uint64_t ev_seq;
	struct sim_msg *held[SIM_NODES_MAX + 1];    /* late msgs per sender */
	/* global knowledge for the invariants */
	uint32_t leader_of_term[SIM_TERMS_MAX];
	uint64_t gcommit;                            /* max committed index seen */
	uint64_t gchain[SIM_LOG_MAX + 1];
	uint64_t gterm[SIM_LOG_MAX + 1];
	uint64_t gcterm[SIM_LOG_MAX + 1];            /* term in which it was seen committed */
	struct sim_gconf gconfs[SIM_CONFS_MAX];      /* committed conf entries, by index */
	uint32_t n_gconfs;
	/* workload */
	struct sim_op ops[SIM_OPS_MAX];
	uint32_t n_ops;
	struct sim_client clients[SIM_CLIENTS];
	uint64_t next_value;
	uint64_t healed_t, live_t, live_index;       /* liveness probe */
	bool live_ok;
	/* results */
	char failure[256];
	uint64_t events, msgs, acked_writes, reads_ok, lin_steps;
	uint64_t conf_changes, wakes;
	uint64_t crashes, partitions, transfers, elections, lin_gaveup, snap_installs, snaps_taken;
};

/* sim.c */
void sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_push(struct sim *s, uint64_t t, uint32_t type, uint32_t node, uint64_t arg, void *ptr);
int sim_run(struct sim *s, uint64_t seed, const struct sim_mix *mix, uint32_t nodes, bool trace);
void sim_free(struct sim *s);
uint32_t sim_leader(const struct sim *s);

/* net.c */
void net_send(struct sim *s, const struct aeg_raft_msg *m, uint64_t held_seq);
void net_deliver(struct sim *s, struct sim_msg *sm);
void net_release_held(struct sim *s, uint32_t node, uint64_t done_seq);
void net_drop_held(struct sim *s, uint32_t node);
void net_msg_free(struct sim_msg *sm);
void net_fault(struct sim *s);
void net_heal(struct sim *s);

/* disk.c */
void disk_init(struct sim_disk *d);
void disk_free(struct sim_disk *d);
/* Queues a write of the ready's hard state, snapshot and entries (if any);
 * disk->write_seq is its number. */
void disk_write(struct sim *s, struct sim_node *nd, const struct aeg_raft_ready *rd);
/* Completes the oldest in-flight write. */
void disk_complete(struct sim *s, struct sim_node *nd, uint64_t seq);
/* Crash: in-flight writes are lost; with `torn` the first may land in part. */
void disk_crash(struct sim *s, struct sim_node *nd);
/* Makes snap the log's base at once (a snapshot file written and synced). */
void disk_set_snapshot(struct sim_disk *d, const struct sim_snap *snap);

/* node.c */
/* The configuration every node starts with (before any log or snapshot). */
void node_initial_conf(const struct sim *s, struct aeg_raft_conf *c);
int node_start(struct sim *s, uint32_t id);
void node_stop(struct sim *s, uint32_t id);
/* Frees the group; fails the run if its payloads did not all come back. */
void node_free_raft(struct sim *s, struct sim_node *nd);
void node_ready(struct sim *s, uint32_t id);
void node_maybe_crash_soon(struct sim *s, struct sim_node *nd, uint32_t pct, const char *why);
void node_tick(struct sim *s, uint32_t id);
uint64_t chain_hash(uint64_t prev, uint64_t term, uint32_t type, const uint8_t *data, uint32_t len);

/* client.c */
void client_event(struct sim *s, uint32_t c);
void client_applied(struct sim *s, struct sim_node *nd, const struct aeg_raft_entry *e);
void client_read_state(struct sim *s, struct sim_node *nd, const struct aeg_raft_read_state *rs);
void client_node_lost(struct sim *s, struct sim_node *nd);

/* check.c */
/* Global committed log vs this node's commit index (called per ready). */
void check_commit(struct sim *s, struct sim_node *nd);
/* A leader of term acted (sent a message) or made its term durable. */
void check_leader_of_term(struct sim *s, uint32_t id, uint64_t term);
void check_all(struct sim *s, uint32_t touched);
/* A snapshot at index (index <= commit) must carry the config in force
 * there in the committed log ("why" names the path for the message). */
void check_snapshot_conf(struct sim *s, const struct sim_node *nd, uint64_t index,
			 const struct aeg_raft_conf *c, const char *why);
void check_end(struct sim *s);

/* lin.c: Wing & Gong with Lowe's cache, per key, register model. Returns
 * 1 linearizable, 0 not, -1 gave up after max_steps. */
int lin_check_key(const struct sim_op *ops, uint32_t n_ops, uint32_t key,
		  uint64_t max_steps, uint64_t *steps);

#endif
