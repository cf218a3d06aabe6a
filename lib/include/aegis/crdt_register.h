/* aegis/crdt_register.h — state-based registers with delta mutators:
 * LWW-Register (last writer wins by HLC timestamp) and MV-Register
 * (multi-value: keeps every concurrent write, ordered by vector clocks).
 *
 * Values are opaque byte strings of at most `value_bytes_max` bytes, fixed
 * at *_init (the only allocation; *_fini frees it).
 *
 * LWW-Register: one (value, struct aeg_hlc_ts) or nothing. The total order
 * is aeg_hlc_ts_compare (node id breaks ties); equal timestamps with
 * different values cannot happen with correct HLCs, but if they do the
 * greater value (memcmp over the common prefix, then the longer one) wins,
 * so merge stays commutative. Memory: value_bytes_max bytes.
 *
 * MV-Register: an antichain of versions (value, struct aeg_vclock): no
 * version's clock is strictly before another's. A write at `node` gets the
 * clock merge(all held clocks) + 1 at node and replaces every held version;
 * merge is the union minus strictly dominated versions. Two concurrent
 * writes of the same bytes are two versions (different clocks); an
 * identical (value, clock) pair is one version. Two versions with the same
 * clock and different values (only possible if a node reused a counter)
 * are both kept: neither dominates the other. aeg_mvreg_read presents the
 * value set deduplicated. Versions are kept sorted (clock entries
 * lexicographically, then value) so equal states have equal forms. Memory:
 * versions_max * (sizeof(struct aeg_mvreg_version) + value_bytes_max).
 *
 * Errors: -EINVAL bad argument or malformed encoding, -EMSGSIZE value larger
 * than value_bytes_max or truncated encoding, -ENOSPC more concurrent
 * versions than versions_max or more than AEG_VCLOCK_NODES_MAX nodes in a
 * clock, -EOVERFLOW a clock counter would wrap, -ENOBUFS output too small.
 * Failed mutators and merges leave the register unchanged; failed decodes
 * leave it empty.
 *
 * Delta objects: a mutator given a non-NULL `delta` resets it and writes
 * exactly this operation's delta there (a register of the same type).
 *
 * Encodings (after u8 type tag and u8 format version):
 *   LWW: u8 present (0/1); if present 16-byte HLC timestamp, varint length,
 *        value bytes.
 *   MV:  varint version count; per version the aeg_vclock encoding, varint
 *        length, value bytes; versions in canonical order. */
#ifndef AEGIS_CRDT_REGISTER_H
#define AEGIS_CRDT_REGISTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/crdt_counter.h"
#include "aegis/vclock.h"

AEG_API_BEGIN

#define AEG_CRDT_REGISTER_FORMAT 1

/* ---- LWW-Register ------------------------------------------------------- */

struct aeg_lwwreg {
	bool present;             /* false: never written (bottom) */
	struct aeg_hlc_ts ts;
	uint32_t value_len;
	uint32_t value_bytes_max;
	uint8_t *value;
};

int aeg_lwwreg_init(struct aeg_lwwreg *reg, uint32_t value_bytes_max);
void aeg_lwwreg_fini(struct aeg_lwwreg *reg);
void aeg_lwwreg_clear(struct aeg_lwwreg *reg);
/* Writes (value, ts) if it is greater than the held one. Returns 1 if it
 * won, 0 if the held write is greater or equal (delta, if any, is then
 * left empty), or a negative error. */
int aeg_lwwreg_set(struct aeg_lwwreg *reg, const void *value, size_t len,
		   const struct aeg_hlc_ts *ts, struct aeg_lwwreg *delta);
/* False if never written. Any out pointer may be NULL. */
bool aeg_lwwreg_get(const struct aeg_lwwreg *reg, const uint8_t **value, size_t *len,
		    struct aeg_hlc_ts *ts);
/* Keeps the greater write. */
int aeg_lwwreg_merge(struct aeg_lwwreg *dst, const struct aeg_lwwreg *src);
bool aeg_lwwreg_equal(const struct aeg_lwwreg *a, const struct aeg_lwwreg *b);
size_t aeg_lwwreg_encoded_size(const struct aeg_lwwreg *reg);
int aeg_lwwreg_encode(const struct aeg_lwwreg *reg, uint8_t *buf, size_t cap);
int aeg_lwwreg_decode(struct aeg_lwwreg *reg, const uint8_t *buf, size_t len);

/* ---- MV-Register -------------------------------------------------------- */

struct aeg_mvreg_version {
	struct aeg_vclock clock;
	uint32_t value_len;
	uint8_t *value; /* a slot of value_bytes_max bytes owned by the register */
};

struct aeg_mvreg {
	uint32_t len;          /* versions in use, canonical order */
	uint32_t versions_max;
	uint32_t value_bytes_max;
	/* versions_max entries; every entry (used or not) owns a distinct slot,
	 * entries are swapped, never copied over, so slots are never lost. */
	struct aeg_mvreg_version *versions;
	uint8_t *slots;
};

/* One distinct value as presented by aeg_mvreg_read. */
struct aeg_mvreg_value {
	const uint8_t *value;
	size_t len;
};

int aeg_mvreg_init(struct aeg_mvreg *reg, uint32_t versions_max, uint32_t value_bytes_max);
void aeg_mvreg_fini(struct aeg_mvreg *reg);
void aeg_mvreg_clear(struct aeg_mvreg *reg);
/* New version at `node` replacing every held version. */
int aeg_mvreg_write(struct aeg_mvreg *reg, uint32_t node, const void *value, size_t len,
		    struct aeg_mvreg *delta);
/* dst = versions of dst and src not strictly dominated by another. */
int aeg_mvreg_merge(struct aeg_mvreg *dst, const struct aeg_mvreg *src);
bool aeg_mvreg_equal(const struct aeg_mvreg *a, const struct aeg_mvreg *b);
/* Number of versions (concurrent writes), and the i-th in canonical order. */
uint32_t aeg_mvreg_versions(const struct aeg_mvreg *reg);
const struct aeg_mvreg_version *aeg_mvreg_version_at(const struct aeg_mvreg *reg, uint32_t i);
/* Distinct values sorted by bytes; returns how many (at most out_cap are
 * stored; a return value > out_cap means out was too small). */
size_t aeg_mvreg_read(const struct aeg_mvreg *reg, struct aeg_mvreg_value *out, size_t out_cap);
size_t aeg_mvreg_encoded_size(const struct aeg_mvreg *reg);
int aeg_mvreg_encode(const struct aeg_mvreg *reg, uint8_t *buf, size_t cap);
int aeg_mvreg_decode(struct aeg_mvreg *reg, const uint8_t *buf, size_t len);

AEG_API_END

#endif
