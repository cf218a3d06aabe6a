/* Snapshot file format: one file per Raft group, written by the WAL writer
 * (temp name, fsync, rename, fsync dir) and checked on load. Pure encoding.
 *
 * Header (little-endian, 48 bytes), then len bytes of state:
 *   0 u32 magic "ASNP"   4 u32 crc32c over bytes 8..47 and the data
 *   8 u32 version       12 u32 zero
 *  16 u64 group         24 u64 index     32 u64 term     40 u64 len */
#ifndef AEGIS_WAL_SNAPSHOT_H
#define AEGIS_WAL_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define AEG_WAL_SNAP_MAGIC 0x504e5341u /* "ASNP" */
#define AEG_WAL_SNAP_VERSION 1u
#define AEG_WAL_SNAP_HDR_BYTES 48u

struct aeg_wal_snap_meta {
	uint64_t group;
	uint64_t index;
	uint64_t term;
	uint64_t len;
};

/* Writes the header for meta and data (crc covers both). Returns
 * AEG_WAL_SNAP_HDR_BYTES or -EMSGSIZE. */
int aeg_wal_snap_hdr_encode(uint8_t *buf, size_t cap, const struct aeg_wal_snap_meta *m, const void *data);

/* Checks a whole file image. Returns 0, -EINVAL (not a snapshot),
 * -EPROTONOSUPPORT (other version), -EMSGSIZE (cut) or -EBADMSG (crc). */
int aeg_wal_snap_decode(struct aeg_wal_snap_meta *m, const uint8_t *buf, size_t len);

#endif
