/* The snapshot files of one worker, written on a thread of their own so
 * that a write + fsync + rename + directory fsync never stalls the worker
 * loop (heartbeats, log writes). The worker serializes the state machine
 * into a buffer (memory only), hands Raft the same buffer at once, and
 * queues the file write here; once the file is durable the worker appends
 * the log's snapshot marker and compacts the log (snap_writer_done).
 *
 * Buffers are shared by the worker (Raft sends chunks from them) and the
 * writer: a reference count says who frees. Queue and completions are
 * bounded (SNAP_WRITER_JOBS); a full queue makes the worker skip this
 * snapshot (it takes the next one later). One mutex, taken once per job
 * by each side: the slow path only. */
#ifndef AEGIS_DATAPLANE_SNAP_WRITER_H
#define AEGIS_DATAPLANE_SNAP_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/wal_snapshot.h"

#define SNAP_WRITER_JOBS 64

struct snap_buf {
	uint8_t *data;
	size_t len;
	int refs;             /* atomic */
};

struct snap_buf *snap_buf_new(size_t len);
void snap_buf_put(struct snap_buf *b);   /* drops one reference */

struct snap_job {
	struct aeg_wal_snap_meta meta;
	struct snap_buf *buf;
	int rc;
};

struct snap_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop, joined;
	const char *dir;
	int dir_fd;
	struct snap_job queued[SNAP_WRITER_JOBS], done[SNAP_WRITER_JOBS];
	uint32_t n_queued, n_done, busy;  /* busy: jobs taken, not yet done */
};

int snap_writer_start(struct snap_writer *sw, const char *dir, int dir_fd);
/* Writes what is queued, then stops the thread; completions stay for
 * snap_writer_done until snap_writer_fini. */
void snap_writer_stop(struct snap_writer *sw);
void snap_writer_fini(struct snap_writer *sw);
/* Queues the file write (takes a reference on buf). -EAGAIN when full. */
int snap_writer_submit(struct snap_writer *sw, const struct aeg_wal_snap_meta *m, struct snap_buf *buf);
/* Completed jobs into out (up to max), oldest first; the caller drops their
 * buffer references. */
uint32_t snap_writer_done(struct snap_writer *sw, struct snap_job *out, uint32_t max);
/* Jobs queued or being written. */
uint32_t snap_writer_pending(struct snap_writer *sw);

#endif
