/* WAL writer: configuration, allocation at open, io_uring setup, close. */
#define _GNU_SOURCE
#include "wal_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <unistd.h>

static void config_defaults(struct aeg_wal_config *c)
{
	if (c->segment_bytes == 0)
		c->segment_bytes = 64ull << 20;
	if (c->segments_initial == 0)
		c->segments_initial = 2;
	if (c->segments_max == 0)
		c->segments_max = 64;
	if (c->batch_bytes_max == 0)
		c->batch_bytes_max = 1u << 20;
	if (c->batches_inflight_max == 0)
		c->batches_inflight_max = 1;
	if (c->groups_max == 0)
		c->groups_max = 256;
	if (c->pinning_fill_pct == 0)
		c->pinning_fill_pct = 50;
}

/* Largest record a batch takes (a batch at a segment's head has its header). */
static int64_t rec_bytes_max(const struct aeg_wal_config *c)
{
	return (int64_t)c->batch_bytes_max - WAL_BATCH_RESERVE - AEG_WAL_SEG_HDR_BYTES;
}

/* A sixteenth of a segment, 4-64 KiB: room for about 100-1000 hard states
 * and markers (and their batches' padding) once entries no longer fit. */
static uint32_t meta_reserve(const struct aeg_wal_config *c)
{
	uint64_t r = c->segment_bytes / 16 / WAL_BLOCK_BYTES * WAL_BLOCK_BYTES;
	return (uint32_t)(r < WAL_BLOCK_BYTES ? WAL_BLOCK_BYTES : r > (64u << 10) ? (64u << 10) : r);
}

/* A segment holds a whole checkpoint (every group) and a batch of records,
 * with room to spare: twice the checkpoint. */
static bool segment_holds_checkpoint(const struct aeg_wal_config *c)
{
	uint64_t ckpt = wal_ckpt_reserve(c->batch_bytes_max, (uint64_t)c->groups_max * WAL_CKPT_GROUP_BYTES);
	uint64_t need = 2 * ckpt + c->batch_bytes_max + 2 * WAL_BLOCK_BYTES + meta_reserve(c);
	return c->segment_bytes >= need;
}

static int config_check(const struct aeg_wal_config *c)
{
	if (c->dir == NULL || c->batch_bytes_max % WAL_BLOCK_BYTES != 0 ||
	    c->segment_bytes % WAL_BLOCK_BYTES != 0 ||
	    c->segment_bytes < (uint64_t)c->batch_bytes_max + WAL_BLOCK_BYTES ||
	    c->segment_bytes > (1ull << 40) || c->segments_initial > c->segments_max ||
	    c->segments_max < 3 || c->segments_max > 1000000 || c->pinning_fill_pct > 100 ||
	    !segment_holds_checkpoint(c) || c->batches_inflight_max > 64 || c->groups_max > (1u << 20) ||
	    (uint64_t)c->batches_inflight_max * c->batch_bytes_max > UINT32_MAX || rec_bytes_max(c) < 64)
		return -EINVAL;
	return 0;
}

int wal_ring_init(struct aeg_wal *w)
{
	unsigned entries = 8;
	while (entries < 4 * w->cfg.batches_inflight_max + 4)
		entries *= 2;
	int rc = io_uring_queue_init(entries, &w->ring, 0);
	if (rc < 0) {
		wal_log(w, "io_uring_queue_init: %s", strerror(-rc));
		return rc;
	}
	w->ring_ok = true;
	struct iovec iov[65];
	assert(w->nbatches <= 65);
	for (uint32_t i = 0; i < w->nbatches; i++)
		iov[i] = (struct iovec){ .iov_base = w->batches[i].buf, .iov_len = w->cfg.batch_bytes_max };
	rc = io_uring_register_buffers(&w->ring, iov, w->nbatches);
	if (rc < 0) {
		wal_log(w, "registering %u batch buffers with io_uring: %s", w->nbatches, strerror(-rc));
		return rc;
	}
	rc = io_uring_register_files_sparse(&w->ring, w->cfg.segments_max);
	if (rc < 0)
		wal_log(w, "registering %u file slots with io_uring: %s", w->cfg.segments_max, strerror(-rc));
	return rc;
}

static int wal_alloc(struct aeg_wal *w)
{
	const struct aeg_wal_config *c = &w->cfg;
	w->nbatches = c->batches_inflight_max + 1;
	w->batches = calloc(w->nbatches, sizeof(*w->batches));
	w->segs = calloc(c->segments_max, sizeof(*w->segs));
	w->scratch = malloc(c->batch_bytes_max);
	if (w->batches == NULL || w->segs == NULL || w->scratch == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->segments_max; i++)
		w->segs[i].fd = w->segs[i].dfd = -1;
	for (uint32_t i = 0; i < w->nbatches; i++) {
		void *p = NULL;
		if (posix_memalign(&p, WAL_BLOCK_BYTES, c->batch_bytes_max) != 0)
			return -ENOMEM;
		memset(p, 0, c->batch_bytes_max);
		w->batches[i].buf = p;
		w->batches[i].marks = calloc(c->groups_max, sizeof(struct wal_mark));
		if (w->batches[i].marks == NULL)
			return -ENOMEM;
	}
	return wal_groups_init(w);
}

int aeg_wal_open(struct aeg_wal **out, const struct aeg_wal_config *cfg)
{
	struct aeg_wal *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->cfg = *cfg;
	w->dir_fd = -1;
	w->cur = -1;
	w->dir = strdup(cfg->dir != NULL ? cfg->dir : "");
	w->cfg.dir = w->dir;
	config_defaults(&w->cfg);
	int rc = w->dir == NULL ? -ENOMEM : config_check(&w->cfg) < 0 || cfg->dir == NULL ? -EINVAL : 0;
	if (rc == -EINVAL)
		wal_log(w, "invalid configuration (sizes must be multiples of %u, segment > batch and twice a "
			   "checkpoint of groups_max x %u bytes, 3 to 1000000 segments)",
			WAL_BLOCK_BYTES, WAL_CKPT_GROUP_BYTES);
	if (rc == 0) {
		w->rec_bytes_max = (uint32_t)rec_bytes_max(&w->cfg);
		w->meta_reserve = meta_reserve(&w->cfg);
		w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (w->dir_fd < 0) {
			rc = -errno;
			wal_log(w, "cannot open the data dir: %s%s", strerror(errno),
				errno == ENOENT ? " (create it first)" : "");
		} else if (flock(w->dir_fd, LOCK_EX | LOCK_NB) != 0) {
			/* Two writers on one log would interleave records. */
			rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
			wal_log(w, "the log is open in another process (or another aeg_wal): %s", strerror(-rc));
		}
	}
	if (rc == 0)
		rc = wal_alloc(w);
	if (rc == 0)
		rc = wal_ring_init(w);
	if (rc == 0)
		rc = wal_segments_open(w);
	if (rc < 0) {
		aeg_wal_close(w);
		return rc;
	}
	*out = w;
	return 0;
}

void aeg_wal_close(struct aeg_wal *w)
{
	if (w == NULL)
		return;
	if (w->ring_ok) {
		/* The kernel may still read our buffers: wait for every CQE. */
		int rc = aeg_wal_flush(w, NULL, NULL);
		(void)rc; /* a failed log was already reported by wal_fail */
		while (w->cqes_pending > 0 && aeg_wal_wait(w, NULL, NULL) >= 0)
			;
		while (w->cqes_pending > 0) {
			struct io_uring_cqe *cqe;
			if (io_uring_wait_cqe(&w->ring, &cqe) < 0)
				break;
			io_uring_cqe_seen(&w->ring, cqe);
			w->cqes_pending--;
		}
		/* Unregister first: ring teardown is deferred in the kernel and would
		 * keep the files open (and their file system busy) a little longer. */
		int rc_files = io_uring_unregister_files(&w->ring);
		int rc_bufs = io_uring_unregister_buffers(&w->ring);
		if ((rc_files < 0 && rc_files != -ENXIO) || (rc_bufs < 0 && rc_bufs != -ENXIO))
			wal_log(w, "unregistering from io_uring: %s", strerror(-(rc_files < 0 ? rc_files : rc_bufs)));
		io_uring_queue_exit(&w->ring);
	}
	wal_segments_close(w);
	wal_groups_fini(w);
	for (uint32_t i = 0; w->batches != NULL && i < w->nbatches; i++) {
		free(w->batches[i].buf);
		free(w->batches[i].marks);
	}
	free(w->batches);
	free(w->segs);
	free(w->scratch);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	free(w->dir);
	free(w);
}
