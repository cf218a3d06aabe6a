/* The load threads of workload.h. */
#define _GNU_SOURCE
#include "workload.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "keyval.h"
#include "record.h"

struct wl_slot {
	struct aeg_client_op op;
	struct wl_thread *t;
	uint8_t *key, *buf;
	uint64_t key_index, tag;
	uint64_t intended_ns; /* latency starts here (= submit time in the closed loop) */
	uint64_t submit_ns;   /* when it went to the client (--history's invocation) */
	uint8_t kind;
	bool measured;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
	nanosleep(&ts, NULL);
}

int wl_thread_init(struct wl_thread *t, struct wl_run *run, uint32_t index, struct aeg_client *c)
{
	const struct wl_params *p = run->p;
	memset(t, 0, sizeof(*t));
	t->run = run;
	t->index = index;
	t->client = c;
	t->rng = p->seed + 0x51ed270b27bd3c4dull * (index + 1);
	/* a GET of a key written with larger values by an earlier run still fits */
	t->buf_cap = p->value_bytes > 4096 ? p->value_bytes : 4096;
	t->quota = p->ops / p->threads + (index < p->ops % p->threads);
	size_t per_slot = (size_t)p->key_bytes + t->buf_cap;
	t->slots = calloc(p->outstanding, sizeof(*t->slots));
	t->free_stack = calloc(p->outstanding, sizeof(*t->free_stack));
	t->mem = malloc(per_slot * p->outstanding);
	t->rec_cap = p->record_fd >= 0 ? 1u << 16 : 0;
	t->rec_buf = t->rec_cap ? malloc(t->rec_cap) : NULL;
	t->his_cap = p->history_fd >= 0 ? 1u << 16 : 0;
	t->his_buf = t->his_cap ? malloc(t->his_cap) : NULL;
	if (t->slots == NULL || t->free_stack == NULL || t->mem == NULL || (t->rec_cap && !t->rec_buf) ||
	    (t->his_cap && !t->his_buf))
		return -ENOMEM;
	for (uint32_t i = 0; i < p->outstanding; i++) {
		struct wl_slot *s = &t->slots[i];
		s->t = t;
		s->key = t->mem + per_slot * i;
		s->buf = s->key + p->key_bytes;
		t->free_stack[t->n_free++] = p->outstanding - 1 - i;
	}
	hist_reset(&t->tot.lat);
	hist_reset(&t->tot.lag);
	for (int k = 0; k < WL_KINDS; k++)
		hist_reset(&t->tot.lat_kind[k]);
	for (int i = 0; i < WL_SEC_RING; i++)
		hist_reset(&t->ring[i].lat);
	return 0;
}

void wl_thread_free(struct wl_thread *t)
{
	free(t->slots);
	free(t->free_stack);
	free(t->mem);
	free(t->rec_buf);
	free(t->his_buf);
}

/* ---- seconds ------------------------------------------------------------- */

/* Moves the thread's current second up to now's, publishing each finished
 * one. If main has not merged the slot the next second needs (it lags a
 * whole ring behind), completions keep landing in the current second. */
static struct wl_sec *sec_at(struct wl_thread *t, uint64_t now)
{
	uint64_t sec = (now - t->run->t0_ns) / 1000000000ull;
	while (t->cur_sec < sec) {
		uint64_t next = t->cur_sec + 1;
		if (next >= atomic_load_explicit(&t->consumed, memory_order_acquire) + WL_SEC_RING)
			break;
		struct wl_sec *s = &t->ring[next % WL_SEC_RING];
		hist_reset(&s->lat);
		s->done = s->errors = s->timeouts = s->started = s->started_measured = s->late = 0;
		atomic_store_explicit(&t->published, next, memory_order_release);
		t->cur_sec = next;
	}
	return &t->ring[t->cur_sec % WL_SEC_RING];
}

bool wl_collect_second(struct wl_run *run, uint64_t s, struct wl_sec *out)
{
	bool any = false;
	for (uint32_t i = 0; i < run->p->threads; i++) {
		struct wl_thread *t = &run->threads[i];
		bool fin = atomic_load_explicit(&t->finished, memory_order_acquire);
		bool has = atomic_load_explicit(&t->published, memory_order_acquire) > s;
		if (!has && !fin)
			return false;
		any |= has;
	}
	if (!any)
		return false; /* every thread finished before second s */
	hist_reset(&out->lat);
	out->done = out->errors = out->timeouts = out->started = out->started_measured = out->late = 0;
	for (uint32_t i = 0; i < run->p->threads; i++) {
		struct wl_thread *t = &run->threads[i];
		if (atomic_load_explicit(&t->published, memory_order_acquire) <= s)
			continue; /* finished before second s */
		const struct wl_sec *x = &t->ring[s % WL_SEC_RING];
		hist_merge(&out->lat, &x->lat);
		out->done += x->done;
		out->errors += x->errors;
		out->timeouts += x->timeouts;
		out->started += x->started;
		out->started_measured += x->started_measured;
		out->late += x->late;
		atomic_store_explicit(&t->consumed, s + 1, memory_order_release);
	}
	return true;
}

bool wl_all_finished(struct wl_run *run)
{
	for (uint32_t i = 0; i < run->p->threads; i++)
		if (!atomic_load_explicit(&run->threads[i].finished, memory_order_acquire))
			return false;
	return true;
}

/* ---- operations ---------------------------------------------------------- */

static void record_ack(struct wl_thread *t, struct wl_slot *s)
{
	const struct wl_params *p = t->run->p;
	t->tot.acked_writes++;
	if (t->run->versions != NULL)
		atomic_store_explicit(&t->run->versions[s->key_index & t->run->versions_mask], s->op.version,
				      memory_order_relaxed);
	if (t->rec_cap == 0)
		return;
	if (t->rec_len + RECORD_LINE_MAX(p->key_bytes) > t->rec_cap) {
		int rc = record_write(p->record_fd, t->rec_buf, t->rec_len);
		t->rec_len = 0;
		if (rc < 0 && t->fatal == 0)
			t->fatal = rc;
	}
	t->rec_len += record_format(t->rec_buf + t->rec_len, s->key, p->key_bytes, s->op.version,
				    kv_digest(s->buf, p->value_bytes), s->tag, p->value_bytes);
}

static void history_flush(struct wl_thread *t)
{
	if (t->his_len == 0)
		return;
	int rc = record_write(t->run->p->history_fd, t->his_buf, t->his_len);
	t->his_len = 0;
	if (rc < 0 && t->fatal == 0)
		t->fatal = rc;
}

/* --history: one line per operation for aegis-lincheck, "KEY put|get VALUE
 * INVOKE_NS RETURN_NS|-". A value is its write's tag + 1 (0: absent). A
 * write without a final OK may or may not have happened ('-'); a CAS that
 * did not match, a write never sent and a read without an answer tell
 * nothing and are left out. */
static void history_add(struct wl_thread *t, const struct wl_slot *s, int st, uint64_t now)
{
	const struct wl_params *p = t->run->p;
	const struct aeg_client_op *op = &s->op;
	uint64_t value;
	bool put = s->kind != WL_READ, answered = st == AEG_CLIENT_OK;
	if (put) {
		if (st < 0 || (s->kind == WL_CAS && st == AEG_CLIENT_VERSION_MISMATCH))
			return;
		value = s->tag + 1;
	} else {
		uint64_t tag;
		if (st == AEG_CLIENT_NOT_FOUND)
			value = 0, answered = true;
		else if (st == AEG_CLIENT_OK &&
			 kv_check(s->buf, op->value_len, s->key, p->key_bytes, &tag) == KV_OWN)
			value = tag + 1;
		else
			return; /* no answer, or not a value of ours: nothing to check */
	}
	if (t->his_len + p->key_bytes + 80 > t->his_cap)
		history_flush(t);
	char *o = t->his_buf + t->his_len;
	memcpy(o, s->key, p->key_bytes);
	o += p->key_bytes;
	int n = answered ? snprintf(o, 80, " %s %llu %llu %llu\n", put ? "put" : "get",
				    (unsigned long long)value, (unsigned long long)s->submit_ns,
				    (unsigned long long)now)
			 : snprintf(o, 80, " put %llu %llu -\n", (unsigned long long)value,
				    (unsigned long long)s->submit_ns);
	assert(n > 0 && n < 80);
	t->his_len += p->key_bytes + (uint32_t)n;
}

static void on_done(struct aeg_client_op *op)
{
	struct wl_slot *s = op->user;
	struct wl_thread *t = s->t;
	t->free_stack[t->n_free++] = (uint32_t)(s - t->slots);
	if (t->his_cap)
		history_add(t, s, t->closing ? AEG_CLIENT_TIMEOUT : op->status, now_ns());
	if (t->closing)
		return; /* cancelled at close: never acknowledged */
	uint64_t now = now_ns(), lat = now - s->intended_ns;
	int st = op->status;
	bool good = st == AEG_CLIENT_OK || (st == AEG_CLIENT_NOT_FOUND && s->kind != WL_WRITE) ||
		    (st == AEG_CLIENT_VERSION_MISMATCH && s->kind == WL_CAS);
	struct wl_sec *sec = sec_at(t, now);
	sec->done++;
	if (good) {
		hist_add(&sec->lat, lat);
	} else {
		sec->errors++;
		sec->timeouts += st == AEG_CLIENT_TIMEOUT;
	}
	if (s->measured) {
		t->tot.done++;
		t->tot.by_status[s->kind][st >= 0 && st < AEG_CLIENT_STATUS_NR ? st : WL_ST_LOCAL]++;
		if (st < 0 && t->tot.first_local_error == 0)
			t->tot.first_local_error = st;
		if (good) {
			t->tot.good++;
			hist_add(&t->tot.lat, lat);
			hist_add(&t->tot.lat_kind[s->kind], lat);
		}
		if (t->run->p->ops > 0 && now > t->tot.window_end_ns)
			t->tot.window_end_ns = now;
	}
	if (st == AEG_CLIENT_OK && s->kind != WL_READ)
		record_ack(t, s);
	else if (st == AEG_CLIENT_VERSION_MISMATCH && t->run->versions != NULL)
		atomic_store_explicit(&t->run->versions[s->key_index & t->run->versions_mask], op->version,
				      memory_order_relaxed);
	else if (st == AEG_CLIENT_OK && s->kind == WL_READ) {
		uint64_t tag;
		t->tot.read_foreign += kv_check(s->buf, op->value_len, s->key, t->run->p->key_bytes, &tag) ==
				       KV_FOREIGN;
		if (t->run->versions != NULL)
			atomic_store_explicit(&t->run->versions[s->key_index & t->run->versions_mask],
					      op->version, memory_order_relaxed);
	}
}

static uint8_t pick_kind(struct wl_thread *t)
{
	const struct wl_params *p = t->run->p;
	double x = rng_unit(&t->rng) * 100.0;
	return x < p->reads_pct ? WL_READ : x < p->reads_pct + p->cas_pct ? WL_CAS : WL_WRITE;
}

/* Starts one operation due at `intended` (submitted at `now`). 0 or the
 * client's refusal (a negative errno: fatal, the slot is returned). */
static int start_op(struct wl_thread *t, uint64_t intended, uint64_t now, bool measured)
{
	const struct wl_params *p = t->run->p;
	assert(t->n_free > 0);
	struct wl_slot *s = &t->slots[t->free_stack[--t->n_free]];
	s->kind = pick_kind(t);
	s->key_index = p->zipf ? zipf_rank(&p->zipf_gen, rng_unit(&t->rng)) : rng_below(&t->rng, p->keys);
	kv_key(s->key, p->key_bytes, s->key_index);
	s->intended_ns = intended;
	s->submit_ns = now;
	s->measured = measured;
	struct aeg_client_op *op = &s->op;
	memset(op, 0, offsetof(struct aeg_client_op, priv));
	op->key = s->key;
	op->key_len = p->key_bytes;
	op->done = on_done;
	op->user = s;
	if (s->kind == WL_READ) {
		op->op = AEG_CLIENT_GET;
		op->consistency = p->read_cl;
		op->buf = s->buf;
		op->buf_cap = t->buf_cap;
	} else {
		/* tag: 24 bits of run nonce | 8 bits of thread | 32 bits of count */
		s->tag = p->nonce << 40 | (uint64_t)(t->index & 0xff) << 32 | (t->write_count++ & 0xffffffffull);
		kv_value(s->buf, p->value_bytes, s->key, p->key_bytes, s->tag);
		op->op = s->kind == WL_CAS ? AEG_CLIENT_CAS : AEG_CLIENT_PUT;
		op->consistency = p->write_cl;
		op->value = s->buf;
		op->value_len = p->value_bytes;
		if (s->kind == WL_CAS)
			op->expect_version = atomic_load_explicit(
				&t->run->versions[s->key_index & t->run->versions_mask], memory_order_relaxed);
	}
	int rc = aeg_client_submit(t->client, op);
	if (rc != 0) {
		t->n_free++;
		return rc;
	}
	struct wl_sec *sec = sec_at(t, now);
	uint64_t lag = now - intended;
	sec->started++;
	sec->late += lag > WL_LATE_NS;
	if (measured) {
		t->tot.started++;
		t->measured_started++;
		sec->started_measured++;
		hist_add(&t->tot.lag, lag);
		t->tot.late += lag > WL_LATE_NS;
	}
	return 0;
}

/* May an operation due at `due` start? Sets t->stopping when the window is
 * over for this thread (time, --ops share, a signal or a failure). */
static bool may_start(struct wl_thread *t, uint64_t due, uint64_t now)
{
	const struct wl_run *r = t->run;
	bool stop = t->fatal != 0 || atomic_load_explicit(r->stop, memory_order_relaxed) ||
		    due >= r->window_end_ns || now >= r->window_end_ns ||
		    (r->p->ops > 0 && due >= r->warm_end_ns && t->measured_started >= t->quota);
	if (!stop && !t->in_window && now >= r->warm_end_ns) {
		t->in_window = true;
		t->cpu0_ns = thread_cpu_ns();
	}
	if (stop && !t->stopping) {
		t->stopping = true;
		if (t->in_window)
			t->tot.cpu_ns = thread_cpu_ns() - t->cpu0_ns;
		if (r->p->ops == 0) /* cut short by a signal or a failure: now */
			t->tot.window_end_ns = due >= r->window_end_ns || now >= r->window_end_ns
						       ? r->window_end_ns : now;
	}
	return !stop;
}

static void closed_loop(struct wl_thread *t)
{
	while (!t->stopping) {
		uint64_t now = now_ns();
		(void)sec_at(t, now);
		while (t->n_free > 0 && may_start(t, now, now)) {
			int rc = start_op(t, now, now, now >= t->run->warm_end_ns);
			if (rc != 0) {
				t->fatal = rc;
				break;
			}
		}
		int n = aeg_client_poll(t->client, 10);
		if (n < 0)
			t->fatal = n;
	}
}

static void open_loop(struct wl_thread *t)
{
	const struct wl_run *r = t->run;
	uint64_t interval = (uint64_t)(1e9 * r->p->threads / r->p->rate);
	if (interval == 0)
		interval = 1;
	uint64_t due = r->t0_ns + interval * t->index / r->p->threads; /* threads interleave */
	(void)prctl(PR_SET_TIMERSLACK, 1000ul); /* short sleeps end on time, not 50 us late */
	while (!t->stopping) {
		uint64_t now = now_ns();
		(void)sec_at(t, now);
		while (due <= now && t->n_free > 0 && may_start(t, due, now)) {
			int rc = start_op(t, due, now, due >= r->warm_end_ns);
			if (rc != 0) {
				t->fatal = rc;
				break;
			}
			due += interval;
		}
		if (!may_start(t, due, now))
			break;
		int n = aeg_client_poll(t->client, 0); /* what was queued leaves now */
		if (n < 0) {
			t->fatal = n;
			break;
		}
		now = now_ns();
		if (due <= now) {
			/* behind schedule with every slot in flight: wait for one */
			if (t->n_free == 0 && (n = aeg_client_poll(t->client, 1)) < 0)
				t->fatal = n;
			continue;
		}
		uint64_t wait = due - now;
		if (aeg_client_outstanding(t->client) == 0)
			sleep_ns(wait < 10000000ull ? wait : 10000000ull);
		else if (wait >= 2000000ull) /* poll wakes on replies; its clock is in ms */
			n = aeg_client_poll(t->client, (int)(wait / 1000000ull) - 1);
		else
			sleep_ns(wait < 100000ull ? wait : 100000ull);
		if (n < 0)
			t->fatal = n;
	}
	/* Operations due in the window that never left: the cluster (or this
	 * client) could not keep up with the rate. */
	const struct wl_params *p = r->p;
	if (p->ops > 0) {
		t->tot.not_sent = t->quota - t->measured_started;
	} else {
		uint64_t end = t->tot.window_end_ns, from = due > r->warm_end_ns ? due : r->warm_end_ns;
		t->tot.not_sent = from < end ? (end - from + interval - 1) / interval : 0;
	}
}

/* Waits for what is in flight (measured operations count when they land). */
static void drain(struct wl_thread *t)
{
	uint64_t until = now_ns() + (uint64_t)t->run->p->drain_ms * 1000000ull;
	while (t->fatal == 0 && aeg_client_outstanding(t->client) > 0) {
		uint64_t now = now_ns();
		(void)sec_at(t, now);
		if (now >= until)
			break;
		int n = aeg_client_poll(t->client, 10);
		if (n < 0)
			t->fatal = n;
	}
	t->tot.unfinished = aeg_client_outstanding(t->client);
}

void *wl_thread_main(void *arg)
{
	struct wl_thread *t = arg;
	const struct wl_params *p = t->run->p;
	if (p->rate > 0)
		open_loop(t);
	else
		closed_loop(t);
	if (t->fatal != 0) /* a client failure ends the run for every thread */
		atomic_store(t->run->stop, true);
	drain(t);
	if (p->ops > 0 && t->in_window) /* the window lasts until the last measured op lands */
		t->tot.cpu_ns = thread_cpu_ns() - t->cpu0_ns;
	aeg_client_get_stats(t->client, &t->tot.cs);
	t->closing = true;
	aeg_client_close(t->client); /* cancels the unfinished: not acknowledged */
	t->client = NULL;
	if (t->rec_len > 0) {
		int rc = record_write(p->record_fd, t->rec_buf, t->rec_len);
		if (rc < 0 && t->fatal == 0)
			t->fatal = rc;
		t->rec_len = 0;
	}
	history_flush(t);
	(void)sec_at(t, now_ns());
	atomic_store_explicit(&t->published, t->cur_sec + 1, memory_order_release);
	atomic_store_explicit(&t->finished, true, memory_order_release);
	return NULL;
}
