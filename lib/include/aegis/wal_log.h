/* The io_uring write-ahead log of one worker core, shared by all of its Raft
 * groups so that one fdatasync covers them all (group commit). Installed as
 * <aegis/wal_log.h>; implemented in dataplane/wal (needs liburing). At start
 * the node feeds the replayed records to the recovery stager
 * (<aegis/wal_recovery.h>) to get each group's state.
 *
 * Driven without blocking by the worker loop:
 *
 *   per Ready of a group:  aeg_wal_append_entries / aeg_wal_set_hard_state
 *                          (copies into the batch being filled; returns a
 *                          ticket, the lsn of that batch)
 *   once per iteration:    aeg_wal_submit   (write + fdatasync, linked SQEs,
 *                                            if a batch slot is free)
 *                          aeg_wal_poll     (reaps completions; calls back
 *                                            "durable up to (group, index)")
 *
 * A message that depends on the disk (a vote, an append acknowledgement,
 * a leader's own match index) is released once aeg_wal_durable_lsn() reaches
 * the ticket of the record it depends on; the callback gives the same
 * information per group. Batches complete, and are reported, in order.
 *
 * Sizes (all fixed at open; nothing is allocated afterwards):
 *   batch buffers:   (batches_inflight_max + 1) x batch_bytes_max, aligned,
 *                    registered with io_uring
 *   segment table:   segments_max x groups_max x 16 bytes (index ranges)
 *   group table:     groups_max entries (+ a hash index of twice that)
 *   read scratch:    batch_bytes_max
 *
 * Many groups: the work per batch is proportional to the groups in it (plus
 * a bounded checkpoint share); each segment carries a checkpoint, spread
 * over its batches, of the hard state and snapshot marker of every group
 * that did not log its own there, so that old segments can go (up to
 * groups_max x 96 bytes per segment; segment_bytes must hold that twice
 * over). A segment goes once no group keeps entries in it above its
 * compaction point; aeg_wal_pinning_groups names the groups that hold the
 * oldest one, for the node to snapshot and compact them.
 *
 * Files in dir: seg-NNNNNN.wal (fixed-size segments, preallocated, recycled)
 * and snap-<group>.snap (one snapshot per group). */
#ifndef AEGIS_WAL_LOG_H
#define AEGIS_WAL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/wal.h"
#include "aegis/wal_snapshot.h"

AEG_API_BEGIN

struct aeg_wal;

/* Called for every valid record in log order while the log is opened. A
 * negative return aborts the open with that code. */
typedef int (*aeg_wal_replay_fn)(void *ctx, const struct aeg_wal_rec *rec);

struct aeg_wal_config {
	const char *dir;		/* must exist */
	uint32_t worker_id;
	uint64_t segment_bytes;		/* default 64 MiB; multiple of 4 KiB */
	uint32_t segments_initial;	/* preallocated at open; default 2 */
	uint32_t segments_max;		/* default 64 */
	uint32_t batch_bytes_max;	/* one write + fdatasync; default 1 MiB */
	uint32_t batches_inflight_max;	/* default 1 */
	uint32_t groups_max;		/* Raft groups of this worker; default 256 */
	/* aeg_wal_pinning_groups answers once this share of segments_max is
	 * live; default 50. */
	uint32_t pinning_fill_pct;
	bool buffered;			/* never try O_DIRECT */
	/* Write zeroes over each new segment when it is created (once): later
	 * writes then overwrite allocated blocks and fdatasync has no extent
	 * metadata to commit. Costs segment_bytes of writes per new segment. */
	bool prezero;
	/* One write with RWF_DSYNC per batch instead of write + linked
	 * fdatasync: no fsync round trip through io-wq; a FUA write where the
	 * device has FUA. The same durability. */
	bool dsync;
	/* NOT DURABLE: writes with no fdatasync and no RWF_DSYNC (a batch
	 * counts as durable once the kernel has it). For measuring replication
	 * without the disk, never for data anyone keeps. */
	bool no_sync;
	aeg_wal_replay_fn replay;
	void *replay_ctx;
};

struct aeg_wal_entry {
	uint64_t term;
	uint64_t index;
	const void *data;
	uint32_t len;
	uint32_t type;		/* Raft entry type, up to AEG_WAL_ENTRY_TYPE_MAX */
};

struct aeg_wal_durable {
	uint64_t lsn;		/* ticket of the batch that became durable */
	uint64_t group;
	uint64_t index;		/* last entry of the group in that batch, 0 if none */
	uint64_t term;		/* its term */
	bool hard_state;	/* the group's hard state in that batch is durable */
};

typedef void (*aeg_wal_durable_fn)(void *ctx, const struct aeg_wal_durable *d);

struct aeg_wal_stats {
	uint64_t records;
	uint64_t payload_bytes;
	uint64_t bytes_written;		/* including headers and padding */
	uint64_t batches;
	uint64_t syncs;
	uint64_t sync_ns;		/* sum over batches of submit -> durable */
	uint64_t fill_ns;		/* sum over batches of first record -> submit */
	uint64_t report_ns;		/* sum over batches of submit -> reported durable (in order) */
	uint64_t short_writes;		/* resubmitted */
	uint64_t io_errors;		/* EIO, ENOSPC, ...: the log stopped */
	uint64_t log_full;		/* appends refused: no segment free */
	uint64_t segments_created;
	uint64_t segments_reused;
	uint64_t segments_released;
	uint64_t checkpoint_records;	/* hard states and markers copied forward */
	bool direct;			/* O_DIRECT in use */
	int failed;			/* 0 or the error that stopped the log */
};

/* Opens (recovering what is there) or creates the log in cfg->dir. Errors
 * are logged to stderr with the file and offset and returned: -ENOENT (no
 * dir), -EBUSY (the log is open elsewhere: the dir is locked), -EACCES or
 * -EROFS, -ENOSPC, -EPROTONOSUPPORT (segment of another format version),
 * -EBADMSG (damage in the middle, or a missing segment), -EINVAL. */
int aeg_wal_open(struct aeg_wal **out, const struct aeg_wal_config *cfg);
/* Makes everything appended durable (without callbacks: call aeg_wal_flush
 * with one first to hear about the last batches), then releases everything. */
void aeg_wal_close(struct aeg_wal *w);

/* Appends n entries of one group in order. Returns how many were taken
 * (fewer than n when something stops it: the rest is for a later call), or,
 * if none: -EAGAIN (every batch buffer busy: poll), -ENOSPC (no segment is
 * free: compaction is behind), -EMSGSIZE (an entry larger than a batch),
 * -EINVAL (entry type too large), -ENOBUFS (one group too many; -EAGAIN if a
 * removed group's slot frees up once its removal is durable), or the error
 * that stopped the log. *lsn gets the ticket of the last entry taken. */
int aeg_wal_append_entries(struct aeg_wal *w, uint64_t group, const struct aeg_wal_entry *ents, size_t n,
			   uint64_t *lsn);
int aeg_wal_set_hard_state(struct aeg_wal *w, uint64_t group, uint64_t term, uint64_t vote, uint64_t commit,
			   uint64_t *lsn);
/* Raft conflict: entries of group with index >= index_from are void. */
int aeg_wal_truncate(struct aeg_wal *w, uint64_t group, uint64_t index_from, uint64_t *lsn);

/* Starts the write + fdatasync of the filled batch if a slot is free.
 * Returns 1 if submitted, 0 if nothing to do now, or a negative error. */
int aeg_wal_submit(struct aeg_wal *w);
/* Reaps completions without blocking; calls fn for each durable group of each
 * completed batch, in order. Returns batches completed or a negative error. */
int aeg_wal_poll(struct aeg_wal *w, aeg_wal_durable_fn fn, void *ctx);
/* Like poll but blocks until at least one completion if anything is in flight. */
int aeg_wal_wait(struct aeg_wal *w, aeg_wal_durable_fn fn, void *ctx);
/* Submits and waits until everything appended so far is durable. */
int aeg_wal_flush(struct aeg_wal *w, aeg_wal_durable_fn fn, void *ctx);
/* The io_uring's fd: readable (poll/ppoll) while completions wait to be
 * reaped, so an event loop may sleep until its log write is durable instead
 * of polling for it. Only to wait on: read nothing from it. */
int aeg_wal_wait_fd(const struct aeg_wal *w);

uint64_t aeg_wal_durable_lsn(const struct aeg_wal *w);
uint64_t aeg_wal_last_index(const struct aeg_wal *w, uint64_t group);
const struct aeg_wal_stats *aeg_wal_get_stats(const struct aeg_wal *w);

/* The group no longer needs entries <= index (it has a snapshot covering
 * them, saved with aeg_wal_snapshot_save). Segments whose every group has
 * moved past are released for reuse. Returns the number of segments
 * released. After a restart a group's compaction point is its snapshot
 * marker's index. */
int aeg_wal_compact(struct aeg_wal *w, uint64_t group, uint64_t index);

/* Groups whose entries keep the oldest segment live, once the log is
 * pinning_fill_pct full (else 0): the node should snapshot and compact them
 * (an idle group that never snapshots would otherwise hold the disk). Writes
 * up to max ids and returns how many there are (may be more than max).
 * O(groups): call it when the log fills, not per batch. */
int aeg_wal_pinning_groups(struct aeg_wal *w, uint64_t *groups, size_t max);

/* The group leaves this worker: a REMOVE record is appended (replay and the
 * recovery stager forget the group), its entries stop pinning segments and
 * its slot is reused once the record is durable (*lsn). The snapshot file
 * stays: remove it with aeg_wal_snapshot_remove once *lsn is durable.
 * 0, -ENOENT, or an append error. */
int aeg_wal_group_remove(struct aeg_wal *w, uint64_t group, uint64_t *lsn);
/* Groups known to the log. */
uint32_t aeg_wal_group_count(const struct aeg_wal *w);

/* Reads back one durable entry (for a lagging follower) from the segment
 * files: the latest write of (group, index). Blocking pread: a slow path.
 * Fills *out (term, index, type, len; data = buf, payload copied up to cap)
 * and returns the payload length, -ENOENT if not in the log, -EAGAIN if not
 * durable yet. */
int aeg_wal_read_entry(struct aeg_wal *w, uint64_t group, uint64_t index, void *buf, uint32_t cap,
		       struct aeg_wal_entry *out);

/* Writes the group's snapshot file (temp name, fsync, rename, fsync dir) and
 * appends a snapshot marker. m->conf should hold the Raft config as of
 * m->index (aeg_raft_conf_encode()). Blocking: a slow path. Errors of the
 * marker's append as for aeg_wal_append_entries (-EAGAIN: poll, then save
 * again); only compact once it returned 0. A full log still takes markers
 * (a reserve at each segment's end), so a node can snapshot its way out. */
/* The two halves of aeg_wal_snapshot_save, for a node that writes snapshot
 * files on another thread: aeg_wal_snapshot_write only touches the file
 * system (dir and its open fd: aeg_wal_dir, aeg_wal_dir_fd) and may run on
 * any thread; aeg_wal_snapshot_mark appends the marker (the log's thread),
 * after the file is durable. */
int aeg_wal_snapshot_write(const char *dir, int dir_fd, const struct aeg_wal_snap_meta *m, const void *data);
int aeg_wal_snapshot_mark(struct aeg_wal *w, const struct aeg_wal_snap_meta *m);
const char *aeg_wal_dir(const struct aeg_wal *w);
int aeg_wal_dir_fd(const struct aeg_wal *w);
int aeg_wal_snapshot_save(struct aeg_wal *w, const struct aeg_wal_snap_meta *m, const void *data);
/* Removes the group's snapshot file (fsyncs the dir). 0 or -ENOENT, or an
 * I/O error. Blocking. */
int aeg_wal_snapshot_remove(struct aeg_wal *w, uint64_t group);
/* Loads dir's snapshot of group into buf (cap bytes); m gets its metadata,
 * the Raft config as of its index included (m->conf, m->conf_len; 0 for a
 * version 1 file). Returns the data length, -ENOENT, -EMSGSIZE (cap too small) or a format error. */
int aeg_wal_snapshot_load(const char *dir, uint64_t group, struct aeg_wal_snap_meta *m, void *buf, size_t cap);

AEG_API_END

#endif
