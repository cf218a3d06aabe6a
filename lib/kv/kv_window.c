/* The window of results of a session: which (client, seq) are answered from
 * memory, which apply, and what the session remembers afterwards. Results
 * are a sorted array (ascending seq): seqs mostly arrive in order, so an
 * insert is near the end; a full window or a floor raise shifts at most
 * session_results_max entries. Everything here is a function of the
 * commands applied, so every replica holds the same windows. */
#include "kv/kv_int.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#define KV_RES_CAP_MIN 4u

/* Index of the first result with seq > after (s->n if none). */
static uint32_t first_above(const struct kv_sess *s, uint64_t after)
{
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (s->res[mid].seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Decides the answer; returns the results the session holds after. */
static uint32_t decide(const struct aeg_kv *kv, const struct aeg_kv_cmd *c,
		       struct kv_sess_plan *p, struct aeg_kv_result *res)
{
	const struct kv_sess *s = p->s;
	uint32_t n = s != NULL ? s->n : 0;
	uint32_t lo = s != NULL ? first_above(s, p->floor) : 0;
	uint32_t left = n - lo; /* what the floor raise keeps */
	uint32_t at = s != NULL ? first_above(s, c->seq - 1) : 0;
	bool known = at < n && s->res[at].seq == c->seq;
	p->answered = true;
	if (c->seq <= p->floor) {
		res->status = AEG_KV_SESSION_EXPIRED;
		return left;
	}
#ifndef AEG_KV_BUG_NO_DUP_CHECK
	if (known) {
		res->status = (enum aeg_kv_status)s->res[at].status;
		res->version = s->res[at].version;
		res->duplicate = true;
		return left;
	}
#endif
	/* Full, and below everything held: it could not be remembered. */
	if (!known && left == kv->lim.session_results_max && c->seq < s->res[lo].seq) {
		res->status = AEG_KV_SESSION_EXPIRED;
		return left;
	}
	p->answered = false;
	return left + (!known && left < kv->lim.session_results_max);
}

int kv_sess_begin(struct aeg_kv *kv, const struct aeg_kv_cmd *c, uint64_t now_ms,
		  struct kv_sess_plan *p, struct aeg_kv_result *res)
{
	assert(c->seq != 0 && kv->lim.session_results_max >= 1);
	memset(p, 0, sizeof(*p));
	struct kv_sess *s = kv_sess_find(kv, &kv->st, c->client_id);
	if (s != NULL && kv_sess_expired(kv, s, now_ms))
		s = NULL; /* purged at commit */
	p->s = s;
	p->floor = s != NULL ? s->floor : 0;
	if (c->seq_floor != 0 && c->seq_floor - 1 > p->floor)
		p->floor = c->seq_floor - 1;
	uint32_t after = decide(kv, c, p, res);
	p->logical_delta = (int64_t)kv_sess_logical(after) -
			   (s != NULL ? (int64_t)kv_sess_logical(s->n) : 0);
	if (s == NULL) {
		if (kv_table_reserve(kv, &kv->st.sess) != 0)
			return -ENOMEM;
		p->fresh = kv_alloc(kv, sizeof(*p->fresh));
		if (p->fresh == NULL)
			return -ENOMEM;
		memset(p->fresh, 0, sizeof(*p->fresh));
		p->fresh->client_id = c->client_id;
	}
	uint32_t cap = s != NULL ? s->cap : 0;
	if (after > cap) {
		uint32_t want = cap * 2 < KV_RES_CAP_MIN ? KV_RES_CAP_MIN : cap * 2;
		if (want > kv->lim.session_results_max)
			want = kv->lim.session_results_max;
		assert(want >= after);
		p->grown = kv_alloc(kv, (size_t)want * sizeof(*p->grown));
		if (p->grown == NULL) {
			kv_sess_abort(kv, p);
			return -ENOMEM;
		}
		p->grown_cap = want;
	}
	return 0;
}

void kv_sess_abort(struct aeg_kv *kv, struct kv_sess_plan *p)
{
	if (p->fresh != NULL)
		kv_sess_free(kv, p->fresh);
	if (p->grown != NULL)
		kv_dealloc(kv, p->grown, (size_t)p->grown_cap * sizeof(*p->grown));
	p->fresh = NULL;
	p->grown = NULL;
}

void kv_sess_raise_floor(struct kv_state *st, struct kv_sess *s, uint64_t floor)
{
	if (floor <= s->floor)
		return;
	uint32_t k = first_above(s, floor);
	if (k > 0 && s->n > k)  /* res may be NULL when the window is empty */
		memmove(s->res, s->res + k, (size_t)(s->n - k) * sizeof(*s->res));
	s->n -= k;
	assert(st->results >= k);
	st->results -= k;
	st->logical_bytes -= (uint64_t)k * AEG_KV_RESULT_BYTES;
	s->floor = floor;
}

static void remember(struct aeg_kv *kv, struct kv_state *st, struct kv_sess *s, uint64_t seq,
		     const struct aeg_kv_result *res)
{
	assert(res->status != AEG_KV_SESSION_EXPIRED && seq > s->floor);
	struct kv_res r = { .seq = seq, .version = res->version, .status = (uint8_t)res->status };
	uint32_t at = first_above(s, seq - 1);
	if (at < s->n && s->res[at].seq == seq) {
		s->res[at] = r; /* only a build without the duplicate check */
		return;
	}
	if (s->n == kv->lim.session_results_max) {
		/* Full: the lowest is forgotten, the floor rises to it. */
		assert(at > 0);
		kv_sess_raise_floor(st, s, s->res[0].seq);
		at--;
	}
	assert(s->n < s->cap);
	memmove(s->res + at + 1, s->res + at, (size_t)(s->n - at) * sizeof(*s->res));
	s->res[at] = r;
	s->n++;
	st->results++;
	st->logical_bytes += AEG_KV_RESULT_BYTES;
}

void kv_sess_commit(struct aeg_kv *kv, struct kv_state *st, struct kv_sess_plan *p,
		    uint64_t seq, const struct aeg_kv_result *res, uint64_t now_ms)
{
	struct kv_sess *s = p->s;
	if (p->fresh != NULL) {
		assert(s == NULL);
		s = p->fresh;
		p->fresh = NULL;
		kv_sess_add(kv, st, s, now_ms);
	}
	assert(s != NULL);
	kv_sess_raise_floor(st, s, p->floor);
	if (p->grown != NULL) {
		if (s->n != 0)
			memcpy(p->grown, s->res, (size_t)s->n * sizeof(*s->res));
		if (s->res != NULL)
			kv_dealloc(kv, s->res, (size_t)s->cap * sizeof(*s->res));
		s->res = p->grown;
		s->cap = p->grown_cap;
		p->grown = NULL;
	}
	if (!p->answered)
		remember(kv, st, s, seq, res);
	kv_sess_touch(st, s, now_ms);
}
