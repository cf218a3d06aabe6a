/* libFuzzer target for lib/frag's decoders and the state behind them. The
 * input is a list of records  op u8 | stream u8 | len u8 | len bytes:
 *   op & 3 == 0: a FRAG body to the receiving endpoint (header fields as
 *                given: forged totals, offsets, indexes, ids, base deltas)
 *   op & 3 == 1: an ACK body to the sending endpoint, which has messages
 *                in flight on both streams (forged cums, sack bits, ids)
 *   op & 3 == 2: the clock moves on by len x 37 us and both endpoints poll
 *   op & 3 == 3: the sender queues a new message of len x 97 bytes
 * Decoded bodies must re-encode to the same bytes; a delivered message
 * must be inside the configured bound; nothing may crash, assert or
 * touch memory out of bounds (ASan). Small slots (4 KiB, 100-byte
 * fragments) so that inputs reach the edges. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/frag.h"

static uint8_t sink[2048];

static uint8_t *reserve(void *arg, uint32_t stream, uint8_t type, uint32_t group, uint32_t len)
{
	(void)arg, (void)stream, (void)type, (void)group;
	return len <= sizeof(sink) ? sink : NULL;
}

static void check_codecs(const uint8_t *b, size_t n)
{
	struct aeg_frag_hdr h;
	uint8_t out[AEG_FRAG_ACK_BYTES > AEG_FRAG_HDR_BYTES ? AEG_FRAG_ACK_BYTES : AEG_FRAG_HDR_BYTES];
	if (aeg_frag_hdr_decode(&h, b, n) == 0) {
		assert(h.len == n - AEG_FRAG_HDR_BYTES && h.offset + h.len <= h.total);
		aeg_frag_hdr_encode(&h, out);
		assert(memcmp(out, b, AEG_FRAG_HDR_BYTES) == 0);
	}
	struct aeg_frag_ack a;
	if (aeg_frag_ack_decode(&a, b, n) == 0) {
		aeg_frag_ack_encode(&a, out);
		assert(memcmp(out, b, AEG_FRAG_ACK_BYTES) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aeg_frag_config c = { .streams = 2, .msg_bytes_max = 4096, .frag_bytes = 100,
				     .window_frags = 16, .msg_id_first = 1 };
	struct aeg_frag *rx, *tx;
	if (aeg_frag_init(&rx, &c) != 0)
		abort();
	if (aeg_frag_init(&tx, &c) != 0)
		abort();
	static uint8_t msg[4096];
	uint64_t now = 1000000000ull;
	const struct aeg_frag_out out = { .reserve = reserve };
	for (uint32_t s = 0; s < 2; s++)
		(void)aeg_frag_send(tx, s, 1, 2, msg, 1000 + s * 2000, now);
	(void)aeg_frag_poll(tx, now, &out);
	size_t pos = 0;
	while (pos + 3 <= size) {
		uint8_t op = data[pos], stream = data[pos + 1] & 1, len = data[pos + 2];
		pos += 3;
		if ((op & 3) < 2 && len > size - pos)
			break;
		const uint8_t *b = data + pos;
		struct aeg_frag_msg m;
		switch (op & 3) {
		case 0:
			check_codecs(b, len);
			if (aeg_frag_rx(rx, stream, AEG_FRAG_TYPE_DATA, op >> 2, b, len, now, &m) == 1)
				assert(m.len >= 1 && m.len <= c.msg_bytes_max && m.group == (uint32_t)(op >> 2));
			pos += len;
			break;
		case 1:
			check_codecs(b, len);
			(void)aeg_frag_rx(tx, stream, AEG_FRAG_TYPE_ACK, 0, b, len, now, &m);
			pos += len;
			break;
		case 2:
			now += (uint64_t)len * 37000;
			(void)aeg_frag_poll(rx, now, &out);
			(void)aeg_frag_poll(tx, now, &out);
			break;
		default:
			(void)aeg_frag_send(tx, stream, 1, 2, msg, 1 + (uint32_t)len * 97 % 4096, now);
			break;
		}
	}
	aeg_frag_fini(rx);
	aeg_frag_fini(tx);
	return 0;
}
