/* The closed-loop load of load.h. Completions return their slot to a free
 * stack; the loop refills every free slot, then polls the client. */
#define _GNU_SOURCE
#include "load.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "alloc_count.h"
#include "common.h"

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

static uint32_t bucket_of(uint64_t v)
{
	if (v < (1u << HIST_SUB_BITS))
		return (uint32_t)v;
	uint32_t e = 63u - (uint32_t)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	uint32_t sub = (uint32_t)(v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1);
	return ((e - HIST_SUB_BITS + 1) << HIST_SUB_BITS) + sub;
}

/* The largest value that falls into bucket i. */
static uint64_t bucket_top(uint32_t i)
{
	if (i < (1u << HIST_SUB_BITS))
		return i;
	uint32_t e = (i >> HIST_SUB_BITS) + HIST_SUB_BITS - 1;
	uint64_t sub = i & ((1u << HIST_SUB_BITS) - 1);
	uint64_t lo = (1ull << e) | (sub << (e - HIST_SUB_BITS));
	return lo + (1ull << (e - HIST_SUB_BITS)) - 1;
}

void hist_add(struct hist *h, uint64_t ns)
{
	uint32_t i = bucket_of(ns);
	assert(i < HIST_BUCKETS);
	h->b[i]++;
	h->n++;
	h->sum += ns;
	if (ns > h->max)
		h->max = ns;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	assert(q > 0 && q <= 1);
	if (h->n == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999), seen = 0;
	if (rank == 0)
		rank = 1;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t top = bucket_top(i);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

struct slot {
	struct aeg_client_op op;
	struct run *run;
	uint64_t start_ns;
	uint8_t *key;
};

struct run {
	const struct load_params *p;
	struct slot *slots;
	uint32_t *free_stack, n_free;
	uint64_t rng;
	bool in_window;
	uint64_t win_ok, win_err, win_timeouts, sec_ok;
	int first_error;
	struct hist *lat, sec, late; /* late: completions after load_run returned */
};

static void on_done(struct aeg_client_op *op)
{
	struct slot *s = op->user;
	struct run *r = s->run;
	uint64_t now = bench_now_ns();
	if (op->status == AEG_CLIENT_OK) {
		hist_add(&r->sec, now - s->start_ns);
		r->sec_ok++;
		if (r->in_window) {
			hist_add(r->lat, now - s->start_ns);
			r->win_ok++;
		}
	} else if (r->in_window) {
		r->win_err++;
		r->win_timeouts += op->status == AEG_CLIENT_TIMEOUT;
		if (r->first_error == 0)
			r->first_error = op->status == 0 ? -EIO : op->status;
	}
	r->free_stack[r->n_free++] = (uint32_t)(s - r->slots);
}

/* 'k' and the key's number in hex, zero-padded to the key's length. */
static void make_key(uint8_t *key, uint32_t len, uint64_t n)
{
	static const char hex[] = "0123456789abcdef";
	key[0] = 'k';
	for (uint32_t i = len; i > 1; i--) {
		key[i - 1] = (uint8_t)hex[n & 15];
		n >>= 4;
	}
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t self_cpu_ns(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* Submits every free slot; false on a client error other than -EAGAIN. */
static int refill(struct aeg_client *c, struct run *r, const uint8_t *value)
{
	while (r->n_free > 0) {
		struct slot *s = &r->slots[r->free_stack[r->n_free - 1]];
		make_key(s->key, r->p->key_bytes, next_rand(&r->rng) % r->p->keys);
		memset(&s->op, 0, sizeof(s->op));
		s->op.op = AEG_CLIENT_PUT;
		s->op.consistency = r->p->consistency;
		s->op.key = s->key;
		s->op.key_len = r->p->key_bytes;
		s->op.value = value;
		s->op.value_len = r->p->value_bytes;
		s->op.done = on_done;
		s->op.user = s;
		s->start_ns = bench_now_ns();
		int rc = aeg_client_submit(c, &s->op);
		if (rc == -EAGAIN)
			return 0;
		if (rc != 0)
			return rc;
		r->n_free--;
	}
	return 0;
}

static void progress_line(struct run *r, double t)
{
	printf("  %5.1f s  %9llu writes/s  p50 %7.0f us  p99 %7.0f us%s\n", t,
	       (unsigned long long)r->sec_ok, (double)hist_quantile(&r->sec, 0.5) / 1e3,
	       (double)hist_quantile(&r->sec, 0.99) / 1e3, r->in_window ? "" : "  (warmup)");
	fflush(stdout);
	hist_reset(&r->sec);
	r->sec_ok = 0;
}

int load_run(struct aeg_client *c, const struct load_params *p, load_mark_fn mark, void *arg,
	     struct load_result *out)
{
	assert(p->outstanding > 0 && p->key_bytes >= 2 && p->keys > 0);
	memset(out, 0, sizeof(*out));
	struct run *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	*r = (struct run){ .p = p, .rng = 0x9e3779b97f4a7c15ull, .lat = &out->lat };
	r->slots = calloc(p->outstanding, sizeof(*r->slots));
	r->free_stack = calloc(p->outstanding, sizeof(*r->free_stack));
	uint8_t *keys = calloc(p->outstanding, p->key_bytes);
	uint8_t *value = malloc(p->value_bytes ? p->value_bytes : 1);
	int rc = r->slots && r->free_stack && keys && value ? 0 : -ENOMEM;
	for (uint32_t i = 0; rc == 0 && i < p->outstanding; i++) {
		r->slots[i].run = r;
		r->slots[i].key = keys + (size_t)i * p->key_bytes;
		r->free_stack[r->n_free++] = p->outstanding - 1 - i;
	}
	for (uint32_t i = 0; value != NULL && i < p->value_bytes; i++)
		value[i] = (uint8_t)('A' + i % 26);
	uint64_t t0 = bench_now_ns(), next_sec = t0 + 1000000000ull;
	uint64_t win_start = t0 + (uint64_t)(p->warmup_s * 1e9);
	uint64_t win_end = win_start + (uint64_t)(p->seconds * 1e9);
	struct alloc_count a0 = { 0 }, a1 = { 0 };
	uint64_t cpu0 = 0;
	while (rc == 0) {
		uint64_t now = bench_now_ns();
		if (!r->in_window && now >= win_start && now < win_end) {
			if (mark != NULL)
				mark(arg, 0);
			alloc_count_read(&a0);
			cpu0 = self_cpu_ns();
			r->in_window = true;
			win_start = now;
		} else if (r->in_window && now >= win_end) {
			r->in_window = false;
			alloc_count_read(&a1);
			out->client_cpu_ns = self_cpu_ns() - cpu0;
			out->seconds = (double)(now - win_start) / 1e9;
			if (mark != NULL)
				mark(arg, 1);
			break;
		}
		if (p->progress && now >= next_sec) {
			progress_line(r, (double)(now - t0) / 1e9);
			next_sec += 1000000000ull;
		}
		rc = refill(c, r, value);
		int n = rc == 0 ? aeg_client_poll(c, 1) : rc;
		if (n < 0)
			rc = n;
	}
	/* Drain what is in flight (not counted) so the client can be closed. */
	for (uint64_t until = bench_now_ns() + 5000000000ull;
	     rc == 0 && aeg_client_outstanding(c) > 0 && bench_now_ns() < until;)
		if (aeg_client_poll(c, 10) < 0)
			break;
	out->writes_ok = r->win_ok;
	out->errors = r->win_err;
	out->timeouts = r->win_timeouts;
	out->first_error = r->first_error;
	out->allocs = a1.allocs - a0.allocs;
	aeg_client_get_stats(c, &out->cs);
	if (aeg_client_outstanding(c) > 0) {
		/* Still in flight: the client owns the slots until it is closed
		 * (its callbacks land in r->late then); leaked on purpose. */
		r->lat = &r->late;
		r->in_window = false;
		return rc;
	}
	free(value);
	free(keys);
	free(r->free_stack);
	free(r->slots);
	free(r);
	return rc;
}
