/* libFuzzer target for the client request decoder (the node's side of
 * aegis/client_proto.h). Each input is parsed three ways under a fixed key:
 * as it is; with the tag check skipped (the test-only entry), so random
 * bytes reach the item walk; and with magic, version, kind, flags and body
 * length fixed up and a correct tag, so the authenticated path is
 * exercised too. The fixed-up input is also tried as a response datagram.
 * Nothing may crash or read out of bounds; an accepted datagram must
 * iterate cleanly with views inside the packet, pass the meaning check
 * without crashing, and re-encode to the same bytes (decode -> encode is
 * the identity: one encoding per datagram). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/client_proto.h"
#include "proto/client_proto_internal.h"

static const struct aeg_wire_key fuzz_key = {
	.bytes = {0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
		  0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0},
};

typedef enum aeg_client_drop (*parse_fn)(const struct aeg_client_rx *, const uint8_t *, size_t,
					 struct aeg_client_dgram *);

static void check_view(const uint8_t *p, uint32_t n, const uint8_t *pkt, size_t len)
{
	if (n != 0 && (p < pkt || p + n > pkt + len))
		abort();
}

/* Rebuilds an accepted datagram from its parsed view and compares all
 * bytes, or all but the tag when the tag was not checked. */
static void check_reencode(const struct aeg_client_dgram *d, const uint8_t *pkt, size_t len,
			   bool tag_checked)
{
	static uint8_t out[AEG_CLIENT_DGRAM_BYTES_MAX];
	struct aeg_client_builder b;
	bool req = d->hdr.kind == AEG_CLIENT_KIND_REQUEST;
	if (aeg_client_builder_begin(&b, out, len, d->hdr.kind, d->hdr.client_id,
				     d->hdr.seq_floor) != 0)
		abort();
	struct aeg_client_iter it;
	aeg_client_iter_init(&it, d);
	uint32_t n = 0;
	int rc;
	for (;;) {
		struct aeg_client_req q;
		struct aeg_client_resp s;
		rc = req ? aeg_client_next_request(&it, &q) : aeg_client_next_response(&it, &s);
		if (rc != 1)
			break;
		if (req) {
			check_view(q.key, q.key_len, pkt, len);
			check_view(q.value, q.value_len, pkt, len);
			enum aeg_client_status st = aeg_client_req_check(&q);
			if (st != AEG_CLIENT_OK && st != AEG_CLIENT_BAD_REQUEST)
				abort();
			if (aeg_client_req_size(&q) > len || aeg_client_add_request(&b, &q) != 0)
				abort();
		} else {
			check_view(s.value, s.value_len, pkt, len);
			if (aeg_client_add_response(&b, &s) != 0)
				abort();
		}
		n++;
	}
	if (rc != 0 || n != d->hdr.count)
		abort();
	int out_len = aeg_client_builder_seal(&b, &fuzz_key);
	if (out_len < 0 || (size_t)out_len != len)
		abort();
	if (memcmp(out, pkt, tag_checked ? len : len - AEG_CLIENT_TAG_BYTES) != 0)
		abort();
}

static void parse_one(parse_fn parse, uint8_t kind, const uint8_t *pkt, size_t len,
		      bool tag_checked)
{
	struct aeg_client_rx rx = {.key = &fuzz_key, .kind = kind, .items_max = 0};
	struct aeg_client_dgram d;
	enum aeg_client_drop why = parse(&rx, pkt, len, &d);
	if ((unsigned)why >= AEG_CLIENT_DROP_NR)
		abort();
	if (why == AEG_CLIENT_DROP_OK)
		check_reencode(&d, pkt, len, tag_checked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_one(aeg_client_parse, AEG_CLIENT_KIND_REQUEST, data, size, true);
	parse_one(client_parse_untagged_for_test, AEG_CLIENT_KIND_REQUEST, data, size, false);

	if (size < AEG_CLIENT_DGRAM_BYTES_MIN || size > AEG_CLIENT_DGRAM_BYTES_MAX)
		return 0;
	/* An exact-size heap copy, so that ASan sees any read past the end. */
	uint8_t *pkt = malloc(size);
	if (pkt == NULL)
		return 0;
	for (uint8_t kind = AEG_CLIENT_KIND_REQUEST; kind <= AEG_CLIENT_KIND_RESPONSE; kind++) {
		memcpy(pkt, data, size);
		memcpy(pkt, "AEGC", 4);
		pkt[CLIENT_OFF_VERSION] = AEG_CLIENT_VERSION;
		pkt[CLIENT_OFF_KIND] = kind;
		pkt[CLIENT_OFF_FLAGS] = 0;
		if (kind == AEG_CLIENT_KIND_RESPONSE)
			memset(pkt + CLIENT_OFF_SEQ_FLOOR, 0, 8);
		size_t body_len = size - AEG_CLIENT_DGRAM_BYTES_MIN;
		pkt[CLIENT_OFF_BODY_LEN] = (uint8_t)body_len;
		pkt[CLIENT_OFF_BODY_LEN + 1] = (uint8_t)(body_len >> 8);
		aeg_wire_tag(&fuzz_key, pkt, size - AEG_CLIENT_TAG_BYTES,
			     pkt + size - AEG_CLIENT_TAG_BYTES);
		parse_one(aeg_client_parse, kind, pkt, size, true);
	}
	free(pkt);
	return 0;
}
