/* Client protocol codec: the byte layout pinned by a golden datagram, seeded
 * round trips of both kinds (parts included) packed until the builder says
 * -ENOSPC, the builder's refusals, the part sizing rule, names and the
 * per-request meaning check. */
#include "proto_fixture.h"

#define SEED_DEFAULT 0xc11e47c0dec0ull

static void test_golden_request(void **state)
{
	(void)state;
	static const uint8_t want_hdr[AEG_CLIENT_HDR_BYTES] = {
		'A', 'E', 'G', 'C', 1, 1, 0,                   /* magic version kind flags */
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* client_id */
		0x05, 0, 0, 0, 0, 0, 0, 0,                      /* seq_floor */
		2, 0,                                           /* count */
		79, 0,                                          /* body_len */
	};
	static const uint8_t want_put[] = {
		0x07, 0, 0, 0, 0, 0, 0, 0, /* seq 7 */
		2, 2, 0,                   /* PUT QUORUM, no part */
		0x0c, 0, 0, 0,             /* shard 12 */
		0x03, 0, 0, 0, 0, 0, 0, 0, /* epoch 3 */
		0, 0, 0, 0, 0, 0, 0, 0,    /* expect_version */
		3, 'k', 'e', 'y',          /* key */
		2, 'v', 'v',               /* value */
	};
	static const uint8_t want_cas_part[] = {
		0x08, 0, 0, 0, 0, 0, 0, 0,       /* seq 8 */
		4, 0, 1,                         /* CAS DEFAULT, part */
		0x01, 0, 0, 0,                   /* shard 1 */
		0x03, 0, 0, 0, 0, 0, 0, 0,       /* epoch 3 */
		0x2a, 0, 0, 0, 0, 0, 0, 0,       /* expect_version 42 */
		1, 'k',                          /* key */
		1, 'x',                          /* value: one byte */
		1, 2, 0xac, 0x02, 0x80, 0x01,    /* index 1 count 2 total 300 offset 128 */
	};
	uint8_t pkt[256];
	struct aeg_client_builder b;
	assert_int_equal(aeg_client_builder_begin(&b, pkt, sizeof(pkt), AEG_CLIENT_KIND_REQUEST,
						  0x0102030405060708ull, 5), 0);
	struct aeg_client_req put = {.seq = 7, .op = AEG_CLIENT_PUT,
		.consistency = AEG_CLIENT_QUORUM, .shard = 12, .epoch = 3,
		.key = (const uint8_t *)"key", .key_len = 3,
		.value = (const uint8_t *)"vv", .value_len = 2};
	struct aeg_client_req cas = {.seq = 8, .op = AEG_CLIENT_CAS, .shard = 1, .epoch = 3,
		.expect_version = 42, .key = (const uint8_t *)"k", .key_len = 1,
		.value = (const uint8_t *)"x", .value_len = 1,
		.part = {.index = 1, .count = 2, .total = 300, .offset = 128}};
	assert_int_equal(aeg_client_req_size(&put), sizeof(want_put));
	assert_int_equal(aeg_client_req_size(&cas), sizeof(want_cas_part));
	assert_int_equal(aeg_client_add_request(&b, &put), 0);
	assert_int_equal(aeg_client_add_request(&b, &cas), 0);
	int len = aeg_client_builder_seal(&b, &fx_key);
	size_t body = sizeof(want_put) + sizeof(want_cas_part);
	assert_int_equal(body, 79);
	assert_int_equal(len, AEG_CLIENT_DGRAM_BYTES_MIN + body);
	assert_memory_equal(pkt, want_hdr, sizeof(want_hdr));
	assert_memory_equal(pkt + AEG_CLIENT_HDR_BYTES, want_put, sizeof(want_put));
	assert_memory_equal(pkt + AEG_CLIENT_HDR_BYTES + sizeof(want_put), want_cas_part,
			    sizeof(want_cas_part));
	uint8_t tag[AEG_CLIENT_TAG_BYTES];
	aeg_wire_tag(&fx_key, pkt, (size_t)len - AEG_CLIENT_TAG_BYTES, tag);
	assert_memory_equal(pkt + len - AEG_CLIENT_TAG_BYTES, tag, sizeof(tag));
	/* The client magic never passes for the cluster one. */
	assert_int_not_equal(AEG_CLIENT_MAGIC, AEG_WIRE_MAGIC);
	assert_memory_equal(pkt, &(uint32_t){AEG_CLIENT_MAGIC}, 4); /* little-endian host */
}

static void test_golden_response(void **state)
{
	(void)state;
	static const uint8_t want_item[] = {
		0x09, 0, 0, 0, 0, 0, 0, 0,     /* seq 9 */
		AEG_CLIENT_NOT_LEADER, 0,      /* status, no part */
		0x10, 0, 0, 0, 0, 0, 0, 0,     /* version 16 */
		0x03, 0, 0, 0,                 /* leader_hint 3 */
		0,                             /* empty value */
	};
	uint8_t pkt[128];
	struct aeg_client_builder b;
	assert_int_equal(aeg_client_builder_begin(&b, pkt, sizeof(pkt), AEG_CLIENT_KIND_RESPONSE,
						  77, 0), 0);
	struct aeg_client_resp s = {.seq = 9, .status = AEG_CLIENT_NOT_LEADER, .version = 16,
				    .leader_hint = 3};
	assert_int_equal(aeg_client_resp_size(&s), AEG_CLIENT_RESP_BYTES_MIN);
	assert_int_equal(aeg_client_add_response(&b, &s), 0);
	int len = aeg_client_builder_seal(&b, &fx_key);
	assert_int_equal(len, AEG_CLIENT_DGRAM_BYTES_MIN + sizeof(want_item));
	assert_int_equal(pkt[CLIENT_OFF_KIND], AEG_CLIENT_KIND_RESPONSE);
	assert_memory_equal(pkt + AEG_CLIENT_HDR_BYTES, want_item, sizeof(want_item));
	struct aeg_client_dgram d;
	assert_int_equal(aeg_client_parse(&fx_resp_rx, pkt, (size_t)len, &d), AEG_CLIENT_DROP_OK);
	assert_int_equal(d.hdr.client_id, 77);
	struct aeg_client_iter it;
	struct aeg_client_resp got;
	aeg_client_iter_init(&it, &d);
	assert_int_equal(aeg_client_next_response(&it, &got), 1);
	s.part = (struct aeg_client_part){.count = 1}; /* what a whole value decodes to */
	assert_true(fx_resp_eq(&got, &s));
	assert_int_equal(got.part.count, 1);
	assert_int_equal(got.part.total, 0);
	assert_int_equal(aeg_client_next_response(&it, &got), 0);
	/* A request iterator over a response datagram is a caller bug. */
	struct aeg_client_req q;
	aeg_client_iter_init(&it, &d);
	assert_int_equal(aeg_client_next_request(&it, &q), -EINVAL);
}

/* Packs random items of one kind into datagrams of a random size until the
 * builder refuses one, parses each datagram and compares every item. */
static void round_trip_once(struct prng *p, bool requests)
{
	static uint8_t pkt[AEG_CLIENT_DGRAM_BYTES_MAX];
	static struct aeg_client_req reqs[AEG_CLIENT_ITEMS_MAX];
	static struct aeg_client_resp resps[AEG_CLIENT_ITEMS_MAX];
	size_t cap = prng_below(p, 2) ? AEG_CLIENT_DGRAM_BYTES_DEFAULT
				      : AEG_CLIENT_DGRAM_BYTES_MIN + prng_below(p, 9000);
	size_t blob_max = prng_below(p, 4) == 0 ? 0 : prng_below(p, cap);
	uint64_t client = fx_u64(p), floor = requests ? fx_u64(p) : 0;
	struct aeg_client_builder b;
	CHECK(p, aeg_client_builder_begin(&b, pkt, cap, requests ? AEG_CLIENT_KIND_REQUEST
								: AEG_CLIENT_KIND_RESPONSE,
					  client, floor) == 0);
	uint32_t n = 0;
	for (;;) {
		int rc;
		if (requests) {
			reqs[n] = fx_req(p, blob_max);
			rc = aeg_client_add_request(&b, &reqs[n]);
		} else {
			resps[n] = fx_resp(p, blob_max);
			rc = aeg_client_add_response(&b, &resps[n]);
		}
		if (rc == -EMSGSIZE)
			continue; /* too big for any datagram of this cap: not added */
		CHECK(p, rc == 0 || rc == -ENOSPC);
		if (rc == -ENOSPC)
			break;
		n++;
	}
	int len = aeg_client_builder_seal(&b, &fx_key);
	CHECK(p, len >= AEG_CLIENT_DGRAM_BYTES_MIN && (size_t)len <= cap);
	struct aeg_client_dgram d;
	enum aeg_client_drop why =
		aeg_client_parse(requests ? &fx_req_rx : &fx_resp_rx, pkt, (size_t)len, &d);
	CHECK(p, why == AEG_CLIENT_DROP_OK);
	CHECK(p, d.hdr.client_id == client && d.hdr.seq_floor == floor && d.hdr.count == n);
	struct aeg_client_iter it;
	aeg_client_iter_init(&it, &d);
	for (uint32_t i = 0; i < n; i++) {
		if (requests) {
			struct aeg_client_req q;
			CHECK(p, aeg_client_next_request(&it, &q) == 1);
			CHECK(p, fx_req_eq(&q, &reqs[i]));
			CHECK(p, q.key >= pkt && q.value + q.value_len <= pkt + len);
		} else {
			struct aeg_client_resp s;
			CHECK(p, aeg_client_next_response(&it, &s) == 1);
			CHECK(p, fx_resp_eq(&s, &resps[i]));
		}
	}
	struct aeg_client_req q;
	struct aeg_client_resp s;
	CHECK(p, (requests ? aeg_client_next_request(&it, &q)
			   : aeg_client_next_response(&it, &s)) == 0);
}

static void test_round_trips(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, SEED_DEFAULT);
	test_seed_print("client_proto round trips", p.seed);
	fx_blob_fill(&p);
	for (int i = 0; i < 400; i++)
		round_trip_once(&p, i % 2 == 0);
}

static void test_builder_refusals(void **state)
{
	(void)state;
	uint8_t pkt[AEG_CLIENT_DGRAM_BYTES_DEFAULT];
	struct aeg_client_builder b;
	assert_int_equal(aeg_client_builder_begin(&b, NULL, 100, AEG_CLIENT_KIND_REQUEST, 1, 0),
			 -EINVAL);
	assert_int_equal(aeg_client_builder_begin(&b, pkt, sizeof(pkt), 3, 1, 0), -EINVAL);
	assert_int_equal(aeg_client_builder_begin(&b, pkt, sizeof(pkt),
						  AEG_CLIENT_KIND_RESPONSE, 1, 9), -EINVAL);
	assert_int_equal(aeg_client_builder_begin(&b, pkt, AEG_CLIENT_DGRAM_BYTES_MIN - 1,
						  AEG_CLIENT_KIND_REQUEST, 1, 0), -EMSGSIZE);
	struct aeg_client_req q = {.seq = 1, .op = AEG_CLIENT_GET, .key = fx_blob, .key_len = 4};
	struct aeg_client_resp s = {.seq = 1};
	assert_int_equal(aeg_client_add_request(&b, &q), -EINVAL); /* not open */
	assert_int_equal(aeg_client_builder_seal(&b, &fx_key), -EINVAL);
	assert_int_equal(aeg_client_builder_begin(&b, pkt, sizeof(pkt), AEG_CLIENT_KIND_REQUEST,
						  1, 0), 0);
	assert_int_equal(aeg_client_add_response(&b, &s), -EINVAL); /* wrong kind */
	struct aeg_client_req bad = q;
	bad.op = 0;
	assert_int_equal(aeg_client_add_request(&b, &bad), -EINVAL);
	bad.op = AEG_CLIENT_OP_MAX + 1;
	assert_int_equal(aeg_client_add_request(&b, &bad), -EINVAL);
	bad = q;
	bad.consistency = AEG_CLIENT_CONSISTENCY_MAX + 1;
	assert_int_equal(aeg_client_add_request(&b, &bad), -EINVAL);
	bad = q; /* parts that cannot be: index past count, past total, empty */
	bad.value = fx_blob;
	bad.value_len = 10;
	bad.part = (struct aeg_client_part){.index = 2, .count = 2, .total = 20};
	assert_int_equal(aeg_client_add_request(&b, &bad), -EINVAL);
	bad.part = (struct aeg_client_part){.index = 1, .count = 2, .total = 20, .offset = 11};
	assert_int_equal(aeg_client_add_request(&b, &bad), -EINVAL);
	bad.part = (struct aeg_client_part){.index = 1, .count = 2,
					    .total = AEG_CLIENT_VALUE_BYTES_MAX + 1};
	assert_int_equal(aeg_client_add_request(&b, &bad), -EINVAL);
	bad.value_len = 0;
	bad.part = (struct aeg_client_part){.index = 0, .count = 2, .total = 20};
	assert_int_equal(aeg_client_add_request(&b, &bad), -EINVAL);
	/* Too big for any datagram of this cap, then -ENOSPC when full. */
	bad = q;
	bad.value = fx_blob;
	bad.value_len = sizeof(pkt);
	assert_int_equal(aeg_client_add_request(&b, &bad), -EMSGSIZE);
	bad.value_len = UINT32_MAX;
	assert_int_equal(aeg_client_add_request(&b, &bad), -EMSGSIZE);
	bad.key_len = UINT32_MAX;
	assert_int_equal(aeg_client_add_request(&b, &bad), -EMSGSIZE);
	size_t fit = (sizeof(pkt) - AEG_CLIENT_DGRAM_BYTES_MIN) / aeg_client_req_size(&q);
	for (size_t i = 0; i < fit; i++)
		assert_int_equal(aeg_client_add_request(&b, &q), 0);
	assert_int_equal(aeg_client_add_request(&b, &q), -ENOSPC);
	assert_int_equal(b.count, fit);
	int len = aeg_client_builder_seal(&b, &fx_key);
	assert_true(len > 0 && (size_t)len <= sizeof(pkt));
	assert_int_equal(aeg_client_builder_seal(&b, &fx_key), -EINVAL); /* sealed */
}

/* The item count limit: -ENOSPC at AEG_CLIENT_ITEMS_MAX even with room. */
static void test_builder_items_max(void **state)
{
	(void)state;
	static uint8_t pkt[AEG_CLIENT_DGRAM_BYTES_MAX];
	struct aeg_client_builder b;
	assert_int_equal(aeg_client_builder_begin(&b, pkt, sizeof(pkt), AEG_CLIENT_KIND_RESPONSE,
						  1, 0), 0);
	struct aeg_client_resp s = {.seq = 1};
	for (uint32_t i = 0; i < AEG_CLIENT_ITEMS_MAX; i++)
		assert_int_equal(aeg_client_add_response(&b, &s), 0);
	assert_true(b.cap - b.len > 1000);
	assert_int_equal(aeg_client_add_response(&b, &s), -ENOSPC);
	int len = aeg_client_builder_seal(&b, &fx_key);
	struct aeg_client_dgram d;
	assert_int_equal(aeg_client_parse(&fx_resp_rx, pkt, (size_t)len, &d), AEG_CLIENT_DROP_OK);
	struct aeg_client_rx small = fx_resp_rx;
	small.items_max = AEG_CLIENT_ITEMS_MAX - 1;
	assert_int_equal(aeg_client_parse(&small, pkt, (size_t)len, &d),
			 AEG_CLIENT_DROP_TOO_MANY_ITEMS);
}

/* A part of part_max bytes fits in an empty datagram whatever its part
 * fields and key, for every cap from the smallest up. */
static void test_part_max(void **state)
{
	(void)state;
	static uint8_t pkt[AEG_CLIENT_DGRAM_BYTES_MAX];
	struct aeg_client_part worst = {.index = AEG_CLIENT_VALUE_BYTES_MAX - 1,
		.count = AEG_CLIENT_VALUE_BYTES_MAX, .total = AEG_CLIENT_VALUE_BYTES_MAX};
	assert_int_equal(aeg_client_resp_part_max(AEG_CLIENT_DGRAM_BYTES_MIN), 0);
	for (size_t cap = AEG_CLIENT_DGRAM_BYTES_MIN; cap <= AEG_CLIENT_DGRAM_BYTES_MAX + 9;
	     cap += cap < 2000 ? 1 : 997) {
		for (size_t key_len = 0; key_len < 300; key_len += 127) {
			size_t m = aeg_client_req_part_max(cap, key_len);
			if (m == 0)
				continue;
			struct aeg_client_req q = {.seq = UINT64_MAX, .op = AEG_CLIENT_PUT,
				.key = fx_blob, .key_len = (uint32_t)key_len,
				.value = fx_blob, .value_len = (uint32_t)m, .part = worst};
			q.part.offset = worst.total - (uint32_t)m;
			struct aeg_client_builder b;
			assert_int_equal(aeg_client_builder_begin(&b, pkt, cap,
						AEG_CLIENT_KIND_REQUEST, 1, 0), 0);
			if (aeg_client_add_request(&b, &q) != 0)
				fail_msg("cap %zu key %zu part %zu does not fit", cap, key_len, m);
			/* Not wasteful: within the slack of the varint bounds. */
			assert_true(b.cap - b.len - AEG_CLIENT_TAG_BYTES <= 12);
		}
		size_t m = aeg_client_resp_part_max(cap);
		struct aeg_client_resp s = {.value = fx_blob, .value_len = (uint32_t)m,
					    .part = worst};
		s.part.offset = worst.total - (uint32_t)m;
		struct aeg_client_builder b;
		assert_int_equal(aeg_client_builder_begin(&b, pkt, cap, AEG_CLIENT_KIND_RESPONSE,
							  1, 0), 0);
		if (m > 0 && aeg_client_add_response(&b, &s) != 0)
			fail_msg("cap %zu response part %zu does not fit", cap, m);
	}
	assert_int_equal(aeg_client_req_part_max(AEG_CLIENT_DGRAM_BYTES_DEFAULT, UINT32_MAX), 0);
}

static void test_names(void **state)
{
	(void)state;
	const char *(*fns[])(int) = {aeg_client_status_name, aeg_client_drop_name,
				     aeg_client_op_name, aeg_client_consistency_name};
	int lo[] = {0, 0, AEG_CLIENT_GET, 0};
	int hi[] = {AEG_CLIENT_STATUS_NR, AEG_CLIENT_DROP_NR, AEG_CLIENT_OP_MAX + 1,
		    AEG_CLIENT_CONSISTENCY_MAX + 1};
	for (int f = 0; f < 4; f++) {
		for (int a = lo[f]; a < hi[f]; a++) {
			assert_string_not_equal(fns[f](a), "invalid");
			for (int b = lo[f]; b < a; b++)
				assert_string_not_equal(fns[f](a), fns[f](b));
		}
		assert_string_equal(fns[f](hi[f]), "invalid");
		assert_string_equal(fns[f](-1), "invalid");
	}
	assert_string_equal(aeg_client_op_name(0), "invalid");
	/* Stable: dashboards and scripts depend on them. */
	assert_string_equal(aeg_client_status_name(AEG_CLIENT_NOT_LEADER), "not_leader");
	assert_string_equal(aeg_client_status_name(AEG_CLIENT_STALE_EPOCH), "stale_epoch");
	assert_string_equal(aeg_client_drop_name(AEG_CLIENT_DROP_BAD_TAG), "bad_tag");
	assert_string_equal(aeg_client_consistency_name(AEG_CLIENT_QUORUM), "quorum");
}

static void test_req_check(void **state)
{
	(void)state;
	const uint8_t *k = (const uint8_t *)"k";
	struct aeg_client_req get = {.op = AEG_CLIENT_GET, .key = k, .key_len = 1};
	struct aeg_client_req put = {.op = AEG_CLIENT_PUT, .key = k, .key_len = 1,
				     .value = k, .value_len = 1};
	struct aeg_client_req cas = put;
	cas.op = AEG_CLIENT_CAS;
	cas.expect_version = 5;
	struct aeg_client_req map = {.op = AEG_CLIENT_MAP};
	struct aeg_client_req ping = {.op = AEG_CLIENT_PING};
	struct aeg_client_req del = {.op = AEG_CLIENT_DEL, .key = k, .key_len = 1};
	const struct aeg_client_req *good[] = {&get, &put, &cas, &map, &ping, &del};
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(aeg_client_req_check(good[i]), AEG_CLIENT_OK);
	struct aeg_client_req bad;
	bad = get, bad.key_len = 0;
	assert_int_equal(aeg_client_req_check(&bad), AEG_CLIENT_BAD_REQUEST);
	bad = get, bad.value_len = 1;
	assert_int_equal(aeg_client_req_check(&bad), AEG_CLIENT_BAD_REQUEST);
	bad = del, bad.expect_version = 1;
	assert_int_equal(aeg_client_req_check(&bad), AEG_CLIENT_BAD_REQUEST);
	bad = map, bad.key_len = 1;
	assert_int_equal(aeg_client_req_check(&bad), AEG_CLIENT_BAD_REQUEST);
	bad = ping, bad.part.count = 2;
	assert_int_equal(aeg_client_req_check(&bad), AEG_CLIENT_BAD_REQUEST);
	bad = put, bad.op = 0;
	assert_int_equal(aeg_client_req_check(&bad), AEG_CLIENT_BAD_REQUEST);
	bad = put, bad.consistency = 4;
	assert_int_equal(aeg_client_req_check(&bad), AEG_CLIENT_BAD_REQUEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_request),
		cmocka_unit_test(test_golden_response),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_builder_refusals),
		cmocka_unit_test(test_builder_items_max),
		cmocka_unit_test(test_part_max),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_req_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
