/* Snapshot file format: one file per Raft group, written by the WAL writer
 * (temp name, fsync, rename, fsync dir) and checked on load. Pure encoding.
 *
 * Version 2 (written): a 48-byte header, then conf_len bytes of the Raft
 * configuration as of the snapshot's index (aeg_raft_conf_encode(): not the
 * node's current config, which may be newer and uncommitted), then len bytes
 * of state. Little-endian:
 *   0 u32 magic "ASNP"   4 u32 crc32c over bytes 8..47, the conf and the data
 *   8 u32 version       12 u32 conf_len
 *  16 u64 group         24 u64 index     32 u64 term     40 u64 len
 * Version 1 (read only) had no conf: byte 12 was zero and the data followed
 * the header. It loads with conf_len 0, which no version 2 file written for
 * Raft has (a config has at least one voter): the caller must get the config
 * elsewhere (e.g. the log's conf entries) or refuse. */
#ifndef AEGIS_WAL_SNAPSHOT_H
#define AEGIS_WAL_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_WAL_SNAP_MAGIC 0x504e5341u /* "ASNP" */
#define AEG_WAL_SNAP_VERSION 2u
#define AEG_WAL_SNAP_VERSION_NOCONF 1u	/* still read: conf_len 0 */
#define AEG_WAL_SNAP_HDR_BYTES 48u
/* An encoded aeg_raft_conf of AEG_RAFT_CONF_MAX (16) members takes at most
 * 1 + 16 x 6 bytes; room to spare for a larger member limit. */
#define AEG_WAL_SNAP_CONF_MAX 512u
#define AEG_WAL_SNAP_HDR_BYTES_MAX (AEG_WAL_SNAP_HDR_BYTES + AEG_WAL_SNAP_CONF_MAX)

struct aeg_wal_snap_meta {
	uint64_t group;
	uint64_t index;
	uint64_t term;
	uint64_t len;			/* bytes of state */
	uint32_t conf_len;		/* 0: none recorded (a version 1 file) */
	uint8_t conf[AEG_WAL_SNAP_CONF_MAX]; /* aeg_raft_conf_encode() as of index */
};

/* Bytes before the data: header and conf. */
static inline size_t aeg_wal_snap_hdr_size(const struct aeg_wal_snap_meta *m)
{
	return AEG_WAL_SNAP_HDR_BYTES + m->conf_len;
}

/* Writes the header and the conf for meta and data (the crc covers all of
 * it and the data). Returns aeg_wal_snap_hdr_size(m), -EMSGSIZE (cap too
 * small) or -EINVAL (conf_len > AEG_WAL_SNAP_CONF_MAX, data NULL). */
int aeg_wal_snap_hdr_encode(uint8_t *buf, size_t cap, const struct aeg_wal_snap_meta *m, const void *data);

/* Checks a whole file image and fills m (conf copied; the data starts at
 * buf + aeg_wal_snap_hdr_size(m)). Returns 0, -EINVAL (not a snapshot),
 * -EPROTONOSUPPORT (a version other than 1 or 2), -EMSGSIZE (cut, or bytes
 * after the data) or -EBADMSG (crc). */
int aeg_wal_snap_decode(struct aeg_wal_snap_meta *m, const uint8_t *buf, size_t len);

AEG_API_END

#endif
