/* The snapshot work of one worker done on a thread of its own, so that it
 * never stalls the worker loop (heartbeats, log writes, client requests):
 *   FILE     a snapshot file: write + fsync + rename + directory fsync. The
 *            worker serializes the state machine into a buffer, hands Raft
 *            the same buffer at once and queues the file here; once the
 *            file is durable it appends the log's snapshot marker and
 *            compacts the log (snap_writer_done).
 *   INSTALL  a snapshot from the leader: a new state machine loaded from the
 *            bytes (its allocations and page faults), then the file. The
 *            worker swaps it in when done; the group waits meanwhile
 *            (AEG_GD_INSTALL_LATER), the worker's other groups go on.
 *   FREE_KV  a state machine let go (the one an install replaced).
 *   TAKE     a snapshot of a shard from a view of its state machine
 *            (aeg_kv_view_open: the loop only copies entry pointers),
 *            serialized into a pooled buffer, then the file. The worker
 *            then hands Raft the bytes and appends the marker.
 * and, when idle, a spare buffer for the pool (below).
 *
 * Buffers are shared by the worker (Raft sends chunks from them) and the
 * writer: a reference count says who lets go. Let go, they return to the
 * worker's pool, which keeps a few of them with their pages faulted in: a
 * 5 MB buffer taken fresh from the kernel costs ~1,250 page faults on the
 * loop (measured: 13 ms here; 2.8 ms with the huge pages asked for), a
 * pooled one none. The writer's thread keeps a spare of the recent
 * snapshots' size in the pool, its pages touched: the loop's copy is then
 * a memcpy. Queue and completions
 * are bounded (SNAP_WRITER_JOBS); a full queue makes the worker skip a
 * periodic snapshot (it takes the next one later), install on its loop,
 * or free on its loop. One mutex, taken once per job by each side: the
 * slow path only. */
#ifndef AEGIS_DATAPLANE_SNAP_WRITER_H
#define AEGIS_DATAPLANE_SNAP_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/kv.h"
#include "aegis/wal_snapshot.h"

#define SNAP_WRITER_JOBS 64
#define SNAP_POOL_BUFS 4
#define SNAP_POOL_BYTES_MAX (256ull << 20)
/* The writer keeps a spare buffer of the recent snapshots' size up to this
 * (larger snapshots take fresh memory: their page faults are on the loop). */
#define SNAP_POOL_SPARE_MAX (64ull << 20)

struct snap_pool;
struct snap_writer;

struct snap_buf {
	uint8_t *data;
	size_t len, cap;
	int refs;             /* atomic */
	bool mapped;          /* data is an mmap of cap bytes (else malloc) */
	struct snap_pool *pool;
};

/* Buffers let go, kept for reuse (the largest SNAP_POOL_BUFS, at most
 * SNAP_POOL_BYTES_MAX together). */
struct snap_pool {
	pthread_mutex_t mu;
	bool ready;
	struct snap_buf *free[SNAP_POOL_BUFS];
	uint32_t n;
	uint64_t bytes;
	size_t want;              /* size of the spare the writer keeps ready */
	struct snap_writer *writer;  /* refills it (while running) */
	uint64_t reused, fresh, spares;  /* handed out kept / new; spares made by the writer */
};

int snap_pool_init(struct snap_pool *p);
/* Frees what the pool keeps; later puts free their buffer. */
void snap_pool_fini(struct snap_pool *p);
/* A buffer of len bytes (one reference), from the pool when one fits (p
 * may be NULL: malloc). NULL when out of memory. */
struct snap_buf *snap_buf_get(struct snap_pool *p, size_t len);
void snap_buf_put(struct snap_buf *b);   /* drops one reference */

enum snap_job_kind { SNAP_JOB_FILE, SNAP_JOB_INSTALL, SNAP_JOB_FREE_KV, SNAP_JOB_TAKE };

struct snap_job {
	uint8_t kind;               /* enum snap_job_kind */
	struct aeg_wal_snap_meta meta;
	struct snap_buf *buf;       /* FILE, INSTALL: the bytes */
	struct aeg_kv *kv;          /* INSTALL: the state loaded (done, rc 0); FREE_KV: to free */
	struct aeg_kv_view *view;   /* TAKE: what to serialize (closed by the worker) */
	struct aeg_kv_limits lim;   /* INSTALL: of the new state machine */
	uint64_t seq;               /* INSTALL: the worker's install it finishes */
	uint64_t load_ns, file_ns;  /* INSTALL, FILE: time the thread took */
	int rc;
};

struct snap_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop, joined;
	bool refill;                /* the pool wants a spare */
	struct snap_pool *pool;
	const char *dir;
	int dir_fd;
	struct snap_job queued[SNAP_WRITER_JOBS], done[SNAP_WRITER_JOBS];
	uint32_t n_queued, n_done, busy;  /* busy: jobs taken, not yet done */
};

/* pool (may be NULL) gets its spare from the writer's thread. */
int snap_writer_start(struct snap_writer *sw, const char *dir, int dir_fd, struct snap_pool *pool);
/* The pool wants a spare made. */
void snap_writer_wake(struct snap_writer *sw);
/* Does what is queued, then stops the thread; completions stay for
 * snap_writer_done until snap_writer_fini. */
void snap_writer_stop(struct snap_writer *sw);
/* Lets go of completions not collected (buffers, loaded state). */
void snap_writer_fini(struct snap_writer *sw);
/* Queues a job (takes a reference on job->buf). -EAGAIN when full or
 * stopping: nothing taken. */
int snap_writer_submit(struct snap_writer *sw, const struct snap_job *job);
/* Completed jobs into out (up to max), oldest first; the caller drops their
 * buffer references and owns their kv. */
uint32_t snap_writer_done(struct snap_writer *sw, struct snap_job *out, uint32_t max);
/* Jobs queued or being done. */
uint32_t snap_writer_pending(struct snap_writer *sw);

#endif
