/* Internal state of the WAL writer, shared by its .c files:
 *   wal_open.c     configuration, allocation, io_uring setup, close
 *   wal_writer.c   batches, io_uring submission and completion, errors
 *   wal_segment.c  segment files: create, recycle, recover, seal
 *   wal_groups.c   group table, per-segment index ranges, compaction, read back
 *   wal_snapshot_file.c  snapshot files */
#ifndef AEGIS_WAL_INTERNAL_H
#define AEGIS_WAL_INTERNAL_H

#include "wal_writer.h"

#include <liburing.h>

#define WAL_BLOCK_BYTES 4096u
/* Room kept at the end of a batch: a PAD of up to a block plus a SEAL. */
#define WAL_BATCH_RESERVE (WAL_BLOCK_BYTES + 2u * AEG_WAL_REC_HDR_BYTES)

enum wal_seg_state {
	WAL_SEG_UNUSED = 0,	/* no valid header: reusable at once */
	WAL_SEG_LIVE,		/* part of the log */
	WAL_SEG_FREE,		/* released; reusable once a newer header moved log start past it */
};

struct wal_segment {
	int fd;			/* buffered: recovery, seal, read back */
	int dfd;		/* O_DIRECT if possible, else == fd; registered as file slot */
	enum wal_seg_state state;
	uint64_t seq;
	uint64_t hdr_log_start;	/* log start written in this segment's header */
	uint64_t write_off;	/* next batch offset */
	uint64_t durable_end;	/* bytes known durable */
	uint64_t *min_index;	/* per group slot, 0 = none */
	uint64_t *max_index;
};

enum wal_batch_state { WAL_BATCH_FREE = 0, WAL_BATCH_FILLING, WAL_BATCH_INFLIGHT, WAL_BATCH_DONE };

struct wal_mark {
	uint32_t gslot;
	bool hard_state;
	uint64_t index;
	uint64_t term;
};

struct wal_batch {
	uint8_t *buf;
	enum wal_batch_state state;
	uint32_t seg;		/* segment slot */
	uint64_t off;		/* file offset */
	uint32_t len;		/* bytes filled */
	uint32_t cap;		/* bytes this batch may take in its segment */
	int64_t limit;		/* records may fill up to here (room for PAD, SEAL) */
	uint32_t written;	/* bytes the kernel confirmed */
	bool seals;		/* ends its segment */
	bool resubmit;		/* a short write cut the link: write the rest again */
	uint32_t marks_n;
	struct wal_mark *marks;
};

struct wal_group {
	uint64_t id;
	uint64_t last_index;
	uint64_t last_term;
	uint64_t compacted;
	uint64_t hs_term, hs_vote, hs_commit;
	bool has_hs;
	uint64_t mark_batch;	/* batch seq + 1 whose marks hold this group */
	uint32_t mark_pos;
};

struct aeg_wal {
	struct aeg_wal_config cfg;
	char *dir;
	int dir_fd;
	struct io_uring ring;
	bool ring_ok;
	struct aeg_wal_stats stats;

	struct wal_segment *segs;	/* segments_max */
	uint32_t segs_n;		/* files existing */
	int32_t cur;			/* segment being written, -1 = none yet */
	uint64_t next_seq;
	uint64_t durable_log_start;

	struct wal_batch *batches;	/* nbatches ring, index = seq % nbatches */
	uint32_t nbatches;
	uint64_t fill_seq;		/* batch being filled */
	uint64_t done_seq;		/* batches durable and reported */
	uint64_t submit_seq;		/* batches submitted */
	uint32_t cqes_pending;		/* CQEs the kernel still owes us */
	uint32_t rec_bytes_max;		/* largest record a batch always takes */

	struct wal_group *groups;
	uint32_t groups_n;
	uint32_t *gindex;		/* open addressing: gslot + 1, 0 = empty */
	uint32_t gindex_mask;

	uint8_t *scratch;		/* read back / recovery chunk, batch_bytes_max */
};

/* wal_segment.c */
int wal_segments_open(struct aeg_wal *w);
int wal_segment_start(struct aeg_wal *w, uint32_t *slot);
uint64_t wal_log_start(const struct aeg_wal *w);
void wal_segments_close(struct aeg_wal *w);

/* wal_groups.c */
int wal_groups_init(struct aeg_wal *w);
void wal_groups_fini(struct aeg_wal *w);
int wal_group_slot(struct aeg_wal *w, uint64_t group, bool create);
void wal_group_apply(struct aeg_wal *w, uint32_t seg, const struct aeg_wal_rec *r);

/* wal_writer.c */
int wal_ring_init(struct aeg_wal *w);
int wal_append_rec(struct aeg_wal *w, const struct aeg_wal_rec *r, uint64_t *lsn);
void wal_fail(struct aeg_wal *w, int err, const char *what, int seg, uint64_t off);
void wal_log(const struct aeg_wal *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *wal_seg_path(const struct aeg_wal *w, uint32_t slot, char *buf, size_t cap);

#endif
