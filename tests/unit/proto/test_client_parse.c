/* Client protocol parser: every truncation and every bit flip refused
 * with the reason of the field hit, each malformed item under a good tag
 * refused under its own reason (non-minimal varints included), and the
 * header checks in their documented order. */
#include "proto_fixture.h"

static enum aeg_client_drop parse_req(const uint8_t *pkt, size_t len)
{
	struct aeg_client_dgram d;
	return aeg_client_parse(&fx_req_rx, pkt, len, &d);
}

/* Three requests, one of them a part, one response-sized datagram. */
static size_t sample(uint8_t *pkt, size_t cap)
{
	struct aeg_client_builder b;
	assert_int_equal(aeg_client_builder_begin(&b, pkt, cap, AEG_CLIENT_KIND_REQUEST,
						  0x0101010101010101ull, 0x0101), 0);
	const uint8_t *k = (const uint8_t *)"key-0001", *v = (const uint8_t *)"value bytes";
	struct aeg_client_req q[3] = {
		{.seq = 0x0101, .op = AEG_CLIENT_GET, .shard = 0x0101, .epoch = 0x0101,
		 .key = k, .key_len = 8},
		{.seq = 0x0102, .op = AEG_CLIENT_PUT, .consistency = AEG_CLIENT_ALL,
		 .shard = 1, .epoch = 1, .key = k, .key_len = 8, .value = v, .value_len = 11,
		 .part = {.index = 3, .count = 200, .total = 5000, .offset = 300}},
		{.seq = 0x0103, .op = AEG_CLIENT_CAS, .shard = 2, .epoch = 1,
		 .expect_version = 9, .key = k, .key_len = 3, .value = v, .value_len = 5},
	};
	for (int i = 0; i < 3; i++)
		assert_int_equal(aeg_client_add_request(&b, &q[i]), 0);
	int len = aeg_client_builder_seal(&b, &fx_key);
	assert_true(len > 0);
	assert_int_equal(parse_req(pkt, (size_t)len), AEG_CLIENT_DROP_OK);
	return (size_t)len;
}

static void test_every_truncation(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = sample(pkt, sizeof(pkt));
	for (size_t cut = 0; cut < len; cut++) {
		enum aeg_client_drop why = parse_req(pkt, cut);
		if (why != AEG_CLIENT_DROP_TRUNCATED)
			fail_msg("cut %zu of %zu: %s", cut, len, aeg_client_drop_name(why));
	}
	assert_int_equal(parse_req(NULL, 0), AEG_CLIENT_DROP_TRUNCATED);
	/* A longer packet than the header says is not a truncation. */
	uint8_t longer[513];
	memcpy(longer, pkt, len);
	longer[len] = 0;
	assert_int_equal(parse_req(longer, len + 1), AEG_CLIENT_DROP_BAD_LENGTH);
}

/* Every cut of the items under a correct header and tag: the walk must
 * find the missing bytes. Cuts at item boundaries with a matching count
 * are whole datagrams again. */
static void test_every_item_truncation(void **state)
{
	(void)state;
	uint8_t pkt[512], raw[512];
	size_t len = sample(pkt, sizeof(pkt));
	const uint8_t *body = pkt + AEG_CLIENT_HDR_BYTES;
	size_t body_len = len - AEG_CLIENT_DGRAM_BYTES_MIN;
	size_t bounds[4] = {0};
	struct aeg_client_dgram d;
	assert_int_equal(parse_req(pkt, len), AEG_CLIENT_DROP_OK);
	assert_int_equal(aeg_client_parse(&fx_req_rx, pkt, len, &d), AEG_CLIENT_DROP_OK);
	struct aeg_client_iter it;
	struct aeg_client_req q;
	aeg_client_iter_init(&it, &d);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(aeg_client_next_request(&it, &q), 1);
		bounds[i] = it.pos;
	}
	assert_int_equal(bounds[3], body_len);
	for (size_t cut = 0; cut < body_len; cut++) {
		size_t n = fx_raw(raw, AEG_CLIENT_KIND_REQUEST, 3, body, cut);
		enum aeg_client_drop why = parse_req(raw, n);
		if (why != AEG_CLIENT_DROP_TRUNCATED_ITEM && why != AEG_CLIENT_DROP_BAD_COUNT)
			fail_msg("body cut %zu of %zu: %s", cut, body_len,
				 aeg_client_drop_name(why));
	}
	for (uint16_t k = 0; k <= 3; k++) {
		size_t n = fx_raw(raw, AEG_CLIENT_KIND_REQUEST, k, body, bounds[k]);
		assert_int_equal(parse_req(raw, n), AEG_CLIENT_DROP_OK);
		/* One item fewer counted than present: bytes left over. */
		if (k < 3) {
			n = fx_raw(raw, AEG_CLIENT_KIND_REQUEST, k, body, bounds[k + 1]);
			assert_int_equal(parse_req(raw, n), AEG_CLIENT_DROP_BAD_COUNT);
		}
	}
}

/* The reason a flip in each header byte must give (OK: only "not OK"). */
static enum aeg_client_drop flip_reason(size_t byte)
{
	if (byte < 4)
		return AEG_CLIENT_DROP_BAD_MAGIC;
	if (byte == CLIENT_OFF_VERSION)
		return AEG_CLIENT_DROP_BAD_VERSION;
	if (byte == CLIENT_OFF_KIND)
		return AEG_CLIENT_DROP_BAD_KIND;
	if (byte == CLIENT_OFF_FLAGS)
		return AEG_CLIENT_DROP_BAD_FLAGS;
	if (byte >= CLIENT_OFF_CLIENT_ID && byte < CLIENT_OFF_COUNT)
		return AEG_CLIENT_DROP_BAD_TAG;
	if (byte >= AEG_CLIENT_HDR_BYTES)
		return AEG_CLIENT_DROP_BAD_TAG; /* items and tag */
	return AEG_CLIENT_DROP_OK;
}

static void test_every_bit_flip(void **state)
{
	(void)state;
	uint8_t pkt[512], bad[512];
	size_t len = sample(pkt, sizeof(pkt));
	for (size_t bit = 0; bit < len * 8; bit++) {
		memcpy(bad, pkt, len);
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		enum aeg_client_drop why = parse_req(bad, len);
		enum aeg_client_drop want = flip_reason(bit / 8);
		if (why == AEG_CLIENT_DROP_OK || (want != AEG_CLIENT_DROP_OK && why != want))
			fail_msg("bit %zu (byte %zu): %s, want %s", bit, bit / 8,
				 aeg_client_drop_name(why), aeg_client_drop_name(want));
	}
	/* Another key: the whole datagram is refused. */
	struct aeg_wire_key other = fx_key;
	other.bytes[15] ^= 0x80;
	struct aeg_client_rx rx = fx_req_rx;
	rx.key = &other;
	struct aeg_client_dgram d;
	assert_int_equal(aeg_client_parse(&rx, pkt, len, &d), AEG_CLIENT_DROP_BAD_TAG);
}

static void test_header_drops(void **state)
{
	(void)state;
	uint8_t pkt[512], bad[512];
	size_t len = sample(pkt, sizeof(pkt));
	struct aeg_client_dgram d;
	/* A cluster frame is not a client datagram. */
	memcpy(bad, pkt, len);
	memcpy(bad, &(uint32_t){AEG_WIRE_MAGIC}, 4);
	assert_int_equal(parse_req(bad, len), AEG_CLIENT_DROP_BAD_MAGIC);
	assert_int_equal(parse_req(bad, 4), AEG_CLIENT_DROP_BAD_MAGIC);
	/* A request sent to a client. */
	assert_int_equal(aeg_client_parse(&fx_resp_rx, pkt, len, &d), AEG_CLIENT_DROP_BAD_KIND);
	/* Over the largest UDP payload. */
	static uint8_t huge[AEG_CLIENT_DGRAM_BYTES_MAX + 1];
	memcpy(huge, pkt, len);
	assert_int_equal(parse_req(huge, sizeof(huge)), AEG_CLIENT_DROP_BAD_LENGTH);
	/* Counts impossible for the body, under a good tag. */
	uint8_t body[AEG_CLIENT_REQ_BYTES_MIN * 2] = {0};
	size_t n = fx_raw(bad, AEG_CLIENT_KIND_REQUEST, 3, body, sizeof(body));
	assert_int_equal(parse_req(bad, n), AEG_CLIENT_DROP_BAD_COUNT);
	n = fx_raw(bad, AEG_CLIENT_KIND_REQUEST, AEG_CLIENT_ITEMS_MAX + 1, body, sizeof(body));
	assert_int_equal(parse_req(bad, n), AEG_CLIENT_DROP_TOO_MANY_ITEMS);
	/* A response with a seq_floor has two encodings of one meaning. */
	n = fx_raw(bad, AEG_CLIENT_KIND_RESPONSE, 0, body, 0);
	assert_int_equal(aeg_client_parse(&fx_resp_rx, bad, n, &d), AEG_CLIENT_DROP_OK);
	bad[CLIENT_OFF_SEQ_FLOOR] = 1;
	fx_retag(bad, n);
	assert_int_equal(aeg_client_parse(&fx_resp_rx, bad, n, &d), AEG_CLIENT_DROP_BAD_FLAGS);
	/* Version 2 is refused before anything else is read. */
	memcpy(bad, pkt, len);
	bad[CLIENT_OFF_VERSION] = 2;
	assert_int_equal(parse_req(bad, 5), AEG_CLIENT_DROP_BAD_VERSION);
}

/* One valid GET item to mutate: key "ab", no value. */
static size_t get_item(uint8_t *it)
{
	memset(it, 0, AEG_CLIENT_REQ_BYTES_MIN + 2);
	it[0] = 1;                 /* seq */
	it[8] = AEG_CLIENT_GET;    /* op */
	it[31] = 2;                /* key_len at 8+3+4+8+8 */
	it[32] = 'a';
	it[33] = 'b';
	it[34] = 0;                /* value_len */
	return 35;
}

static enum aeg_client_drop parse_item(const uint8_t *item, size_t n, uint8_t kind)
{
	static uint8_t pkt[1024];
	size_t len = fx_raw(pkt, kind, 1, item, n);
	struct aeg_client_dgram d;
	return aeg_client_parse(kind == AEG_CLIENT_KIND_REQUEST ? &fx_req_rx : &fx_resp_rx, pkt,
				len, &d);
}

static void test_bad_request_items(void **state)
{
	(void)state;
	uint8_t it[128];
	size_t n = get_item(it);
	assert_int_equal(parse_item(it, n, AEG_CLIENT_KIND_REQUEST), AEG_CLIENT_DROP_OK);
	uint8_t mutate[][2] = {{8, 0}, {8, AEG_CLIENT_OP_MAX + 1}, {9, 4}, {10, 0x02}, {10, 0x80}};
	for (size_t i = 0; i < sizeof(mutate) / sizeof(mutate[0]); i++) {
		get_item(it);
		it[mutate[i][0]] = mutate[i][1];
		assert_int_equal(parse_item(it, n, AEG_CLIENT_KIND_REQUEST),
				 AEG_CLIENT_DROP_BAD_ITEM);
	}
	/* Non-minimal key length: 2 as 0x82 0x00, 0 as 0x80 0x00. */
	uint8_t nm[] = {[0] = 1, [8] = AEG_CLIENT_GET, [31] = 0x82, [32] = 0x00, [33] = 'a',
			[34] = 'b', [35] = 0};
	assert_int_equal(parse_item(nm, sizeof(nm), AEG_CLIENT_KIND_REQUEST),
			 AEG_CLIENT_DROP_BAD_ITEM);
	uint8_t nz[] = {[0] = 1, [8] = AEG_CLIENT_PING, [31] = 0x80, [32] = 0x00, [33] = 0};
	assert_int_equal(parse_item(nz, sizeof(nz), AEG_CLIENT_KIND_REQUEST),
			 AEG_CLIENT_DROP_BAD_ITEM);
	/* A key length over 32 bits, and one running past the body. */
	uint8_t big[] = {[0] = 1, [8] = AEG_CLIENT_PING, [31] = 0xff, 0xff, 0xff, 0xff, 0x7f, 0};
	assert_int_equal(parse_item(big, sizeof(big), AEG_CLIENT_KIND_REQUEST),
			 AEG_CLIENT_DROP_BAD_ITEM);
	get_item(it);
	it[31] = 3;
	assert_int_equal(parse_item(it, n, AEG_CLIENT_KIND_REQUEST),
			 AEG_CLIENT_DROP_TRUNCATED_ITEM);
	get_item(it);
	it[34] = 0x80; /* value length varint cut by the end of the body */
	assert_int_equal(parse_item(it, n, AEG_CLIENT_KIND_REQUEST),
			 AEG_CLIENT_DROP_TRUNCATED_ITEM);
}

/* A PUT of value "xyz" with part fields p[4] encoded as single bytes. */
static enum aeg_client_drop parse_part(const uint8_t *part, size_t part_len)
{
	uint8_t it[64];
	size_t n = get_item(it);
	it[8] = AEG_CLIENT_PUT;
	it[10] = AEG_CLIENT_ITEM_PART;
	it[34] = 3;
	memcpy(it + 35, "xyz", 3);
	memcpy(it + 38, part, part_len);
	n = 38 + part_len;
	return parse_item(it, n, AEG_CLIENT_KIND_REQUEST);
}

static void test_bad_parts(void **state)
{
	(void)state;
	/* index count total offset */
	assert_int_equal(parse_part((uint8_t[]){1, 2, 10, 7}, 4), AEG_CLIENT_DROP_OK);
	assert_int_equal(parse_part((uint8_t[]){0, 1, 3, 0}, 4), AEG_CLIENT_DROP_BAD_ITEM);
	assert_int_equal(parse_part((uint8_t[]){0, 0, 3, 0}, 4), AEG_CLIENT_DROP_BAD_ITEM);
	assert_int_equal(parse_part((uint8_t[]){2, 2, 10, 0}, 4), AEG_CLIENT_DROP_BAD_ITEM);
	assert_int_equal(parse_part((uint8_t[]){1, 2, 10, 8}, 4), AEG_CLIENT_DROP_BAD_ITEM);
	assert_int_equal(parse_part((uint8_t[]){1, 20, 10, 0}, 4), AEG_CLIENT_DROP_BAD_ITEM);
	assert_int_equal(parse_part((uint8_t[]){1, 2, 0x82, 0x00, 0}, 5),
			 AEG_CLIENT_DROP_BAD_ITEM);
	/* Total over the protocol limit: 2^26 + 1 as a varint. */
	assert_int_equal(parse_part((uint8_t[]){1, 2, 0x81, 0x80, 0x80, 0x20, 0}, 7),
			 AEG_CLIENT_DROP_BAD_ITEM);
	assert_int_equal(parse_part((uint8_t[]){1, 2, 10}, 3), AEG_CLIENT_DROP_TRUNCATED_ITEM);
	assert_int_equal(parse_part((uint8_t[]){1, 2, 0x8a}, 3),
			 AEG_CLIENT_DROP_TRUNCATED_ITEM);
}

static void test_bad_response_items(void **state)
{
	(void)state;
	uint8_t it[AEG_CLIENT_RESP_BYTES_MIN] = {[0] = 1};
	assert_int_equal(parse_item(it, sizeof(it), AEG_CLIENT_KIND_RESPONSE), AEG_CLIENT_DROP_OK);
	it[8] = AEG_CLIENT_STATUS_NR;
	assert_int_equal(parse_item(it, sizeof(it), AEG_CLIENT_KIND_RESPONSE),
			 AEG_CLIENT_DROP_BAD_ITEM);
	it[8] = AEG_CLIENT_OK;
	it[9] = 0x04;
	assert_int_equal(parse_item(it, sizeof(it), AEG_CLIENT_KIND_RESPONSE),
			 AEG_CLIENT_DROP_BAD_ITEM);
	it[9] = 0;
	it[22] = 0x81; /* value_len runs off */
	assert_int_equal(parse_item(it, sizeof(it), AEG_CLIENT_KIND_RESPONSE),
			 AEG_CLIENT_DROP_TRUNCATED_ITEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_every_item_truncation),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_header_drops),
		cmocka_unit_test(test_bad_request_items),
		cmocka_unit_test(test_bad_parts),
		cmocka_unit_test(test_bad_response_items),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
