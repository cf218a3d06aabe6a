/* Pacing of snapshot chunks in the group driver (aeg_gd_config
 * .snap_bytes_per_s): a replica move or a far-behind follower streams a
 * snapshot at most this fast from one worker, so that the copy does not
 * take the link and the peer's loop from client writes.
 *
 * A token bucket, refilled from the clock the driver is given (no clock
 * reads: pure), and a few slots for chunks waiting for tokens. One slot
 * per stream (peer, group): Raft resends the current chunk on every
 * heartbeat response while a snapshot is on its way, so a newer chunk of a
 * stream replaces the one waiting. With every slot taken the chunk is
 * dropped (counted); the next heartbeat's resend brings it back.
 *
 * Sizes, all at init: slots x slot_bytes of buffers. Nothing after. */
#ifndef AEGIS_MULTIRAFT_PACE_H
#define AEGIS_MULTIRAFT_PACE_H

#include <stdbool.h>
#include <stdint.h>

struct gd_pace_slot {
	bool used;
	uint32_t to, group, len;
	uint64_t seq;            /* order of arrival: oldest leaves first */
	uint8_t *buf;            /* slot_bytes */
};

struct gd_pace {
	uint64_t rate;           /* bytes/s; 0: no pacing (everything passes) */
	int64_t tokens;          /* may go below 0 by one chunk */
	int64_t burst;           /* the most tokens saved up */
	uint64_t last_ms;        /* last refill */
	uint32_t n_slots, slot_bytes;
	uint64_t seq;
	struct gd_pace_slot *slots;
	uint8_t *mem;
};

enum { GD_PACE_SEND = 1, GD_PACE_QUEUED = 0, GD_PACE_DROPPED = -1 };

/* rate 0: pacing off (nothing allocated). 0 or -ENOMEM. */
int gd_pace_init(struct gd_pace *p, uint64_t rate, uint32_t n_slots, uint32_t slot_bytes);
void gd_pace_fini(struct gd_pace *p);
/* Tokens for the time since the last call (the first call only starts the clock). */
void gd_pace_refill(struct gd_pace *p, uint64_t now_ms);
/* A chunk of len bytes for (to, group): GD_PACE_SEND (tokens taken: send
 * it now), GD_PACE_QUEUED (copied into a slot) or GD_PACE_DROPPED. A
 * chunk larger than a slot is sent (tokens taken; pacing stays right on
 * average). */
int gd_pace_admit(struct gd_pace *p, uint32_t to, uint32_t group, const uint8_t *body, uint32_t len);
/* The oldest waiting chunk the tokens now allow (tokens taken), or NULL;
 * the caller sends it and then calls gd_pace_done. */
struct gd_pace_slot *gd_pace_next(struct gd_pace *p);
void gd_pace_done(struct gd_pace *p, struct gd_pace_slot *s);
/* Chunks waiting. */
uint32_t gd_pace_waiting(const struct gd_pace *p);

#endif
