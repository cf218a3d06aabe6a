/* Snapshot files written off the worker's thread (snap_writer.h). */
#define _GNU_SOURCE
#include "snap_writer.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/wal_log.h"

struct snap_buf *snap_buf_new(size_t len)
{
	struct snap_buf *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->data = malloc(len ? len : 1);
	if (b->data == NULL) {
		free(b);
		return NULL;
	}
	b->len = len;
	b->refs = 1;
	return b;
}

void snap_buf_put(struct snap_buf *b)
{
	if (b == NULL)
		return;
	int left = __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	assert(left >= 0);
	if (left == 0) {
		free(b->data);
		free(b);
	}
}

static void *writer_main(void *arg)
{
	struct snap_writer *sw = arg;
	pthread_mutex_lock(&sw->mu);
	for (;;) {
		while (sw->n_queued == 0 && !sw->stop)
			pthread_cond_wait(&sw->cv, &sw->mu);
		if (sw->n_queued == 0 && sw->stop)
			break;
		struct snap_job job = sw->queued[0];
		memmove(sw->queued, sw->queued + 1, (sw->n_queued - 1) * sizeof(sw->queued[0]));
		sw->n_queued--;
		sw->busy++;
		pthread_mutex_unlock(&sw->mu);
		job.rc = aeg_wal_snapshot_write(sw->dir, sw->dir_fd, &job.meta, job.buf->data);
		pthread_mutex_lock(&sw->mu);
		sw->busy--;
		/* done[] has room: submit refuses while queued + busy + done would overflow it */
		assert(sw->n_done < SNAP_WRITER_JOBS);
		sw->done[sw->n_done] = job;
		__atomic_store_n(&sw->n_done, sw->n_done + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&sw->mu);
	return NULL;
}

int snap_writer_start(struct snap_writer *sw, const char *dir, int dir_fd)
{
	memset(sw, 0, sizeof(*sw));
	sw->dir = dir;
	sw->dir_fd = dir_fd;
	if (pthread_mutex_init(&sw->mu, NULL) != 0)
		return -ENOMEM;
	if (pthread_cond_init(&sw->cv, NULL) != 0) {
		pthread_mutex_destroy(&sw->mu);
		return -ENOMEM;
	}
	int rc = pthread_create(&sw->thread, NULL, writer_main, sw);
	if (rc != 0) {
		pthread_cond_destroy(&sw->cv);
		pthread_mutex_destroy(&sw->mu);
		return -rc;
	}
	sw->started = true;
	return 0;
}

void snap_writer_stop(struct snap_writer *sw)
{
	if (!sw->started)
		return;
	pthread_mutex_lock(&sw->mu);
	sw->stop = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
	pthread_join(sw->thread, NULL);
	sw->started = false;
	sw->joined = true;
}

void snap_writer_fini(struct snap_writer *sw)
{
	if (sw->started)
		snap_writer_stop(sw);
	if (!sw->joined)
		return;
	for (uint32_t i = 0; i < sw->n_done; i++)
		snap_buf_put(sw->done[i].buf);
	sw->n_done = 0;
	pthread_cond_destroy(&sw->cv);
	pthread_mutex_destroy(&sw->mu);
	sw->joined = false;
}

int snap_writer_submit(struct snap_writer *sw, const struct aeg_wal_snap_meta *m, struct snap_buf *buf)
{
	pthread_mutex_lock(&sw->mu);
	bool full = sw->n_queued + sw->busy + sw->n_done >= SNAP_WRITER_JOBS;
	if (!full) {
		__atomic_add_fetch(&buf->refs, 1, __ATOMIC_ACQ_REL);
		sw->queued[sw->n_queued++] = (struct snap_job){ .meta = *m, .buf = buf };
		pthread_cond_signal(&sw->cv);
	}
	pthread_mutex_unlock(&sw->mu);
	return full ? -EAGAIN : 0;
}

uint32_t snap_writer_done(struct snap_writer *sw, struct snap_job *out, uint32_t max)
{
	/* Racy peek first: almost every iteration has nothing to collect. */
	if (__atomic_load_n(&sw->n_done, __ATOMIC_RELAXED) == 0)
		return 0;
	pthread_mutex_lock(&sw->mu);
	uint32_t n = sw->n_done < max ? sw->n_done : max;
	memcpy(out, sw->done, n * sizeof(*out));
	memmove(sw->done, sw->done + n, (sw->n_done - n) * sizeof(sw->done[0]));
	__atomic_store_n(&sw->n_done, sw->n_done - n, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&sw->mu);
	return n;
}

uint32_t snap_writer_pending(struct snap_writer *sw)
{
	pthread_mutex_lock(&sw->mu);
	uint32_t n = sw->n_queued + sw->busy;
	pthread_mutex_unlock(&sw->mu);
	return n;
}
