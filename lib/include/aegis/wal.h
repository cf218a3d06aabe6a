/* Write-ahead log format: CRC32C, segment headers, records and the recovery
 * scanner. Pure code over buffers: the io_uring writer (dataplane/wal) and
 * aegis-walinspect build on it, and the unit tests run it without files.
 *
 * A log is a chain of fixed-size segment files. Each segment starts with a
 * 64-byte header (AEG_WAL_SEG_HDR_BYTES, padded by the writer to one block)
 * followed by records. A record is a 40-byte header plus its payload padded
 * to 8 bytes; no record crosses a segment. The record CRC32C covers the
 * header (from byte 4) and the padded payload, and the header carries the
 * low 32 bits of the segment sequence so that stale records left in a
 * recycled segment never read as current ones.
 *
 * Segment header (little-endian):          Record header:
 *   0 u32 magic "AWAL"                        0 u32 crc32c (bytes 4..end)
 *   4 u32 crc32c (bytes 8..63)                4 u32 type (enum aeg_wal_type) in bits 0-7,
 *                                                 entry type (Raft's) in bits 8-31
 *   8 u32 format version                      8 u32 payload length
 *  12 u32 worker id                          12 u32 segment sequence, low 32 bits
 *  16 u64 segment sequence (first is 1)      16 u64 group id
 *  24 u64 log start sequence                 24 u64 term
 *  32 u64 segment bytes                      32 u64 index
 *  40 u32 block bytes
 *  44 u32 torn window bytes
 *  48..63 zero
 */
#ifndef AEGIS_WAL_H
#define AEGIS_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_WAL_MAGIC 0x4c415741u /* "AWAL" */
/* Version 2 added AEG_WAL_REMOVE and checkpoints spread over a segment (a
 * SEAL's term says the checkpoint is complete); version 1 segments, which
 * never hold those, are still read. */
#define AEG_WAL_VERSION 2u
#define AEG_WAL_VERSION_MIN 1u
#define AEG_WAL_SEG_HDR_BYTES 64u
#define AEG_WAL_REC_HDR_BYTES 40u
#define AEG_WAL_ALIGN 8u
/* Payload bound: keeps a record well inside any sane batch and segment. */
#define AEG_WAL_PAYLOAD_MAX (16u << 20)

enum aeg_wal_type {
	AEG_WAL_ENTRY = 1,	/* one Raft entry: group, term, index, payload */
	AEG_WAL_HARD_STATE = 2, /* term in header; payload = vote, commit */
	AEG_WAL_SNAPSHOT = 3,	/* group has a snapshot at (term, index) */
	AEG_WAL_TRUNCATE = 4,	/* entries of group with index >= index are void */
	AEG_WAL_PAD = 5,	/* filler up to a block boundary */
	AEG_WAL_SEAL = 6,	/* last record of a finished segment */
	AEG_WAL_REMOVE = 7,	/* group removed from this worker: forget it (version 2) */
	AEG_WAL_TYPE_MAX = 7,
};

struct aeg_wal_seg_hdr {
	uint32_t version;
	uint32_t worker_id;
	uint64_t seq;
	uint64_t log_start_seq;	/* oldest segment still part of the log */
	uint64_t segment_bytes;
	uint32_t block_bytes;
	/* Bytes past a damage point that may be an unacknowledged torn write
	 * (batches in flight x batch size): damage further back is refused. */
	uint32_t torn_window_bytes;
};

#define AEG_WAL_ENTRY_TYPE_MAX 0xffffffu

struct aeg_wal_rec {
	uint32_t type;
	uint32_t entry_type;	/* AEG_WAL_ENTRY only: the Raft entry's type; else 0 */
	uint32_t len;
	uint64_t group;
	uint64_t term;
	uint64_t index;
	const uint8_t *payload; /* decode: points into the scanned buffer */
};

#define AEG_WAL_HARD_STATE_BYTES 16u /* vote u64, commit u64 */
/* SEAL record's term: every hard state and snapshot marker logged before
 * this segment has a copy in it (its checkpoint is complete). 0 on a seal
 * that recovery put after a crash. */
#define AEG_WAL_SEAL_CHECKPOINTED 1u

uint32_t aeg_crc32c(uint32_t crc, const void *buf, size_t len);

/* Bytes a record with this payload takes in the log (8-byte aligned). */
static inline size_t aeg_wal_rec_size(uint32_t payload_len)
{
	return AEG_WAL_REC_HDR_BYTES + (((size_t)payload_len + 7u) & ~(size_t)7u);
}

/* Encoders return bytes written, -EMSGSIZE if cap is too small, -EINVAL on a
 * bad argument. Decoders return bytes consumed or:
 *   -EINVAL          not a header/record at all (bad magic, zeroes, bad type)
 *   -EBADMSG         checksum mismatch
 *   -EPROTONOSUPPORT valid header of a format version outside
 *                    AEG_WAL_VERSION_MIN..AEG_WAL_VERSION
 *   -ESTALE          valid record of another segment sequence (recycled data)
 *   -EMSGSIZE        buffer ends inside the record */
int aeg_wal_seg_hdr_encode(const struct aeg_wal_seg_hdr *h, uint8_t *buf, size_t cap);
int aeg_wal_seg_hdr_decode(struct aeg_wal_seg_hdr *h, const uint8_t *buf, size_t len);
int aeg_wal_rec_encode(uint8_t *buf, size_t cap, uint64_t seg_seq, const struct aeg_wal_rec *r);
int aeg_wal_rec_decode(struct aeg_wal_rec *r, const uint8_t *buf, size_t len, uint64_t seg_seq);

/* A record that fills [0, gap) exactly (gap >= AEG_WAL_REC_HDR_BYTES,
 * multiple of 8); used to end a batch on a block boundary. */
int aeg_wal_pad_encode(uint8_t *buf, size_t gap, uint64_t seg_seq);

int aeg_wal_hard_state_encode(uint8_t out[AEG_WAL_HARD_STATE_BYTES], uint64_t vote, uint64_t commit);
int aeg_wal_hard_state_decode(const struct aeg_wal_rec *r, uint64_t *vote, uint64_t *commit);

enum aeg_wal_scan_status {
	AEG_WAL_SCAN_CLEAN = 0,	/* records end; only zeroes or stale data follow */
	AEG_WAL_SCAN_SEALED,	/* ends with a SEAL record */
	AEG_WAL_SCAN_TORN,	/* a torn last write: truncate at valid_end */
	AEG_WAL_SCAN_DAMAGED,	/* damage before later valid records: refuse */
	AEG_WAL_SCAN_BAD_HEADER, /* segment header unusable (see hdr_error) */
};

struct aeg_wal_scan {
	enum aeg_wal_scan_status status;
	int hdr_error;		/* decoder result when BAD_HEADER */
	struct aeg_wal_seg_hdr hdr;
	size_t valid_end;	/* end of the valid prefix (a record boundary) */
	size_t damage_off;	/* first bad byte offset (TORN, DAMAGED) */
	size_t garbage_end;	/* end of the last current-looking record seen */
	uint64_t records;	/* valid records, PAD and SEAL included */
};

/* Scans one segment image: header, then records up to the first that does
 * not decode. Classifies what follows: nothing of this segment (CLEAN), a
 * torn write within hdr.torn_window_bytes (TORN) or damage (DAMAGED). Which
 * of these are acceptable depends on whether the segment is the last one;
 * the caller decides. Returns 0 or -EINVAL on bad arguments. */
int aeg_wal_scan_segment(struct aeg_wal_scan *out, const uint8_t *buf, size_t len);

/* Iterates the valid prefix found by the scanner: *pos starts at
 * AEG_WAL_SEG_HDR_BYTES; returns 1 with *r filled, 0 at the end. */
int aeg_wal_next(struct aeg_wal_rec *r, const uint8_t *buf, size_t valid_end, size_t *pos, uint64_t seg_seq);

const char *aeg_wal_type_name(uint32_t type);
const char *aeg_wal_scan_status_name(enum aeg_wal_scan_status s);

AEG_API_END

#endif
