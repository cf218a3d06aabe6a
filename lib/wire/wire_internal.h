/* Internals of lib/wire shared by its files and by its tests: header field
 * offsets, the header and message codecs, the SipHash core, and the
 * test-only parse entry that skips the tag. Not installed. */
#ifndef AEGIS_WIRE_INTERNAL_H
#define AEGIS_WIRE_INTERNAL_H

#include "aegis/wire.h"
#include "common/codec.h"

/* Byte offsets in the header (see aegis/wire.h for the layout). */
#define WIRE_OFF_VERSION 4
#define WIRE_OFF_BATCH_LEN 34
#define WIRE_OFF_MSG_COUNT 38

void wire_hdr_encode(struct aeg_writer *w, const struct aeg_wire_hdr *h);
void wire_hdr_decode(struct aeg_reader *r, struct aeg_wire_hdr *h);

/* Bytes a message header takes (type, group, body length). */
size_t wire_msg_hdr_bytes(uint32_t group, size_t body_len);
/* Decodes one message at r; on failure says why (TRUNCATED_MSG if the
 * batch ends inside it, BAD_MSG for a malformed header). */
enum aeg_wire_drop wire_msg_decode(struct aeg_reader *r, struct aeg_wire_msg *m);
/* Walks a whole batch: exactly count well-formed messages, no bytes left. */
enum aeg_wire_drop wire_batch_check(const uint8_t *batch, uint32_t len, uint32_t count);

/* SipHash-2-4 with the 128-bit output (Aumasson and Bernstein); out is
 * the two 64-bit halves little-endian, as in the reference vectors.h. */
void wire_siphash24_128(const uint8_t key[16], const void *data, size_t len,
			uint8_t out[16]);

/* TEST ONLY (unit tests and the fuzzer): aeg_wire_parse without the tag
 * check, so that random inputs reach the message walk. Never call it on
 * traffic. */
enum aeg_wire_drop wire_parse_untagged_for_test(const struct aeg_wire_rx *rx,
						const uint8_t *pkt, size_t len,
						struct aeg_wire_frame *out);

#endif
