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

#ifdef __cplusplus
extern "C" {
#endif

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

/* Binary form: varint count, then per entry varint node delta and varint
 * counter. Returns the encoded size. */
size_t aeg_vclock_encoded_size(const struct aeg_vclock *vc);
/* Returns bytes written, or -ENOBUFS. */
int aeg_vclock_encode(const struct aeg_vclock *vc, uint8_t *buf, size_t cap);
/* Returns bytes consumed (trailing bytes are left to the caller), or
 * -EINVAL for a malformed encoding (unsorted or duplicate nodes, zero
 * counters, non-minimal varints, too many entries) / -EMSGSIZE if truncated. */
int aeg_vclock_decode(struct aeg_vclock *vc, const uint8_t *buf, size_t len);

/* ---- Lamport clocks ----------------------------------------------------- */

struct aeg_lamport {
	uint64_t time;
};

void aeg_lamport_init(struct aeg_lamport *lc);
/* Local or send event: returns the new time, or -EOVERFLOW. */
int aeg_lamport_tick(struct aeg_lamport *lc, uint64_t *time_out);
/* Receive event: time = max(time, remote) + 1. */
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
/* Local or send event at physical time `physical`. Never goes backwards. */
int aeg_hlc_now(struct aeg_hlc *hlc, uint64_t physical, struct aeg_hlc_ts *out);
/* Receive event: the result is greater than both `remote` and every
 * timestamp this clock issued. -ERANGE if remote.wall > physical +
 * max_offset (the clock is left unchanged). */
int aeg_hlc_update(struct aeg_hlc *hlc, uint64_t physical,
		   const struct aeg_hlc_ts *remote, struct aeg_hlc_ts *out);
/* -1, 0, 1. */
int aeg_hlc_ts_compare(const struct aeg_hlc_ts *a, const struct aeg_hlc_ts *b);
#define AEG_HLC_TS_ENCODED_SIZE 16
void aeg_hlc_ts_encode(const struct aeg_hlc_ts *ts, uint8_t out[AEG_HLC_TS_ENCODED_SIZE]);
void aeg_hlc_ts_decode(struct aeg_hlc_ts *ts, const uint8_t in[AEG_HLC_TS_ENCODED_SIZE]);

/* ---- dots and dotted version vectors ------------------------------------ */

/* One event: the counter-th event of node. counter > 0. */
struct aeg_dot {
	uint32_t node;
	uint64_t counter;
};

/* A DVV (Preguiça et al.): the causal past `past` plus an optional dot that
 * may sit outside it (dot.counter == 0 means no dot). It describes one
 * version of a value written with a context. */
struct aeg_dvv {
	struct aeg_dot dot;
	struct aeg_vclock past;
};

void aeg_dvv_init(struct aeg_dvv *d);
/* True if the dot is covered by the clock: clock[dot.node] >= dot.counter. */
bool aeg_dot_in(const struct aeg_dot *dot, const struct aeg_vclock *vc);
/* New version written at `node`, which has seen `node_clock` (the replica's
 * clock for this key, advanced here), given the client's context `ctx`. */
int aeg_dvv_event(struct aeg_dvv *out, struct aeg_vclock *node_clock,
		  const struct aeg_vclock *ctx, uint32_t node);
/* Order of two versions: b obsoletes a when a's events are all in b's. */
enum aeg_order aeg_dvv_compare(const struct aeg_dvv *a, const struct aeg_dvv *b);
/* The DVV's events as one clock (past with the dot folded in). */
int aeg_dvv_join(const struct aeg_dvv *d, struct aeg_vclock *out);
size_t aeg_dvv_encoded_size(const struct aeg_dvv *d);
int aeg_dvv_encode(const struct aeg_dvv *d, uint8_t *buf, size_t cap);
int aeg_dvv_decode(struct aeg_dvv *d, const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
