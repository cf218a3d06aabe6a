/* Snapshot work off the worker's thread (snap_writer.h). */
#define _GNU_SOURCE
#include "snap_writer.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include "aegis/wal_log.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int snap_pool_init(struct snap_pool *p)
{
	memset(p, 0, sizeof(*p));
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return -ENOMEM;
	p->ready = true;
	return 0;
}

/* Buffers of 2 MiB and more are mapped on 2 MiB boundaries with huge pages
 * asked for: a 5 MiB buffer then faults in 3 times, not 1,280 (measured
 * here: 2.8 ms against 13 ms for its first write). */
#define HUGE_BYTES (2u << 20)

static uint8_t *data_alloc(struct snap_buf *b)
{
	if (b->cap < HUGE_BYTES)
		return malloc(b->cap);
	size_t len = (b->cap + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
	size_t map = len + HUGE_BYTES;
	uint8_t *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_BYTES - 1) & ~((uintptr_t)HUGE_BYTES - 1));
	/* Only the aligned part is kept: the rest goes back at once. */
	if (a > p)
		(void)munmap(p, (size_t)(a - p));
	if (a + len < p + map)
		(void)munmap(a + len, (size_t)(p + map - (a + len)));
	(void)madvise(a, len, MADV_HUGEPAGE);  /* a hint: without THP, 4 KiB pages */
	b->cap = len;
	b->mapped = true;
	return a;
}

static void pool_keep(struct snap_pool *p, struct snap_buf *b);

static void buf_free(struct snap_buf *b)
{
	if (b->mapped)
		(void)munmap(b->data, b->cap);
	else
		free(b->data);
	free(b);
}

void snap_pool_fini(struct snap_pool *p)
{
	if (!p->ready)
		return;
	for (uint32_t i = 0; i < p->n; i++)
		buf_free(p->free[i]);
	p->n = 0;
	p->bytes = 0;
	p->ready = false;
	pthread_mutex_destroy(&p->mu);
}

/* A kept buffer may serve len if it holds it without wasting more than its
 * size again (a 64 MB buffer does not serve a 1 KB snapshot). */
static bool fits(size_t cap, size_t len)
{
	return cap >= len && cap / 2 <= len + (1u << 20);
}

/* Spares of len kept: two of small sizes (a leader's snapshot and a
 * follower's install come in bursts), one up to SNAP_POOL_SPARE_MAX. */
static bool pool_has(const struct snap_pool *p, size_t len)
{
	uint32_t n = 0, need = len <= SNAP_POOL_SPARE_MAX / 4 ? 2 : 1;
	for (uint32_t i = 0; i < p->n; i++)
		n += fits(p->free[i]->cap, len);
	return n >= need;
}

/* The smallest kept buffer that fits len. */
static struct snap_buf *pool_take(struct snap_pool *p, size_t len)
{
	pthread_mutex_lock(&p->mu);
	int best = -1;
	for (uint32_t i = 0; i < p->n; i++) {
		size_t cap = p->free[i]->cap;
		if (fits(cap, len) && (best < 0 || cap < p->free[best]->cap))
			best = (int)i;
	}
	struct snap_buf *b = NULL;
	if (best >= 0) {
		b = p->free[best];
		p->free[best] = p->free[--p->n];
		p->bytes -= b->cap;
		p->reused++;
	} else {
		p->fresh++;
	}
	/* The size the spare should have: the largest recent request, slowly
	 * forgotten. */
	p->want = len >= p->want ? len : p->want - (p->want - len) / 8;
	bool refill = p->want <= SNAP_POOL_SPARE_MAX && !pool_has(p, p->want);
	pthread_mutex_unlock(&p->mu);
	if (refill && p->writer != NULL)
		snap_writer_wake(p->writer);
	return b;
}

/* On the writer's thread: a buffer of the wanted size with every page
 * faulted in, so that the loop's next snapshot or install copy finds one. */
static void pool_refill(struct snap_pool *p)
{
	pthread_mutex_lock(&p->mu);
	size_t want = p->want;
	bool need = want > 0 && want <= SNAP_POOL_SPARE_MAX && !pool_has(p, want) &&
		    p->bytes + want + want / 8 + 1 <= SNAP_POOL_BYTES_MAX;
	pthread_mutex_unlock(&p->mu);
	if (!need)
		return;
	struct snap_buf *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return;
	b->cap = want + want / 8 + 1;
	if (p->writer != NULL)
		snap_writer_wake(p->writer);  /* maybe a second one */
	b->data = data_alloc(b);
	if (b->data == NULL) {
		free(b);
		return;
	}
	memset(b->data, 0, b->cap);
	b->pool = p;
	pthread_mutex_lock(&p->mu);
	p->spares++;
	pthread_mutex_unlock(&p->mu);
	pool_keep(p, b);
}

struct snap_buf *snap_buf_get(struct snap_pool *p, size_t len)
{
	struct snap_buf *b = p != NULL && p->ready ? pool_take(p, len) : NULL;
	if (b == NULL) {
		b = calloc(1, sizeof(*b));
		if (b == NULL)
			return NULL;
		/* Room to grow: the shard's next snapshot is a little larger. */
		b->cap = len + len / 8 + 1;
		b->data = data_alloc(b);
		if (b->data == NULL) {
			free(b);
			return NULL;
		}
		b->pool = p != NULL && p->ready ? p : NULL;
	}
	assert(b->cap >= len);
	b->len = len;
	b->refs = 1;
	return b;
}

/* Keeps b unless the pool holds enough: then the smallest buffer goes. */
static void pool_keep(struct snap_pool *p, struct snap_buf *b)
{
	pthread_mutex_lock(&p->mu);
	struct snap_buf *gone = NULL;
	if (p->n == SNAP_POOL_BUFS || p->bytes + b->cap > SNAP_POOL_BYTES_MAX) {
		uint32_t small = 0;
		for (uint32_t i = 1; i < p->n; i++)
			if (p->free[i]->cap < p->free[small]->cap)
				small = i;
		if (p->n > 0 && p->free[small]->cap < b->cap) {
			gone = p->free[small];
			p->bytes -= gone->cap;
			p->free[small] = p->free[--p->n];
		} else {
			gone = b;
			b = NULL;
		}
	}
	if (b != NULL && p->bytes + b->cap <= SNAP_POOL_BYTES_MAX) {
		p->free[p->n++] = b;
		p->bytes += b->cap;
	} else if (b != NULL) {
		buf_free(b);
	}
	pthread_mutex_unlock(&p->mu);
	if (gone != NULL)
		buf_free(gone);
}

void snap_buf_put(struct snap_buf *b)
{
	if (b == NULL)
		return;
	int left = __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	assert(left >= 0);
	if (left > 0)
		return;
	if (b->pool != NULL && b->pool->ready)
		pool_keep(b->pool, b);
	else
		buf_free(b);
}

/* INSTALL: a state machine of its own from the bytes, then the file. */
static int do_install(struct snap_writer *sw, struct snap_job *job)
{
	uint64_t t0 = now_ns();
	int rc = aeg_kv_new(&job->kv, &job->lim, NULL);
	if (rc == 0)
		rc = aeg_kv_snapshot_load(job->kv, job->buf->data, job->buf->len);
	uint64_t t1 = now_ns();
	job->load_ns = t1 - t0;
	if (rc == 0)
		rc = aeg_wal_snapshot_write(sw->dir, sw->dir_fd, &job->meta, job->buf->data);
	job->file_ns = now_ns() - t1;
	if (rc != 0 && job->kv != NULL) {
		aeg_kv_free(job->kv);
		job->kv = NULL;
	}
	return rc;
}

/* TAKE: the view's bytes into a pooled buffer, then the file. */
static int do_take(struct snap_writer *sw, struct snap_job *job)
{
	uint64_t t0 = now_ns();
	size_t len = aeg_kv_view_size(job->view);
	job->buf = snap_buf_get(sw->pool, len);
	if (job->buf == NULL)
		return -ENOMEM;
	int rc = aeg_kv_view_write(job->view, job->buf->data, len);
	job->meta.len = len;
	uint64_t t1 = now_ns();
	job->load_ns = t1 - t0;
	if (rc == 0)
		rc = aeg_wal_snapshot_write(sw->dir, sw->dir_fd, &job->meta, job->buf->data);
	job->file_ns = now_ns() - t1;
	return rc;
}

static void do_job(struct snap_writer *sw, struct snap_job *job)
{
	switch (job->kind) {
	case SNAP_JOB_FILE: {
		uint64_t t0 = now_ns();
		job->rc = aeg_wal_snapshot_write(sw->dir, sw->dir_fd, &job->meta, job->buf->data);
		job->file_ns = now_ns() - t0;
		break;
	}
	case SNAP_JOB_INSTALL:
		job->rc = do_install(sw, job);
		break;
	case SNAP_JOB_TAKE:
		job->rc = do_take(sw, job);
		break;
	case SNAP_JOB_FREE_KV:
		aeg_kv_free(job->kv);
		job->kv = NULL;
		job->rc = 0;
		break;
	default:
		assert(!"unknown snapshot job");
	}
}

/* Below the worker loops: on a machine whose cores the loops share, the
 * loops' requests go first and snapshot work takes what is left. */
#define WRITER_NICE 10

static void *writer_main(void *arg)
{
	struct snap_writer *sw = arg;
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE);  /* a hint: unprivileged may fail */
	pthread_mutex_lock(&sw->mu);
	for (;;) {
		while (sw->n_queued == 0 && !sw->stop && !sw->refill)
			pthread_cond_wait(&sw->cv, &sw->mu);
		if (sw->n_queued == 0 && sw->stop)
			break;
		if (sw->n_queued == 0) {
			sw->refill = false;
			pthread_mutex_unlock(&sw->mu);
			if (sw->pool != NULL)
				pool_refill(sw->pool);
			pthread_mutex_lock(&sw->mu);
			continue;
		}
		struct snap_job job = sw->queued[0];
		memmove(sw->queued, sw->queued + 1, (sw->n_queued - 1) * sizeof(sw->queued[0]));
		sw->n_queued--;
		sw->busy++;
		pthread_mutex_unlock(&sw->mu);
		do_job(sw, &job);
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

void snap_writer_wake(struct snap_writer *sw)
{
	pthread_mutex_lock(&sw->mu);
	sw->refill = true;
	pthread_cond_signal(&sw->cv);
	pthread_mutex_unlock(&sw->mu);
}

int snap_writer_start(struct snap_writer *sw, const char *dir, int dir_fd, struct snap_pool *pool)
{
	memset(sw, 0, sizeof(*sw));
	sw->dir = dir;
	sw->dir_fd = dir_fd;
	sw->pool = pool;
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
	if (pool != NULL)
		pool->writer = sw;
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
	if (sw->pool != NULL)
		sw->pool->writer = NULL;  /* no more refills */
	sw->joined = true;
}

void snap_writer_fini(struct snap_writer *sw)
{
	if (sw->started)
		snap_writer_stop(sw);
	if (!sw->joined)
		return;
	for (uint32_t i = 0; i < sw->n_done; i++) {
		snap_buf_put(sw->done[i].buf);
		if (sw->done[i].kv != NULL)
			aeg_kv_free(sw->done[i].kv);
		aeg_kv_view_close(sw->done[i].view);
	}
	sw->n_done = 0;
	pthread_cond_destroy(&sw->cv);
	pthread_mutex_destroy(&sw->mu);
	sw->joined = false;
}

int snap_writer_submit(struct snap_writer *sw, const struct snap_job *job)
{
	if (!sw->started)
		return -EAGAIN;
	pthread_mutex_lock(&sw->mu);
	bool full = sw->stop || sw->n_queued + sw->busy + sw->n_done >= SNAP_WRITER_JOBS;
	if (!full) {
		if (job->buf != NULL)
			__atomic_add_fetch(&job->buf->refs, 1, __ATOMIC_ACQ_REL);
		sw->queued[sw->n_queued++] = *job;
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
