/* aegis/crdt_map.h — LWW-Map: a state-based map CRDT from opaque byte keys
 * to opaque byte values where the write with the greatest HLC timestamp
 * wins per key, with delta mutators.
 *
 * Each key holds (value, timestamp) or a tombstone (timestamp of the
 * remove). Merge keeps, per key, the greater version: timestamps are totally
 * ordered by aeg_hlc_ts_compare (node id breaks ties); two different
 * versions with one timestamp cannot come from correct HLCs, but are still
 * ordered deterministically (a tombstone beats a value, then the value
 * bytes in set order), so merge stays commutative.
 *
 * Why tombstones: a remove must beat every older put of the key wherever
 * it is merged. If a remove simply dropped the key, merging with a replica
 * that still holds the older put would bring the value back. So the remove
 * is a version of its own. aeg_lwwmap_purge_tombstones drops tombstones
 * once they are causally stable: older than a timestamp every replica has
 * already seen (and applied), so no replica can still send an older put of
 * that key. Purging before that can resurrect values.
 *
 * Sizes: entries_max slots (live or tombstone) of
 * 21 + key_bytes_max + value_bytes_max bytes, allocated by aeg_lwwmap_init,
 * freed by aeg_lwwmap_fini; nothing else allocates. key/value_bytes_max <=
 * AEG_CRDT_ELEM_BYTES_MAX.
 *
 * Errors, delta objects, merge and decode conventions: as in
 * aegis/crdt_set.h (a small src, such as a delta, is merged by binary
 * search). Merge checks every src key and value against dst's
 * limits (-EMSGSIZE, dst unchanged), also for versions that would lose.
 * Lookups with key == NULL and key_len != 0 find nothing. Encoding: tag AEG_CRDT_TAG_LWWMAP, format version, varint
 * count, then per key in order: key (varint length, bytes), timestamp
 * (AEG_HLC_TS_ENCODED_SIZE bytes, aeg_hlc_ts_encode), u8 kind (0 value,
 * 1 tombstone), and for a value: varint length, bytes. */
#ifndef AEGIS_CRDT_MAP_H
#define AEGIS_CRDT_MAP_H

#include "aegis/api.h"
#include "aegis/crdt_set.h"

AEG_API_BEGIN

struct aeg_lwwmap {
	struct aeg_slot_table entries; /* sorted by key, as set elements */
	uint32_t key_bytes_max;
	uint32_t value_bytes_max;
};

int aeg_lwwmap_init(struct aeg_lwwmap *m, uint32_t entries_max, uint32_t key_bytes_max,
		    uint32_t value_bytes_max);
void aeg_lwwmap_fini(struct aeg_lwwmap *m);
void aeg_lwwmap_clear(struct aeg_lwwmap *m);
/* Writes value at ts; a no-op if the key holds a greater version. Delta:
 * a map holding just this version. -ENOSPC if the key is new and the map
 * is full. */
int aeg_lwwmap_put(struct aeg_lwwmap *m, const void *key, size_t key_len, const void *value,
		   size_t value_len, const struct aeg_hlc_ts *ts, struct aeg_lwwmap *delta);
/* Writes a tombstone at ts (also for a key never seen: the remove must
 * still beat older puts that arrive later). */
int aeg_lwwmap_remove(struct aeg_lwwmap *m, const void *key, size_t key_len,
		      const struct aeg_hlc_ts *ts, struct aeg_lwwmap *delta);
/* 0 with the value (pointing into the map) and its timestamp (both
 * optional), or -ENOENT if absent or removed. */
int aeg_lwwmap_get(const struct aeg_lwwmap *m, const void *key, size_t key_len,
		   const uint8_t **value, size_t *value_len, struct aeg_hlc_ts *ts);
/* Live keys / all entries (live + tombstones). */
uint32_t aeg_lwwmap_size(const struct aeg_lwwmap *m);
uint32_t aeg_lwwmap_entries(const struct aeg_lwwmap *m);
/* The i-th entry in key order; *value is NULL for a tombstone. */
void aeg_lwwmap_entry(const struct aeg_lwwmap *m, uint32_t i, const uint8_t **key,
		      size_t *key_len, const uint8_t **value, size_t *value_len,
		      struct aeg_hlc_ts *ts);
/* Drops tombstones with timestamp < stable_ts; returns how many. */
uint32_t aeg_lwwmap_purge_tombstones(struct aeg_lwwmap *m, const struct aeg_hlc_ts *stable_ts);
int aeg_lwwmap_merge(struct aeg_lwwmap *dst, const struct aeg_lwwmap *src);
bool aeg_lwwmap_equal(const struct aeg_lwwmap *a, const struct aeg_lwwmap *b);
size_t aeg_lwwmap_encoded_size(const struct aeg_lwwmap *m);
int aeg_lwwmap_encode(const struct aeg_lwwmap *m, uint8_t *buf, size_t cap);
int aeg_lwwmap_decode(struct aeg_lwwmap *m, const uint8_t *buf, size_t len);

AEG_API_END

#endif
