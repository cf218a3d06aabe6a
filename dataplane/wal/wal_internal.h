/* Internal state of the WAL writer, shared by its .c files:
 *   wal_open.c     configuration, allocation, io_uring setup, close
 *   wal_writer.c   batches, io_uring submission and completion, errors
 *   wal_segment.c  segment files: create, recycle, recover, seal
 *   wal_groups.c   group table (add, remove), per-segment index ranges, read back
 *   wal_live.c     what keeps a segment live: pins, checkpoints, release and reuse,
 *                  pinning report
 *   wal_snapshot_file.c  snapshot files */
#ifndef AEGIS_WAL_INTERNAL_H
#define AEGIS_WAL_INTERNAL_H

#include "aegis/wal_log.h"

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
	/* Groups with an entry here above their compaction point: the segment
	 * is released once no group pins it (and a newer checkpoint is done). */
	uint32_t pins;
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
	int64_t limit_entries;	/* entries: less, near the segment's end (meta_reserve) */
	uint32_t written;	/* bytes the kernel confirmed */
	bool seals;		/* ends its segment */
	bool resubmit;		/* a short write cut the link: write the rest again */
	uint64_t submit_ns;	/* CLOCK_MONOTONIC at submit (stats: sync latency) */
	uint64_t start_ns;	/* ... at its first record (stats: wait for a slot) */
	uint32_t marks_n;
	struct wal_mark *marks;
};

struct wal_group {
	uint64_t id;
	bool used;		/* false: a free slot (removed group) */
	uint64_t last_index;
	uint64_t last_term;
	uint64_t compacted;
	/* Latest hard state and snapshot marker, and the segment (seq) holding
	 * their latest record: checkpoints copy them forward from older ones. */
	uint64_t hs_term, hs_vote, hs_commit, hs_seq;
	bool has_hs;
	uint64_t snap_index, snap_term, snap_seq;
	uint64_t mark_batch;	/* batch seq + 1 whose marks hold this group */
	uint32_t mark_pos;
	uint64_t free_lsn;	/* removed: the slot is reusable once this is durable */
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
	/* Room at the end of each segment that entries may not take: when the
	 * log is full, hard states and snapshot markers still go in, so that the
	 * node can snapshot the groups that hold it and compact them. */
	uint32_t meta_reserve;

	struct wal_group *groups;
	uint32_t groups_n;		/* slots ever used (free ones included) */
	uint32_t groups_live;
	uint32_t *gindex;		/* open addressing: gslot + 1, 0 = empty */
	uint32_t gindex_mask;
	uint32_t *free_slots;		/* FIFO of removed slots, in free_lsn order */
	uint32_t free_head, free_n;
	bool replaying;

	/* Checkpoint of the current segment: every group whose hard state or
	 * snapshot marker lives only in older segments gets a copy here, a few
	 * per batch, all before the segment is sealed (room is held back for
	 * it). Then no older segment holds anything a group still needs but
	 * entries, which the pins count. */
	uint32_t ckpt_cursor;		/* next group slot to look at */
	uint32_t ckpt_end;		/* groups_n when the segment started */
	uint64_t ckpt_done_seq;		/* newest segment whose checkpoint is complete */

	uint8_t *scratch;		/* read back / recovery chunk, batch_bytes_max */
};

/* wal_segment.c */
int wal_segments_open(struct aeg_wal *w);
int wal_segment_start(struct aeg_wal *w, uint32_t *slot);
uint64_t wal_log_start(const struct aeg_wal *w);
int wal_seg_by_seq(const struct aeg_wal *w, uint64_t seq);
void wal_segments_close(struct aeg_wal *w);

/* wal_groups.c */
int wal_groups_init(struct aeg_wal *w);
void wal_groups_fini(struct aeg_wal *w);
int wal_group_slot(struct aeg_wal *w, uint64_t group, bool create);
void wal_group_apply(struct aeg_wal *w, uint32_t seg, const struct aeg_wal_rec *r);

/* wal_live.c */
#define WAL_CKPT_GROUP_BYTES (2u * AEG_WAL_REC_HDR_BYTES + AEG_WAL_HARD_STATE_BYTES) /* hs + snap marker */
/* Room a checkpoint of pending bytes needs in a segment: its records and the
 * PAD and SEAL reserve of every batch it may spread over (a batch near the
 * segment's end gives it all its room, at least a quarter of a batch). */
static inline uint64_t wal_ckpt_reserve(uint32_t batch_bytes_max, uint64_t pending)
{
	if (pending == 0)
		return 0;
	return pending + (pending / (batch_bytes_max / 4) + 2) * WAL_BATCH_RESERVE;
}
void wal_live_truncate(struct aeg_wal *w, uint32_t gslot, uint64_t index_from);
void wal_live_entry(struct aeg_wal *w, uint32_t seg, uint32_t gslot, uint64_t index);
void wal_live_compact(struct aeg_wal *w, uint32_t gslot, uint64_t index);
void wal_live_forget(struct aeg_wal *w, uint32_t gslot);
uint64_t wal_ckpt_pending_bytes(const struct aeg_wal *w);
void wal_ckpt_step(struct aeg_wal *w, struct wal_batch *b, uint64_t budget);
int wal_release(struct aeg_wal *w);
void wal_ckpt_batch(struct aeg_wal *w, struct wal_batch *b);
int wal_seg_pick(const struct aeg_wal *w);
bool wal_segment_available(struct aeg_wal *w);
void wal_log_full(struct aeg_wal *w);

/* wal_writer.c */
int wal_ring_init(struct aeg_wal *w);
int wal_append_rec(struct aeg_wal *w, const struct aeg_wal_rec *r, uint64_t *lsn);
void wal_batch_put(struct aeg_wal *w, struct wal_batch *b, const struct aeg_wal_rec *r, int gslot, bool mark);
void wal_fail(struct aeg_wal *w, int err, const char *what, int seg, uint64_t off);
void wal_log(const struct aeg_wal *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *wal_seg_path(const struct aeg_wal *w, uint32_t slot, char *buf, size_t cap);

#endif
