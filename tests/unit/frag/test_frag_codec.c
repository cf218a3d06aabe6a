/* lib/frag piece by piece: the fragment and ack codecs (round trips, every
 * truncation, each invalid field), the receiver's checks against forged-
 * looking fragments (each dropped under its reason, nothing delivered or
 * written out of place), slot and id-span limits, the sender's pacing
 * (burst and window), fast retransmission, timeouts and give-up. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/frag.h"

/* ---- a capturing output ------------------------------------------------- */

#define CAP_MSGS 512

struct cap_msg {
	uint32_t stream, group, len;
	uint8_t type;
	uint8_t body[1500];
};

static struct cap_msg cap[CAP_MSGS];
static uint32_t ncap, cap_limit = CAP_MSGS;

static uint8_t *cap_reserve(void *arg, uint32_t stream, uint8_t type, uint32_t group,
			    uint32_t len)
{
	(void)arg;
	if (ncap >= cap_limit || len > sizeof(cap[0].body))
		return NULL;
	cap[ncap] = (struct cap_msg){ .stream = stream, .group = group, .len = len, .type = type };
	return cap[ncap++].body;
}

static const struct aeg_frag_out out = { .reserve = cap_reserve };

static const uint64_t T0 = 1000000000ull;

/* ---- codec ------------------------------------------------------------- */

static void test_hdr_codec(void **state)
{
	(void)state;
	uint8_t b[AEG_FRAG_HDR_BYTES + 3];
	struct aeg_frag_hdr h = { .msg_id = 77, .total = 3000, .offset = 1200, .index = 3,
				  .count = 8, .type = 2, .base_delta = 5 }, d;
	aeg_frag_hdr_encode(&h, b);
	memcpy(b + AEG_FRAG_HDR_BYTES, "xyz", 3);
	assert_int_equal(aeg_frag_hdr_decode(&d, b, sizeof(b)), 0);
	assert_true(d.msg_id == 77 && d.total == 3000 && d.offset == 1200 && d.index == 3 &&
		    d.count == 8 && d.type == 2 && d.base_delta == 5 && d.len == 3);
	assert_memory_equal(d.data, "xyz", 3);
	for (size_t n = 0; n <= AEG_FRAG_HDR_BYTES; n++)
		assert_int_equal(aeg_frag_hdr_decode(&d, b, n), -EMSGSIZE);
	struct aeg_frag_hdr bad[] = {
		{ .msg_id = 77, .total = 3000, .offset = 0, .index = 0, .count = 0 },
		{ .msg_id = 77, .total = 3000, .offset = 0, .index = 8, .count = 8 },
		{ .msg_id = 77, .total = 3000, .offset = 2998, .index = 1, .count = 8 },
		{ .msg_id = 77, .total = 3000, .offset = 3001, .index = 1, .count = 8 },
		{ .msg_id = 77, .total = 2, .offset = 0, .index = 0, .count = 1 },
		{ .msg_id = 70, .total = 3000, .index = 0, .count = 8, .base_delta = 64 },
		{ .msg_id = 5, .total = 3000, .index = 0, .count = 8, .base_delta = 5 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* encode asserts index < count and base_delta < SPAN: write by hand */
		struct aeg_frag_hdr ok = bad[i];
		ok.index = 0;
		ok.count = 1;
		ok.base_delta = 0;
		aeg_frag_hdr_encode(&ok, b);
		b[16] = (uint8_t)bad[i].index;
		b[18] = (uint8_t)bad[i].count;
		b[19] = 0;
		b[21] = bad[i].base_delta;
		assert_int_equal(aeg_frag_hdr_decode(&d, b, sizeof(b)), -EINVAL);
	}
}

static void test_ack_codec(void **state)
{
	(void)state;
	uint8_t b[AEG_FRAG_ACK_BYTES + 1];
	struct aeg_frag_ack a = { .msg_id = 9, .cum = 300, .sack = { 0x8001, 1ull << 63 } }, d;
	aeg_frag_ack_encode(&a, b);
	assert_int_equal(aeg_frag_ack_decode(&d, b, AEG_FRAG_ACK_BYTES), 0);
	assert_true(d.msg_id == 9 && d.flags == 0 && d.cum == 300 && d.sack[0] == 0x8001 &&
		    d.sack[1] == 1ull << 63);
	for (size_t n = 0; n < AEG_FRAG_ACK_BYTES; n++)
		assert_int_equal(aeg_frag_ack_decode(&d, b, n), -EMSGSIZE);
	assert_int_equal(aeg_frag_ack_decode(&d, b, AEG_FRAG_ACK_BYTES + 1), -EMSGSIZE);
	b[8] = 0x02; /* unknown flag */
	assert_int_equal(aeg_frag_ack_decode(&d, b, AEG_FRAG_ACK_BYTES), -EINVAL);
	b[8] = AEG_FRAG_ACK_COMPLETE; /* complete with a cum */
	assert_int_equal(aeg_frag_ack_decode(&d, b, AEG_FRAG_ACK_BYTES), -EINVAL);
	a = (struct aeg_frag_ack){ .msg_id = 0 };
	aeg_frag_ack_encode(&a, b);
	assert_int_equal(aeg_frag_ack_decode(&d, b, AEG_FRAG_ACK_BYTES), -EINVAL);
	assert_string_equal(aeg_frag_drop_name(AEG_FRAG_DROP_GEOMETRY), "geometry");
	assert_string_equal(aeg_frag_drop_name(AEG_FRAG_DROP_NR), "invalid");
}

/* ---- receiver checks ---------------------------------------------------- */

static struct aeg_frag *rx_ep(uint16_t rx_slots)
{
	struct aeg_frag_config c = { .streams = 1, .msg_bytes_max = 1000, .frag_bytes = 100,
				     .rx_slots = rx_slots };
	struct aeg_frag *f;
	assert_int_equal(aeg_frag_init(&f, &c), 0);
	return f;
}

static uint8_t payload[1000];

/* Fragment (index, offset, len) of message id with the given total/count. */
static int feed(struct aeg_frag *f, uint64_t id, uint8_t delta, uint32_t total, uint16_t count,
		uint16_t index, uint32_t offset, uint32_t len, uint8_t type, uint32_t group,
		struct aeg_frag_msg *m)
{
	uint8_t b[AEG_FRAG_HDR_BYTES + 1000];
	struct aeg_frag_hdr h = { .msg_id = id, .total = total, .offset = offset, .index = 0,
				  .count = 1, .type = type, .base_delta = delta };
	aeg_frag_hdr_encode(&h, b);
	b[16] = (uint8_t)index, b[17] = (uint8_t)(index >> 8);
	b[18] = (uint8_t)count, b[19] = (uint8_t)(count >> 8);
	assert_true(len <= 1000 && offset + len <= sizeof(payload) + 100);
	memcpy(b + AEG_FRAG_HDR_BYTES, payload + (offset < 1000 ? offset : 0),
	       offset + len <= 1000 ? len : 0);
	return aeg_frag_rx(f, 0, AEG_FRAG_TYPE_DATA, group, b, AEG_FRAG_HDR_BYTES + len, T0, m);
}

static uint64_t drops(struct aeg_frag *f, enum aeg_frag_drop d)
{
	return aeg_frag_stats(f)->drops[d];
}

static void test_forged_fragments(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	struct aeg_frag *f = rx_ep(2);
	struct aeg_frag_msg m;
	/* id 10: 250 bytes in 100 + 100 + 50 */
	assert_int_equal(feed(f, 10, 0, 250, 3, 0, 0, 100, 2, 7, &m), 0);
	assert_int_equal(feed(f, 10, 0, 250, 3, 0, 0, 100, 2, 7, &m), -EBADMSG);
	assert_int_equal(drops(f, AEG_FRAG_DROP_DUP), 1);
	assert_int_equal(feed(f, 10, 0, 251, 3, 1, 100, 100, 2, 7, &m), -EBADMSG); /* total */
	assert_int_equal(feed(f, 10, 0, 250, 3, 1, 100, 100, 3, 7, &m), -EBADMSG); /* type */
	assert_int_equal(feed(f, 10, 0, 250, 3, 1, 100, 100, 2, 8, &m), -EBADMSG); /* group */
	assert_int_equal(feed(f, 10, 0, 250, 4, 1, 100, 100, 2, 7, &m), -EBADMSG); /* count */
	assert_int_equal(drops(f, AEG_FRAG_DROP_MISMATCH), 4);
	assert_int_equal(feed(f, 10, 0, 250, 3, 1, 99, 100, 2, 7, &m), -EBADMSG);  /* overlap */
	assert_int_equal(feed(f, 10, 0, 250, 3, 1, 100, 99, 2, 7, &m), -EBADMSG);  /* short */
	assert_int_equal(feed(f, 10, 0, 250, 3, 2, 200, 49, 2, 7, &m), -EBADMSG);  /* hole */
	assert_int_equal(feed(f, 10, 0, 250, 3, 2, 150, 100, 2, 7, &m), -EBADMSG); /* last overlaps */
	assert_int_equal(drops(f, AEG_FRAG_DROP_GEOMETRY), 4);
	assert_int_equal(feed(f, 10, 0, 250, 3, 3, 200, 50, 2, 7, &m), -EBADMSG);  /* index */
	assert_int_equal(feed(f, 10, 0, 250, 3, 0, 0, 0, 2, 7, &m), -EBADMSG);     /* empty */
	assert_int_equal(drops(f, AEG_FRAG_DROP_MALFORMED), 2);
	assert_int_equal(feed(f, 10, 0, 1001, 11, 0, 0, 100, 2, 7, &m), -EBADMSG); /* too big */
	assert_int_equal(drops(f, AEG_FRAG_DROP_TOO_BIG), 1);
	/* the good rest: delivered once, intact */
	assert_int_equal(feed(f, 10, 0, 250, 3, 2, 200, 50, 2, 7, &m), 0);
	assert_int_equal(feed(f, 10, 0, 250, 3, 1, 100, 100, 2, 7, &m), 1);
	assert_true(m.type == 2 && m.group == 7 && m.len == 250);
	assert_memory_equal(m.body, payload, 250);
	/* a late copy: not delivered again, a complete ack owed */
	assert_int_equal(feed(f, 10, 0, 250, 3, 1, 100, 100, 2, 7, &m), -EBADMSG);
	assert_int_equal(feed(f, 10, 0, 99, 1, 0, 0, 99, 5, 7, &m), -EBADMSG); /* id reuse */
	assert_int_equal(drops(f, AEG_FRAG_DROP_DUP), 3);
	ncap = 0;
	assert_true(aeg_frag_poll(f, T0, &out) >= 1);
	bool complete = false;
	for (uint32_t i = 0; i < ncap; i++) {
		struct aeg_frag_ack a;
		assert_int_equal(cap[i].type, AEG_FRAG_TYPE_ACK);
		assert_int_equal(aeg_frag_ack_decode(&a, cap[i].body, cap[i].len), 0);
		complete |= a.msg_id == 10 && a.flags == AEG_FRAG_ACK_COMPLETE;
	}
	assert_true(complete);
	assert_false(aeg_frag_busy(f));
	/* stale: the sender's base moved past it */
	assert_int_equal(feed(f, 12, 0, 250, 3, 0, 0, 100, 2, 7, &m), 0);  /* floor 12 */
	assert_int_equal(feed(f, 11, 0, 250, 3, 0, 0, 100, 2, 7, &m), -EBADMSG);
	assert_int_equal(drops(f, AEG_FRAG_DROP_STALE), 1);
	/* slots: 12 and 13 held, 14 has none; 15 with base 15 abandons them */
	assert_int_equal(feed(f, 13, 1, 250, 3, 0, 0, 100, 2, 7, &m), 0);
	assert_int_equal(feed(f, 14, 2, 250, 3, 0, 0, 100, 2, 7, &m), -EBADMSG);
	assert_int_equal(drops(f, AEG_FRAG_DROP_NO_SLOT), 1);
	assert_int_equal(feed(f, 15, 0, 250, 3, 0, 0, 100, 2, 7, &m), 0);
	assert_int_equal(aeg_frag_stats(f)->rx_abandoned, 2);
	/* the last fragment first: its unit comes from offset / index */
	assert_int_equal(feed(f, 16, 1, 250, 3, 2, 200, 50, 2, 7, &m), 0);
	assert_int_equal(feed(f, 16, 1, 250, 3, 1, 100, 100, 2, 7, &m), 0);
	assert_int_equal(feed(f, 16, 1, 250, 3, 0, 0, 100, 2, 7, &m), 1);
	assert_memory_equal(m.body, payload, 250);
	assert_int_equal(feed(f, 17, 2, 250, 3, 2, 201, 49, 2, 7, &m), -EBADMSG); /* 201 % 2 */
	/* one-fragment message */
	assert_int_equal(feed(f, 18, 0, 60, 1, 0, 0, 60, 9, 1, &m), 1);
	assert_true(m.len == 60 && m.type == 9 && m.group == 1);
	/* a partial message is dropped once idle for rx_timeout */
	assert_int_equal(feed(f, 19, 0, 250, 3, 0, 0, 100, 2, 7, &m), 0);
	ncap = 0;
	aeg_frag_poll(f, T0 + aeg_frag_config(f)->rx_timeout_ns, &out);
	assert_int_equal(aeg_frag_stats(f)->rx_timeout, 1); /* 19 (18 abandoned 15) */
	assert_false(aeg_frag_busy(f));
	assert_int_equal(aeg_frag_stats(f)->rx_msgs, 3);
	aeg_frag_fini(f);
}

/* ---- sender --------------------------------------------------------------- */

static struct aeg_frag *tx_ep(uint16_t window, uint16_t burst)
{
	struct aeg_frag_config c = { .streams = 2, .msg_bytes_max = 100000, .frag_bytes = 1000,
				     .window_frags = window, .burst_frags = burst,
				     .msg_id_first = 500 };
	struct aeg_frag *f;
	assert_int_equal(aeg_frag_init(&f, &c), 0);
	return f;
}

static void ack(struct aeg_frag *f, uint64_t id, uint16_t cum, uint64_t sack0, uint64_t now)
{
	uint8_t b[AEG_FRAG_ACK_BYTES];
	struct aeg_frag_ack a = { .msg_id = id, .cum = cum, .sack = { sack0, 0 } };
	aeg_frag_ack_encode(&a, b);
	assert_int_equal(aeg_frag_rx(f, 1, AEG_FRAG_TYPE_ACK, 0, b, sizeof(b), now, NULL), 0);
}

static void test_send_errors(void **state)
{
	(void)state;
	struct aeg_frag_config c = { .streams = 1, .frag_bytes = 1000 };
	size_t per;
	size_t total = aeg_frag_mem_bytes(&c, &per);
	assert_true(per >= 4u * ((1u << 20) + (64u << 10)) && total >= per);
	c.frag_bytes = 10; /* 1 MiB + 64 KiB in 10-byte fragments: over COUNT_MAX */
	assert_int_equal(aeg_frag_mem_bytes(&c, NULL), 0);
	struct aeg_frag *f;
	assert_int_equal(aeg_frag_init(&f, &c), -EINVAL);
	c = (struct aeg_frag_config){ .streams = 0, .frag_bytes = 1000 };
	assert_int_equal(aeg_frag_init(&f, &c), -EINVAL);
	c = (struct aeg_frag_config){ .streams = 1, .frag_bytes = 1000, .window_frags = 129 };
	assert_int_equal(aeg_frag_init(&f, &c), -EINVAL);
	f = tx_ep(64, 32);
	static uint8_t body[100001];
	assert_int_equal(aeg_frag_send(f, 0, 1, 1, body, 0, T0), -EMSGSIZE);
	assert_int_equal(aeg_frag_send(f, 0, 1, 1, body, 100001, T0), -EMSGSIZE);
	assert_int_equal(aeg_frag_send(f, 2, 1, 1, body, 10, T0), -EINVAL);
	assert_int_equal(aeg_frag_send(f, 0, 1, 1, body, 10, T0), 0);
	assert_int_equal(aeg_frag_send(f, 0, 1, 1, body, 10, T0), 0);
	assert_int_equal(aeg_frag_send(f, 0, 1, 1, body, 10, T0), -ENOBUFS); /* 2 slots */
	assert_int_equal(aeg_frag_send(f, 1, 1, 1, body, 10, T0), 0);        /* other stream */
	assert_int_equal(aeg_frag_stats(f)->tx_busy, 1);
	assert_true(aeg_frag_busy(f));
	aeg_frag_fini(f);
}

static void test_pacing(void **state)
{
	(void)state;
	struct aeg_frag *f = tx_ep(16, 8);
	static uint8_t body[100000];
	for (uint32_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)i;
	assert_int_equal(aeg_frag_send(f, 1, 3, 4, body, sizeof(body), T0), 0);
	ncap = 0;
	assert_int_equal(aeg_frag_poll(f, T0, &out), 8);   /* burst */
	assert_int_equal(aeg_frag_poll(f, T0, &out), 8);
	assert_int_equal(aeg_frag_poll(f, T0, &out), 0);   /* window of 16 full */
	for (uint32_t i = 0; i < ncap; i++) {
		struct aeg_frag_hdr h;
		assert_int_equal(aeg_frag_hdr_decode(&h, cap[i].body, cap[i].len), 0);
		assert_true(cap[i].stream == 1 && cap[i].group == 4 && cap[i].type == AEG_FRAG_TYPE_DATA);
		assert_true(h.msg_id == 500 && h.index == i && h.count == 100 && h.type == 3);
		assert_memory_equal(h.data, body + i * 1000, 1000);
	}
	ack(f, 500, 4, 0, T0 + 10000);                     /* 4 arrived */
	assert_int_equal(aeg_frag_poll(f, T0 + 10000, &out), 4);
	/* 5..15 arrived, 4 missing: 4 was sent with the rest, no fast resend */
	ack(f, 500, 4, 0x7ffull, T0 + 20000);
	assert_int_equal(aeg_frag_poll(f, T0 + 20000, &out), 8); /* 16..23 */
	/* 16..19 arrived, sent later than 4 by more than srtt / 4: 4 is lost */
	ack(f, 500, 4, 0x7fffull, T0 + 30000);
	ncap = 0;
	assert_true(aeg_frag_poll(f, T0 + 30000, &out) >= 1);
	struct aeg_frag_hdr h;
	assert_int_equal(aeg_frag_hdr_decode(&h, cap[0].body, cap[0].len), 0);
	assert_int_equal(h.index, 4);
	assert_int_equal(aeg_frag_stats(f)->tx_rtx, 1);
	assert_int_equal(aeg_frag_stats(f)->tx_rto, 0);
	/* bogus: an ack for fragments never sent, or an unknown id */
	uint8_t b[AEG_FRAG_ACK_BYTES];
	struct aeg_frag_ack a = { .msg_id = 500, .cum = 99 };
	aeg_frag_ack_encode(&a, b);
	assert_int_equal(aeg_frag_rx(f, 1, AEG_FRAG_TYPE_ACK, 0, b, sizeof(b), T0, NULL), -EBADMSG);
	a.msg_id = 501;
	aeg_frag_ack_encode(&a, b);
	assert_int_equal(aeg_frag_rx(f, 1, AEG_FRAG_TYPE_ACK, 0, b, sizeof(b), T0, NULL), -EBADMSG);
	assert_int_equal(drops(f, AEG_FRAG_DROP_ACK_BOGUS), 1);
	assert_int_equal(drops(f, AEG_FRAG_DROP_ACK_UNKNOWN), 1);
	/* complete */
	a = (struct aeg_frag_ack){ .msg_id = 500, .flags = AEG_FRAG_ACK_COMPLETE };
	aeg_frag_ack_encode(&a, b);
	assert_int_equal(aeg_frag_rx(f, 1, AEG_FRAG_TYPE_ACK, 0, b, sizeof(b), T0, NULL), 0);
	assert_int_equal(aeg_frag_stats(f)->tx_done, 1);
	assert_false(aeg_frag_busy(f));
	aeg_frag_fini(f);
}

/* Nobody answers: timeouts resend, then the sender gives up. */
static void test_give_up(void **state)
{
	(void)state;
	struct aeg_frag *f = tx_ep(64, 32);
	static uint8_t body[5000];
	assert_int_equal(aeg_frag_send(f, 0, 1, 1, body, sizeof(body), T0), 0);
	const struct aeg_frag_config *c = aeg_frag_config(f);
	uint64_t t = T0;
	while (aeg_frag_busy(f) && t < T0 + 10 * c->give_up_ns) {
		ncap = 0;
		aeg_frag_poll(f, t, &out);
		t += 100000;
	}
	const struct aeg_frag_stats *s = aeg_frag_stats(f);
	assert_false(aeg_frag_busy(f));
	assert_int_equal(s->tx_failed, 1);
	assert_int_equal(s->tx_frags, 5);
	assert_true(s->tx_rto >= 3 && s->tx_rtx >= 15);
	assert_true(t >= T0 + c->give_up_ns && t <= T0 + c->give_up_ns + 200000);
	aeg_frag_fini(f);
}

/* The output refuses: nothing is lost, the next poll sends it. */
static void test_output_full(void **state)
{
	(void)state;
	struct aeg_frag *f = tx_ep(64, 32);
	static uint8_t body[5000];
	assert_int_equal(aeg_frag_send(f, 0, 1, 1, body, sizeof(body), T0), 0);
	ncap = 0;
	cap_limit = 2;
	assert_int_equal(aeg_frag_poll(f, T0, &out), 2);
	cap_limit = CAP_MSGS;
	assert_int_equal(aeg_frag_poll(f, T0, &out), 3);
	assert_int_equal(aeg_frag_stats(f)->tx_frags, 5);
	aeg_frag_fini(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_codec),
		cmocka_unit_test(test_ack_codec),
		cmocka_unit_test(test_forged_fragments),
		cmocka_unit_test(test_send_errors),
		cmocka_unit_test(test_pacing),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_output_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
