/* Reading a record back (verify.h). */
#define _GNU_SOURCE
#include "verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyval.h"

struct vslot {
	struct aeg_client_op op;
	uint32_t key;
	uint8_t *buf;
	bool busy;
};

struct vrun {
	const struct record *r;
	struct verify_result *out;
	uint32_t buf_cap, show, shown;
};

static void report(struct vrun *v, const struct rec_key *k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct vrun *v, const struct rec_key *k, const char *fmt, ...)
{
	if (v->shown++ >= v->show) {
		if (v->shown == v->show + 1)
			fprintf(stderr, "aegis-bench: verify: (more failing keys not shown)\n");
		return;
	}
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "aegis-bench: verify: %.*s: %s (acknowledged version %" PRIu64 ", %" PRIu64
		" acknowledged write%s)\n", (int)k->key_len, k->key, what, k->version, k->writes,
		k->writes == 1 ? "" : "s");
}

static void classify(struct vrun *v, struct vslot *s)
{
	const struct rec_key *k = &v->r->keys[s->key];
	struct verify_result *o = v->out;
	int st = s->op.status;
	uint64_t ver = s->op.version;
	uint32_t len = s->op.value_len;
	if (st == AEG_CLIENT_NOT_FOUND) {
		o->missing++;
		report(v, k, "missing");
		return;
	}
	if (st == -ENOBUFS) {
		o->wrong++;
		report(v, k, "a value of %u bytes, larger than any written", len);
		return;
	}
	if (st != AEG_CLIENT_OK) {
		o->unanswered++;
		report(v, k, "unanswered: %s", st < 0 ? strerror(-st) : aeg_client_status_name(st));
		return;
	}
	if (ver < k->version) {
		o->older++;
		report(v, k, "older: version %" PRIu64, ver);
		return;
	}
	if (ver == k->version) {
		if (len != k->value_len || kv_digest(s->buf, len) != k->digest) {
			o->wrong++;
			report(v, k, "wrong value at the acknowledged version (%u bytes)", len);
		} else {
			o->ok++;
		}
		return;
	}
	uint64_t tag;
	enum kv_check c = kv_check(s->buf, len, (const uint8_t *)k->key, k->key_len, &tag);
	if (c == KV_FOREIGN) {
		o->foreign++;
		report(v, k, "foreign: version %" PRIu64 " holds a value aegis-bench did not write for it", ver);
		return;
	}
	const struct rec_tag *t = c == KV_OWN ? record_find_tag(v->r, tag) : NULL;
	if (t != NULL && (t->key != s->key || t->version != ver)) {
		o->stale++;
		report(v, k, "stale: version %" PRIu64 " holds the write acknowledged at version %" PRIu64, ver,
		       t->version);
		return;
	}
	o->newer++;
	o->ok++;
}

static void on_done(struct aeg_client_op *op)
{
	((struct vslot *)op->user)->busy = false;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int verify_run(struct aeg_client *c, const struct record *r, uint32_t window, uint32_t show,
	       struct verify_result *out)
{
	memset(out, 0, sizeof(*out));
	out->keys = r->n_keys;
	out->writes = r->lines;
	struct vrun v = { .r = r, .out = out, .show = show,
			  .buf_cap = r->value_len_max > 65536 ? r->value_len_max : 65536 };
	struct vslot *slots = calloc(window, sizeof(*slots));
	uint8_t *mem = malloc((size_t)window * v.buf_cap);
	if (slots == NULL || mem == NULL) {
		free(slots);
		free(mem);
		return -ENOMEM;
	}
	double t0 = now_s();
	uint32_t next = 0, in_flight = 0;
	int rc = 0;
	while (rc == 0 && (next < r->n_keys || in_flight > 0)) {
		for (uint32_t i = 0; i < window; i++) {
			struct vslot *s = &slots[i];
			if (s->busy)
				continue;
			if (s->op.user != NULL) { /* completed since the last look */
				classify(&v, s);
				s->op.user = NULL;
				in_flight--;
			}
			if (next >= r->n_keys)
				continue;
			const struct rec_key *k = &r->keys[next];
			s->buf = mem + (size_t)i * v.buf_cap;
			s->op = (struct aeg_client_op){ .op = AEG_CLIENT_GET, .consistency = AEG_CLIENT_QUORUM,
							.key = k->key, .key_len = k->key_len, .buf = s->buf,
							.buf_cap = v.buf_cap, .done = on_done, .user = s };
			s->key = next;
			if ((rc = aeg_client_submit(c, &s->op)) != 0) {
				s->op.user = NULL;
				break;
			}
			s->busy = true;
			next++;
			in_flight++;
		}
		if (rc == 0 && in_flight > 0) {
			int n = aeg_client_poll(c, 10);
			rc = n < 0 ? n : 0;
		}
	}
	out->seconds = now_s() - t0;
	free(slots);
	free(mem);
	if (rc < 0)
		return rc;
	return out->ok == out->keys ? 0 : 1;
}
