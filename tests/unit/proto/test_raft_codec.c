/* aegis/raft_codec.h: golden byte layouts (an accidental format change
 * fails here), seeded round trips of every message type, every truncation
 * refused as -EMSGSIZE, every single-bit flip refused or decoding to a
 * message that re-encodes to exactly the flipped bytes, trailing bytes,
 * -ENOBUFS, non-minimal varints, and the encoder refusing fields a type
 * does not carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/raft_codec.h"
#include "test_prng.h"

#define SEED_DEFAULT 0xc0dec0de5eedull
#define ENTS_MAX 40
#define ROUNDS 3000
#define BUF_BYTES (64 * 1024)

static uint8_t pool[4096];   /* payload bytes messages point into */
static uint8_t buf[BUF_BYTES];
static uint8_t buf2[BUF_BYTES];

/* ---- helpers ------------------------------------------------------------- */

struct decoded {
	struct aeg_raft_msg m;
	struct aeg_raft_entry ents[ENTS_MAX];
	struct aeg_raft_conf conf;
};

static int decode(struct decoded *d, const uint8_t *b, size_t len)
{
	return aeg_raft_msg_decode(&d->m, d->ents, ENTS_MAX, &d->conf, b, len);
}

static bool bytes_equal(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	return len == 0 || memcmp(a, b, len) == 0;
}

static bool conf_equal(const struct aeg_raft_conf *a, const struct aeg_raft_conf *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->ids[i] != b->ids[i] || a->roles[i] != b->roles[i])
			return false;
	return true;
}

static bool msg_equal(const struct aeg_raft_msg *a, const struct aeg_raft_msg *b)
{
	if (a->type != b->type || a->flags != b->flags || a->from != b->from || a->to != b->to ||
	    a->reject != b->reject || a->term != b->term || a->log_term != b->log_term ||
	    a->index != b->index || a->commit != b->commit || a->hint != b->hint ||
	    a->ctx != b->ctx || a->n_entries != b->n_entries || a->snap_index != b->snap_index ||
	    a->snap_term != b->snap_term || a->snap_total != b->snap_total ||
	    a->snap_offset != b->snap_offset || a->snap_len != b->snap_len ||
	    !bytes_equal(a->snap_data, b->snap_data, a->snap_len) ||
	    !conf_equal(a->snap_conf, b->snap_conf))
		return false;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		const struct aeg_raft_entry *x = &a->entries[i], *y = &b->entries[i];
		if (x->term != y->term || x->index != y->index || x->type != y->type ||
		    x->len != y->len || !bytes_equal(x->data, y->data, x->len))
			return false;
	}
	return true;
}

/* 0 a quarter of the time, else a number of random width. */
static uint64_t rnd_num(struct prng *p)
{
	if (prng_below(p, 4) == 0)
		return 0;
	return prng_next(p) >> prng_below(p, 64);
}

static uint32_t rnd_u32(struct prng *p)
{
	return (uint32_t)(rnd_num(p) >> 32 ^ rnd_num(p));
}

/* A message to encode, with its entries and conf kept in *d. */
static void rnd_msg(struct prng *p, struct decoded *d, uint32_t type)
{
	struct aeg_raft_msg *m = &d->m;
	memset(d, 0, sizeof(*d));
	m->type = type;
	m->from = rnd_u32(p);
	m->to = rnd_u32(p);
	m->term = rnd_num(p);
	switch (type) {
	case AEG_RAFT_MSG_APPEND: {
		m->index = rnd_num(p) >> 1;
		m->log_term = rnd_num(p) >> 1;
		m->commit = rnd_num(p);
		m->n_entries = (uint32_t)prng_below(p, ENTS_MAX + 1);
		m->entries = d->ents;
		uint64_t term = m->log_term;
		for (uint32_t i = 0; i < m->n_entries; i++) {
			uint64_t r = prng_below(p, 8);
			/* Mostly runs of one term; sometimes up, rarely anything. */
			term = r < 5 ? term : r < 7 ? term + prng_below(p, 300) : rnd_num(p);
			uint32_t len = (uint32_t)prng_below(p, prng_below(p, 4) == 0 ? 600 : 70);
			d->ents[i] = (struct aeg_raft_entry){
				.term = term, .index = m->index + 1 + i, .len = len,
				.type = (uint32_t)prng_below(p, 3),
				.data = len ? pool + prng_below(p, sizeof(pool) - len) : NULL,
			};
		}
		break;
	}
	case AEG_RAFT_MSG_APPEND_RESP:
		m->reject = prng_below(p, 2);
		m->index = rnd_num(p);
		m->hint = rnd_num(p);
		m->log_term = rnd_num(p);
		break;
	case AEG_RAFT_MSG_VOTE:
	case AEG_RAFT_MSG_PRE_VOTE:
		m->index = rnd_num(p);
		m->log_term = rnd_num(p);
		m->ctx = prng_below(p, 2) ? prng_below(p, 2) : rnd_num(p);
		break;
	case AEG_RAFT_MSG_VOTE_RESP:
	case AEG_RAFT_MSG_PRE_VOTE_RESP:
		m->reject = prng_below(p, 2);
		break;
	case AEG_RAFT_MSG_HEARTBEAT:
		m->flags = prng_below(p, 2) ? AEG_RAFT_MSG_FLAG_QUIESCE : 0;
		/* fallthrough */
	case AEG_RAFT_MSG_HEARTBEAT_RESP:
		m->commit = type == AEG_RAFT_MSG_HEARTBEAT ? rnd_num(p) : 0;
		m->ctx = rnd_num(p);
		break;
	case AEG_RAFT_MSG_SNAPSHOT: {
		static const uint8_t roles[] = {
			AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER_OUT, AEG_RAFT_MEMBER_LEARNER,
			AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT,
			AEG_RAFT_MEMBER_LEARNER | AEG_RAFT_MEMBER_VOTER_OUT,
		};
		m->commit = rnd_num(p);
		m->snap_index = rnd_num(p);
		m->snap_term = rnd_num(p);
		m->snap_total = rnd_num(p);
		m->snap_offset = rnd_num(p);
		m->snap_len = (uint32_t)prng_below(p, 1000);
		m->snap_data = m->snap_len ? pool + prng_below(p, sizeof(pool) - m->snap_len) : NULL;
		d->conf.n = (uint32_t)prng_below(p, AEG_RAFT_CONF_MAX + 1);
		for (uint32_t i = 0; i < d->conf.n; i++) {
			/* Distinct non-zero ids: i + 1 in the low bits. */
			d->conf.ids[i] = (uint32_t)(prng_below(p, 2) ? i + 1 : (rnd_u32(p) << 5 | (i + 1)));
			d->conf.roles[i] = roles[prng_below(p, sizeof(roles))];
		}
		m->snap_conf = &d->conf;
		break;
	}
	default:
		break;
	}
}

static int encode(const struct aeg_raft_msg *m, uint8_t *b)
{
	return aeg_raft_msg_encode(m, b, BUF_BYTES);
}

/* ---- golden layouts ------------------------------------------------------ */

static void expect_bytes(const struct aeg_raft_msg *m, const uint8_t *want, size_t want_len)
{
	int n = encode(m, buf);
	assert_int_equal(n, (int)want_len);
	assert_int_equal(aeg_raft_msg_size(m), want_len);
	assert_memory_equal(buf, want, want_len);
	struct decoded d;
	assert_int_equal(decode(&d, want, want_len), 0);
	assert_true(msg_equal(m, &d.m));
}

static void test_golden(void **state)
{
	(void)state;
	struct aeg_raft_entry ents[3] = {
		{.term = 7, .index = 11, .type = AEG_RAFT_ENTRY_NORMAL, .data = (const uint8_t *)"ab", .len = 2},
		{.term = 7, .index = 12, .type = AEG_RAFT_ENTRY_NOOP},
		{.term = 7, .index = 13, .type = AEG_RAFT_ENTRY_NORMAL, .data = (const uint8_t *)"c", .len = 1},
	};
	struct aeg_raft_msg app = {.type = AEG_RAFT_MSG_APPEND, .from = 1, .to = 3, .term = 7,
				   .index = 10, .log_term = 6, .commit = 9, .n_entries = 3,
				   .entries = ents};
	/* hdr from to term index log_term commit n | 0x11: len 2, new term,
	 * +1 (zigzag 2) "ab" | 0x02: NOOP, same term | 0x08: len 1 "c" */
	static const uint8_t app_bytes[] = {0x01, 0x01, 0x03, 0x07, 0x0a, 0x06, 0x09, 0x03,
					    0x11, 0x02, 'a', 'b', 0x02, 0x08, 'c'};
	expect_bytes(&app, app_bytes, sizeof(app_bytes));

	struct aeg_raft_msg hb = {.type = AEG_RAFT_MSG_HEARTBEAT, .from = 1, .to = 2, .term = 5,
				  .commit = 300, .flags = AEG_RAFT_MSG_FLAG_QUIESCE};
	static const uint8_t hb_bytes[] = {0x27, 0x01, 0x02, 0x05, 0xac, 0x02, 0x00};
	expect_bytes(&hb, hb_bytes, sizeof(hb_bytes));

	struct aeg_raft_msg rej = {.type = AEG_RAFT_MSG_APPEND_RESP, .from = 3, .to = 1,
				   .term = 7, .reject = true, .index = 10, .hint = 8, .log_term = 5};
	static const uint8_t rej_bytes[] = {0x52, 0x03, 0x01, 0x07, 0x0a, 0x08, 0x05};
	expect_bytes(&rej, rej_bytes, sizeof(rej_bytes));

	struct aeg_raft_msg ack = {.type = AEG_RAFT_MSG_APPEND_RESP, .from = 3, .to = 1,
				   .term = 7, .index = 13};
	static const uint8_t ack_bytes[] = {0x02, 0x03, 0x01, 0x07, 0x0d};
	expect_bytes(&ack, ack_bytes, sizeof(ack_bytes));

	struct aeg_raft_msg vote = {.type = AEG_RAFT_MSG_VOTE, .from = 2, .to = 1, .term = 4,
				    .index = 200, .log_term = 3, .ctx = 1};
	static const uint8_t vote_bytes[] = {0x03, 0x02, 0x01, 0x04, 0xc8, 0x01, 0x03, 0x01};
	expect_bytes(&vote, vote_bytes, sizeof(vote_bytes));

	struct aeg_raft_msg vresp = {.type = AEG_RAFT_MSG_PRE_VOTE_RESP, .from = 1, .to = 2,
				     .term = 5, .reject = true};
	static const uint8_t vresp_bytes[] = {0x16, 0x01, 0x02, 0x05};
	expect_bytes(&vresp, vresp_bytes, sizeof(vresp_bytes));

	struct aeg_raft_conf conf = {.n = 2, .ids = {1, 2},
				     .roles = {AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER}};
	struct aeg_raft_msg snap = {.type = AEG_RAFT_MSG_SNAPSHOT, .from = 1, .to = 2, .term = 3,
				    .commit = 100, .snap_index = 100, .snap_term = 3,
				    .snap_total = 5, .snap_offset = 0, .snap_len = 5,
				    .snap_data = (const uint8_t *)"hello", .snap_conf = &conf};
	static const uint8_t snap_bytes[] = {0x09, 0x01, 0x02, 0x03, 0x64, 0x64, 0x03, 0x05, 0x00,
					     0x05, 0x02, 0x01, 0x01, 0x02, 0x01,
					     0x05, 'h', 'e', 'l', 'l', 'o'};
	expect_bytes(&snap, snap_bytes, sizeof(snap_bytes));

	struct aeg_raft_msg tn = {.type = AEG_RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 3};
	static const uint8_t tn_bytes[] = {0x0a, 0x01, 0x02, 0x03};
	expect_bytes(&tn, tn_bytes, sizeof(tn_bytes));
	assert_int_equal(sizeof(tn_bytes), AEG_RAFT_CODEC_MSG_BYTES_MIN);
}

/* ---- seeded properties --------------------------------------------------- */

static void test_round_trip_every_type(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, SEED_DEFAULT);
	test_seed_print("raft codec round trip", p.seed);
	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)prng_next(&p);
	static struct decoded in, out;
	for (int round = 0; round < ROUNDS; round++) {
		uint32_t type = 1 + round % AEG_RAFT_MSG_TYPE_MAX;
		rnd_msg(&p, &in, type);
		size_t size = aeg_raft_msg_size(&in.m);
		int n = encode(&in.m, buf);
		CHECK(&p, n > 0 && (size_t)n == size);
		CHECK(&p, aeg_raft_msg_encode(&in.m, buf2, size - 1) == -EMSGSIZE);
		CHECK(&p, decode(&out, buf, (size_t)n) == 0);
		CHECK(&p, msg_equal(&in.m, &out.m));
		CHECK(&p, out.m.entries == out.ents);
		CHECK(&p, (out.m.snap_conf == &out.conf) == (type == AEG_RAFT_MSG_SNAPSHOT));
		for (uint32_t e = 0; e < out.m.n_entries; e++)
			CHECK(&p, out.ents[e].len == 0 || (out.ents[e].data > buf &&
							   out.ents[e].data < buf + n));
		CHECK(&p, encode(&out.m, buf2) == n && memcmp(buf, buf2, (size_t)n) == 0);
	}
}

/* Every prefix is -EMSGSIZE, one extra byte is -EINVAL, and a flipped bit
 * is refused or gives a message that re-encodes to the flipped bytes. */
static void test_truncations_flips_trailing(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, SEED_DEFAULT + 1);
	test_seed_print("raft codec truncation/flip", p.seed);
	static struct decoded in, out;
	static uint8_t cut[BUF_BYTES];
	unsigned accepted_flips = 0;
	for (int round = 0; round < 400; round++) {
		uint32_t type = 1 + round % AEG_RAFT_MSG_TYPE_MAX;
		rnd_msg(&p, &in, type);
		if (in.m.n_entries > 6)
			in.m.n_entries = 6;  /* keep flips * length small */
		if (in.m.snap_len > 40)
			in.m.snap_len = 40;
		int n = encode(&in.m, buf);
		CHECK(&p, n > 0);
		for (int len = 0; len < n; len++) {
			/* A copy of exactly len bytes: the sanitizer sees any over-read. */
			uint8_t *c = len ? cut + sizeof(cut) - len : NULL;
			if (len)
				memcpy(c, buf, (size_t)len);
			CHECK(&p, decode(&out, c, (size_t)len) == -EMSGSIZE);
		}
		for (int extra = 0; extra < 256; extra += 85) {
			memcpy(cut, buf, (size_t)n);
			cut[n] = (uint8_t)extra;
			CHECK(&p, decode(&out, cut, (size_t)n + 1) == -EINVAL);
		}
		for (int bit = 0; bit < n * 8; bit++) {
			memcpy(cut, buf, (size_t)n);
			cut[bit / 8] ^= (uint8_t)(1u << bit % 8);
			int rc = decode(&out, cut, (size_t)n);
			if (rc == 0) {
				accepted_flips++;
				CHECK(&p, encode(&out.m, buf2) == n && memcmp(buf2, cut, (size_t)n) == 0);
			} else {
				CHECK(&p, rc == -EMSGSIZE || rc == -EINVAL || rc == -ENOBUFS);
			}
		}
	}
	/* Most flips hit a number: those are accepted as another message. */
	CHECK(&p, accepted_flips > 0);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_enobufs(void **state)
{
	(void)state;
	struct aeg_raft_entry ents[5];
	for (uint32_t i = 0; i < 5; i++)
		ents[i] = (struct aeg_raft_entry){.term = 2, .index = 4 + i};
	struct aeg_raft_msg m = {.type = AEG_RAFT_MSG_APPEND, .from = 1, .to = 2, .term = 2,
				 .index = 3, .log_term = 1, .n_entries = 5, .entries = ents};
	int n = encode(&m, buf);
	assert_true(n > 0);
	struct aeg_raft_msg out;
	struct aeg_raft_entry got[5];
	assert_int_equal(aeg_raft_msg_decode(&out, got, 4, NULL, buf, (size_t)n), -ENOBUFS);
	assert_int_equal(aeg_raft_msg_decode(&out, NULL, 0, NULL, buf, (size_t)n), -ENOBUFS);
	assert_int_equal(aeg_raft_msg_decode(&out, got, 5, NULL, buf, (size_t)n), 0);
	assert_int_equal(out.n_entries, 5);
	assert_int_equal(got[4].index, 8);
	assert_int_equal(got[4].term, 2);
	assert_null(got[4].data);
	assert_null(out.snap_conf);
	/* An append without entries needs no room. */
	m.n_entries = 0;
	n = encode(&m, buf);
	assert_int_equal(aeg_raft_msg_decode(&out, NULL, 0, NULL, buf, (size_t)n), 0);
}

static void expect_decode(int want, const uint8_t *b, size_t len)
{
	struct decoded d;
	int rc = decode(&d, b, len);
	if (rc != want)
		fail_msg("decode of %zu bytes (first 0x%02x): %d, want %d", len, b[0], rc, want);
}

static void test_non_minimal_varints(void **state)
{
	(void)state;
	/* The golden heartbeat 27 01 02 05 ac 02 00 with one field padded. */
	static const uint8_t term_pad[] = {0x27, 0x01, 0x02, 0x85, 0x00, 0xac, 0x02, 0x00};
	static const uint8_t from_pad[] = {0x27, 0x81, 0x80, 0x00, 0x02, 0x05, 0xac, 0x02, 0x00};
	static const uint8_t ctx_pad[] = {0x27, 0x01, 0x02, 0x05, 0xac, 0x02, 0x80, 0x00};
	static const uint8_t zero_pad[] = {0x27, 0x01, 0x02, 0x05, 0xac, 0x82, 0x00, 0x00};
	expect_decode(-EINVAL, term_pad, sizeof(term_pad));
	expect_decode(-EINVAL, from_pad, sizeof(from_pad));
	expect_decode(-EINVAL, ctx_pad, sizeof(ctx_pad));
	expect_decode(-EINVAL, zero_pad, sizeof(zero_pad));
	/* 11 bytes, and a 10th byte beyond bit 63. */
	static const uint8_t long_term[] = {0x0a, 0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x81, 0x00};
	static const uint8_t wide_term[] = {0x0a, 0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0xff, 0xff, 0xff, 0xff, 0x02};
	static const uint8_t max_term[] = {0x0a, 0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff,
					   0xff, 0xff, 0xff, 0xff, 0x01};
	expect_decode(-EINVAL, long_term, sizeof(long_term));
	expect_decode(-EINVAL, wide_term, sizeof(wide_term));
	expect_decode(0, max_term, sizeof(max_term));
	/* from over 32 bits */
	static const uint8_t wide_from[] = {0x0a, 0x80, 0x80, 0x80, 0x80, 0x10, 0x02, 0x03};
	expect_decode(-EINVAL, wide_from, sizeof(wide_from));
	/* An entry meta padded: append 01 01 02 02 | 00 01 00 | 01 | meta 00 -> 80 00 */
	static const uint8_t meta_ok[] = {0x01, 0x01, 0x02, 0x02, 0x00, 0x01, 0x00, 0x01, 0x01, 0x02};
	static const uint8_t meta_pad[] = {0x01, 0x01, 0x02, 0x02, 0x00, 0x01, 0x00, 0x01,
					   0x81, 0x00, 0x02};
	expect_decode(0, meta_ok, sizeof(meta_ok));
	expect_decode(-EINVAL, meta_pad, sizeof(meta_pad));
}

static void test_malformed(void **state)
{
	(void)state;
	/* Every header byte over the body "from 1, to 2, term 3": refused
	 * unless its type is known and its bits allowed; types with more fields
	 * then run out of bytes. */
	static const uint8_t body[] = {0x01, 0x02, 0x03};
	uint8_t b[1 + sizeof(body)];
	memcpy(b + 1, body, sizeof(body));
	for (unsigned hdr = 0; hdr < 256; hdr++) {
		unsigned type = hdr & 0x0f, bits = hdr & 0xf0, allowed = 0;
		if (type == AEG_RAFT_MSG_APPEND_RESP)
			allowed = 0x10 | 0x40;
		else if (type == AEG_RAFT_MSG_VOTE_RESP || type == AEG_RAFT_MSG_PRE_VOTE_RESP)
			allowed = 0x10;
		else if (type == AEG_RAFT_MSG_HEARTBEAT)
			allowed = 0x20;
		bool header_only = type == AEG_RAFT_MSG_VOTE_RESP ||
				   type == AEG_RAFT_MSG_PRE_VOTE_RESP || type == AEG_RAFT_MSG_TIMEOUT_NOW;
		int want = type == 0 || type > AEG_RAFT_MSG_TYPE_MAX || (bits & ~allowed) != 0 ?
			-EINVAL : header_only ? 0 : -EMSGSIZE;
		b[0] = (uint8_t)hdr;
		expect_decode(want, b, sizeof(b));
	}
	static const uint8_t bad[][8] = {
		{0x00, 0x01, 0x02, 0x03},                   /* type 0 */
		{0x0b, 0x01, 0x02, 0x03},                   /* type 11 */
		{0x8a, 0x01, 0x02, 0x03},                   /* bit 7 */
		{0x1a, 0x01, 0x02, 0x03},                   /* reject on TIMEOUT_NOW */
		{0x21, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00}, /* quiesce on APPEND */
		{0x44, 0x01, 0x02, 0x03},                   /* hint on VOTE_RESP */
		{0x42, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00}, /* hint bit, pair 0 */
		{0x01, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x01}, /* entry cut: meta missing */
	};
	static const size_t bad_len[] = {4, 4, 4, 4, 8, 4, 7, 8};
	static const int bad_rc[] = {-EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL,
				     -EMSGSIZE};
	for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++)
		expect_decode(bad_rc[i], bad[i], bad_len[i]);
	/* Entries: type 3, a new term equal to the last, len over the max,
	 * an index that would wrap. */
	static const uint8_t e_type3[] = {0x01, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x01, 0x06};
	static const uint8_t e_zero_delta[] = {0x01, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x01,
					       0x01, 0x00};
	static const uint8_t e_too_long[] = {0x01, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x01,
					     0x88, 0x80, 0x80, 0x40};
	static const uint8_t e_wrap[] = {0x01, 0x01, 0x02, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x01, 0x00};
	expect_decode(-EINVAL, e_type3, sizeof(e_type3));
	expect_decode(-EINVAL, e_zero_delta, sizeof(e_zero_delta));
	expect_decode(-EINVAL, e_too_long, sizeof(e_too_long));
	expect_decode(-EINVAL, e_wrap, sizeof(e_wrap));
	/* Snapshot: conf too long, bad conf (duplicate ids), conf missing,
	 * chunk over the max, and no conf to decode into. */
	static const uint8_t s_conf_long[] = {0x09, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00,
					      0x00, 0x7f};
	static const uint8_t s_conf_dup[] = {0x09, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
					     0x05, 0x02, 0x01, 0x01, 0x01, 0x01, 0x00};
	static const uint8_t s_conf_empty[] = {0x09, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00,
					       0x00, 0x00, 0x00};
	static const uint8_t s_conf_short[] = {0x09, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00,
					       0x00, 0x02, 0x01, 0x01, 0x00};
	static const uint8_t s_chunk_long[] = {0x09, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00,
					       0x00, 0x01, 0x00, 0x81, 0x80, 0x80, 0x08};
	static const uint8_t s_ok[] = {0x09, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
				       0x01, 0x00, 0x00};
	expect_decode(-EINVAL, s_conf_long, sizeof(s_conf_long));
	expect_decode(-EINVAL, s_conf_dup, sizeof(s_conf_dup));
	expect_decode(-EINVAL, s_conf_empty, sizeof(s_conf_empty));
	expect_decode(-EINVAL, s_conf_short, sizeof(s_conf_short));
	expect_decode(-EINVAL, s_chunk_long, sizeof(s_chunk_long));
	expect_decode(0, s_ok, sizeof(s_ok));
	struct aeg_raft_msg m;
	assert_int_equal(aeg_raft_msg_decode(&m, NULL, 0, NULL, s_ok, sizeof(s_ok)), -EINVAL);
	assert_int_equal(aeg_raft_msg_decode(&m, NULL, 0, NULL, NULL, 0), -EMSGSIZE);
}

/* The encoder refuses what it could not carry, and size says 0. */
static void expect_refused(const struct aeg_raft_msg *m)
{
	assert_int_equal(aeg_raft_msg_size(m), 0);
	assert_int_equal(encode(m, buf), -EINVAL);
}

static void test_encoder_refuses(void **state)
{
	(void)state;
	const struct aeg_raft_msg base = {.type = AEG_RAFT_MSG_HEARTBEAT, .from = 1, .to = 2,
					  .term = 3};
	struct aeg_raft_msg m = base;
	assert_int_equal(encode(&m, buf), 4 + 2);
	assert_int_equal(aeg_raft_msg_encode(&m, NULL, 0), -EMSGSIZE);
	m.type = 0; expect_refused(&m);
	m.type = AEG_RAFT_MSG_TYPE_MAX + 1; expect_refused(&m);
	m = base; m.flags = 2; expect_refused(&m);
	m = base; m.index = 1; expect_refused(&m);
	m = base; m.log_term = 1; expect_refused(&m);
	m = base; m.hint = 1; expect_refused(&m);
	m = base; m.reject = true; expect_refused(&m);
	m = base; m.snap_index = 1; expect_refused(&m);
	m = base; m.snap_len = 1; expect_refused(&m);
	struct aeg_raft_conf conf = {.n = 1, .ids = {1}, .roles = {AEG_RAFT_MEMBER_VOTER}};
	m = base; m.snap_conf = &conf; expect_refused(&m);
	m = base; m.type = AEG_RAFT_MSG_HEARTBEAT_RESP; m.flags = AEG_RAFT_MSG_FLAG_QUIESCE;
	expect_refused(&m);
	m = base; m.type = AEG_RAFT_MSG_VOTE; m.commit = 1; expect_refused(&m);
	m = base; m.type = AEG_RAFT_MSG_APPEND_RESP; m.ctx = 1; expect_refused(&m);
	m = base; m.type = AEG_RAFT_MSG_TIMEOUT_NOW; m.ctx = 1; expect_refused(&m);

	struct aeg_raft_entry ents[2] = {{.term = 3, .index = 6}, {.term = 3, .index = 7}};
	const struct aeg_raft_msg app = {.type = AEG_RAFT_MSG_APPEND, .from = 1, .to = 2,
					 .term = 3, .index = 5, .n_entries = 2, .entries = ents};
	assert_true(encode(&app, buf) > 0);
	m = app; m.entries = NULL; expect_refused(&m);
	m = app; m.index = 4; expect_refused(&m);  /* indexes not prev + 1 + i */
	m = app; m.type = AEG_RAFT_MSG_VOTE; expect_refused(&m);
	ents[1].type = 3; expect_refused(&app);
	ents[1].type = AEG_RAFT_ENTRY_CONF; ents[1].len = 1; expect_refused(&app);  /* data NULL */
	ents[1].data = pool; ents[1].len = AEG_RAFT_CODEC_DATA_BYTES_MAX + 1; expect_refused(&app);
	ents[1].len = 1;
	assert_true(encode(&app, buf) > 0);
	m = app; m.index = UINT64_MAX - 1; ents[0].index = UINT64_MAX; ents[1].index = 0;
	expect_refused(&m);

	struct aeg_raft_conf dup = {.n = 2, .ids = {4, 4},
				    .roles = {AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER}};
	struct aeg_raft_conf big = {.n = AEG_RAFT_CONF_MAX + 1};
	const struct aeg_raft_msg snap = {.type = AEG_RAFT_MSG_SNAPSHOT, .from = 1, .to = 2,
					  .term = 3, .snap_index = 9, .snap_conf = &conf};
	assert_true(encode(&snap, buf) > 0);
	m = snap; m.snap_conf = NULL; expect_refused(&m);
	m = snap; m.snap_conf = &dup; expect_refused(&m);
	m = snap; m.snap_conf = &big; expect_refused(&m);
	m = snap; m.snap_len = 3; expect_refused(&m);  /* data NULL */
	m = snap; m.ctx = 1; expect_refused(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_truncations_flips_trailing),
		cmocka_unit_test(test_enobufs),
		cmocka_unit_test(test_non_minimal_varints),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_encoder_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
