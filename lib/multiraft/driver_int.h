/* Internals of the group driver shared by driver.c, driver_ready.c and
 * driver_net.c. */
#ifndef AEGIS_MULTIRAFT_DRIVER_INT_H
#define AEGIS_MULTIRAFT_DRIVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/group_driver.h"
#include "aegis/raft.h"
#include "held.h"
#include "pace.h"

#define GD_INSTALL_STASH 4

struct gd_group {
	uint32_t id;
	struct aeg_raft *r;
	bool dirty;           /* on the dirty list */
	bool active;          /* on the tick list (not quiescent) */
	uint32_t active_pos;
	/* Write cursor: entries [wr_lo, wr_hi] still to hand to the log (it
	 * was full); wr_lo > wr_hi: nothing. hs_pending: the hard state too. */
	uint64_t wr_lo, wr_hi;
	bool hs_pending;
	struct aeg_raft_hard_state hs;
	bool msgs_unissued;   /* held messages wait for the cursor's ticket */
	uint64_t last_ticket; /* newest log ticket of this group's writes */
	uint64_t durable_term;/* term of the newest hard state known durable */
	uint32_t tick_hold;   /* ticks still to skip (aeg_gd_tick_hold) */
	/* A snapshot install finishing off the loop (AEG_GD_INSTALL_LATER):
	 * the group is not processed until aeg_gd_install_done. The answers
	 * of the install's ready (the snapshot's ack) wait in stash, not in
	 * the held ring, whose FIFO would hold every other group's acks. */
	bool installing;
	uint64_t install_index, install_term;
	uint32_t n_stash;
	struct aeg_raft_msg stash[GD_INSTALL_STASH];
	int error;
};

struct gd_peer {
	uint32_t node;        /* 0: free slot */
	uint32_t n_hb;
};

struct aeg_gd {
	struct aeg_gd_config cfg;
	struct aeg_gd_io io;
	struct gd_group **groups;   /* by group id */
	uint32_t n_groups;
	uint32_t *dirty, *dirty_spare;
	uint32_t n_dirty;
	uint32_t *active;
	uint32_t n_active;
	uint64_t tick_ms_last;
	struct held_ring held;
	struct pend_ring pend;
	uint64_t durable;           /* highest ticket reported durable */
	uint8_t *enc;               /* encode buffer, msg_bytes_max */
	struct aeg_raft_entry *ents;/* decode scratch, recv_entries_max */
	struct gd_peer *peers;
	struct aeg_raft_hb *hbs;    /* peers_max x hb_per_msg */
	uint8_t *hb_buf;
	size_t hb_buf_bytes;
	struct gd_pace pace;        /* snapshot chunks (cfg.snap_bytes_per_s) */
	struct aeg_gd_stats st;
};

/* Snapshot chunks the pace now allows. */
void gd_pace_drain(struct aeg_gd *gd);

struct gd_group *gd_group(const struct aeg_gd *gd, uint32_t group);
/* Puts g on the dirty list (and on the tick list unless it is quiet). */
void gd_mark(struct aeg_gd *gd, struct gd_group *g);
/* Sends m now (heartbeats are coalesced per peer). */
void gd_send(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_msg *m);
/* Encodes m into the held ring, to leave once ticket is durable. */
void gd_hold(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_msg *m, uint64_t ticket);

#endif
