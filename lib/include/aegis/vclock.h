/* aegis/vclock.h — logical clocks: vector clocks, Lamport clocks, hybrid
 * logical clocks (HLC) and dotted version vectors (DVV).
 *
 * Pure: no clock reads (physical time is an argument), no allocation. A
 * vector clock is a fixed-capacity, sorted array of (node, counter) pairs;
 * a node that is missing has counter 0 and zero counters are never stored,
 * so two equal clocks have one representation.
 *
 * Errors are negative errno values: -ENOSPC (more than AEG_VCLOCK_NODES_MAX
 * nodes), -EOVERFLOW (a counter would wrap), -EINVAL / -EMSGSIZE (malformed
 * or truncated encoding), -ENOBUFS (output buffer too small). */
#ifndef AEGIS_VCLOCK_H
#define AEGIS_VCLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

enum aeg_order {
	AEG_ORDER_EQUAL = 0,
	AEG_ORDER_BEFORE = 1,     /* a happened before b: a < b */
	AEG_ORDER_AFTER = 2,      /* b happened before a: a > b */
	AEG_ORDER_CONCURRENT = 3, /* neither */
};

/* ---- vector clocks ------------------------------------------------------ */

#define AEG_VCLOCK_NODES_MAX 32

struct aeg_vclock_entry {
	uint32_t node;
	uint64_t counter; /* never 0 inside a clock */
};

struct aeg_vclock {
	uint32_t len; /* entries in use, sorted by node, strictly increasing */
	struct aeg_vclock_entry entries[AEG_VCLOCK_NODES_MAX];
};

void aeg_vclock_init(struct aeg_vclock *vc);
uint64_t aeg_vclock_get(const struct aeg_vclock *vc, uint32_t node);
/* Sets node's counter (0 removes the entry). */
int aeg_vclock_set(struct aeg_vclock *vc, uint32_t node, uint64_t counter);
/* Adds one to node's counter; *counter_out (may be NULL) gets the new value. */
int aeg_vclock_increment(struct aeg_vclock *vc, uint32_t node, uint64_t *counter_out);
/* dst = pointwise max(dst, src): the least upper bound. On -ENOSPC dst is unchanged. */
int aeg_vclock_merge(struct aeg_vclock *dst, const struct aeg_vclock *src);
enum aeg_order aeg_vclock_compare(const struct aeg_vclock *a, const struct aeg_vclock *b);
/* a >= b pointwise (a descends from or equals b). */
bool aeg_vclock_descends(const struct aeg_vclock *a, const struct aeg_vclock *b);
bool aeg_vclock_equal(const struct aeg_vclock *a, const struct aeg_vclock *b);
/* The representation invariant: len <= AEG_VCLOCK_NODES_MAX, nodes strictly
 * increasing, no zero counter. For tests, fuzzers and assertions. */
bool aeg_vclock_valid(const struct aeg_vclock *vc);

/* Binary form: varint count, then per entry varint node delta and varint
 * counter. The first delta is the node itself, later deltas are >= 1;
 * varints are minimal, so each clock has one encoding (always under
 * 1 + 32 * (5 + 10) = 481 bytes). Returns the encoded size. */
size_t aeg_vclock_encoded_size(const struct aeg_vclock *vc);
/* Returns bytes written, or -ENOBUFS. */
int aeg_vclock_encode(const struct aeg_vclock *vc, uint8_t *buf, size_t cap);
/* Returns bytes consumed (trailing bytes are left to the caller), or
 * -EINVAL for a malformed encoding (unsorted or duplicate nodes, zero
 * counters, non-minimal varints, too many entries, a node above UINT32_MAX)
 * / -EMSGSIZE if the input ends before the encoding does. On error vc is
 * left empty. */
int aeg_vclock_decode(struct aeg_vclock *vc, const uint8_t *buf, size_t len);

/* ---- Lamport clocks ----------------------------------------------------- */

struct aeg_lamport {
	uint64_t time;
};

void aeg_lamport_init(struct aeg_lamport *lc);
/* Local or send event: 0 and the new time in *time_out (may be NULL), or
 * -EOVERFLOW (clock unchanged). */
int aeg_lamport_tick(struct aeg_lamport *lc, uint64_t *time_out);
/* Receive event: time = max(time, remote) + 1. 0 or -EOVERFLOW, as tick. */
int aeg_lamport_observe(struct aeg_lamport *lc, uint64_t remote, uint64_t *time_out);

/* ---- hybrid logical clocks (Kulkarni et al.) ---------------------------- */

/* Total order: wall, then logical, then node. `wall` is in the caller's
 * physical-time unit (e.g. nanoseconds since the epoch). */
struct aeg_hlc_ts {
	uint64_t wall;
	uint32_t logical;
	uint32_t node;
};

struct aeg_hlc {
	struct aeg_hlc_ts last;    /* last timestamp issued or observed */
	uint64_t max_offset;       /* reject remotes this far ahead of physical; 0 = no limit */
};

void aeg_hlc_init(struct aeg_hlc *hlc, uint32_t node, uint64_t max_offset);
/* Local or send event at physical time `physical`. Never goes backwards:
 * each timestamp issued is greater than the one before, even if physical
 * time moved back. If logical would pass UINT32_MAX, wall advances by one
 * unit and logical restarts at 0; -EOVERFLOW (clock unchanged) only if wall
 * itself would wrap. `out` may be NULL. */
int aeg_hlc_now(struct aeg_hlc *hlc, uint64_t physical, struct aeg_hlc_ts *out);
/* Receive event: the result is greater than both `remote` and every
 * timestamp this clock issued. -ERANGE if remote.wall > physical +
 * max_offset (the clock is left unchanged); overflow as aeg_hlc_now. */
int aeg_hlc_update(struct aeg_hlc *hlc, uint64_t physical,
		   const struct aeg_hlc_ts *remote, struct aeg_hlc_ts *out);
/* -1, 0, 1. */
int aeg_hlc_ts_compare(const struct aeg_hlc_ts *a, const struct aeg_hlc_ts *b);
#define AEG_HLC_TS_ENCODED_SIZE 16
void aeg_hlc_ts_encode(const struct aeg_hlc_ts *ts, uint8_t out[AEG_HLC_TS_ENCODED_SIZE]);
/* Little-endian wall u64, logical u32, node u32; every 16 bytes decode. */
void aeg_hlc_ts_decode(struct aeg_hlc_ts *ts, const uint8_t in[AEG_HLC_TS_ENCODED_SIZE]);
/* aeg_hlc_ts_compare of two encoded timestamps (bytes do not sort as memcmp). */
int aeg_hlc_ts_compare_encoded(const uint8_t a[AEG_HLC_TS_ENCODED_SIZE],
			       const uint8_t b[AEG_HLC_TS_ENCODED_SIZE]);

/* ---- dots and dotted version vectors ------------------------------------ */

/* One event: the counter-th event of node. counter > 0. */
struct aeg_dot {
	uint32_t node;
	uint64_t counter;
};

/* A DVV (Preguiça et al.): the causal past `past` plus an optional dot that
 * may sit outside it (dot.counter == 0 means no dot). It describes one
 * version of a value written with a context. Invariant (aeg_dvv_valid):
 * no dot is {0, 0}; a dot is never covered by past (dot.counter >
 * past[dot.node]): a version's own event is not in its own past. */
struct aeg_dvv {
	struct aeg_dot dot;
	struct aeg_vclock past;
};

void aeg_dvv_init(struct aeg_dvv *d);
bool aeg_dvv_valid(const struct aeg_dvv *d);
/* True if the dot is covered by the clock: clock[dot.node] >= dot.counter. */
bool aeg_dot_in(const struct aeg_dot *dot, const struct aeg_vclock *vc);
/* New version written at `node`, which has seen `node_clock` (the replica's
 * clock for this key, advanced here), given the client's context `ctx`.
 * The result is dot = (node, max(node_clock[node], ctx[node]) + 1) and
 * past = ctx; node_clock becomes merge(node_clock, ctx) with that dot.
 * -ENOSPC / -EOVERFLOW leave out and node_clock unchanged. */
int aeg_dvv_event(struct aeg_dvv *out, struct aeg_vclock *node_clock,
		  const struct aeg_vclock *ctx, uint32_t node);
/* Order of two versions as sets of events (past's events plus the dot):
 * BEFORE when a's events are a strict subset of b's (b obsoletes a). */
enum aeg_order aeg_dvv_compare(const struct aeg_dvv *a, const struct aeg_dvv *b);
/* The DVV's events as one clock (past with the dot folded in); -ENOSPC if
 * the dot's node does not fit. Folding the dot in also covers any gap below
 * it, which may hold a sibling's dot: so the context of a later write must be
 * the join of every version a read returned, never of just one sibling. */
int aeg_dvv_join(const struct aeg_dvv *d, struct aeg_vclock *out);
/* Binary form: varint dot node, varint dot counter, then past as a vector
 * clock. Encode returns bytes written or -ENOBUFS. Decode returns bytes
 * consumed, -EINVAL (also for a DVV that breaks the invariant) or -EMSGSIZE;
 * on error d is left empty. */
size_t aeg_dvv_encoded_size(const struct aeg_dvv *d);
int aeg_dvv_encode(const struct aeg_dvv *d, uint8_t *buf, size_t cap);
int aeg_dvv_decode(struct aeg_dvv *d, const uint8_t *buf, size_t len);

AEG_API_END

#endif
