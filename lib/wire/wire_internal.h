/* Internals of lib/wire shared by its files and by its tests: header field
 * offsets, the header codec, the SipHash core, the GMAC check, and the
 * test-only parse entry that skips the tag. Not installed. */
#ifndef AEGIS_WIRE_INTERNAL_H
#define AEGIS_WIRE_INTERNAL_H

#include "aegis/wire.h"
#include "common/codec.h"

/* Byte offsets in the header (see aegis/wire.h for the layout). */
#define WIRE_OFF_VERSION 4
#define WIRE_OFF_FLAGS 5
#define WIRE_OFF_KEY_ID 6
#define WIRE_OFF_RESERVED 7
#define WIRE_OFF_CLUSTER 8
#define WIRE_OFF_SRC_NODE 12
#define WIRE_OFF_DST_NODE 16
#define WIRE_OFF_SEQ 20
#define WIRE_OFF_SRC_WORKER 28
#define WIRE_OFF_DST_WORKER 30
#define WIRE_OFF_BATCH_LEN 32
#define WIRE_OFF_MSG_COUNT 36

_Static_assert(WIRE_OFF_MSG_COUNT + 4 == AEG_WIRE_HDR_BYTES, "header layout");
_Static_assert(AEG_WIRE_IV_OFFSET == WIRE_OFF_SEQ &&
	       AEG_WIRE_IV_OFFSET + AEG_WIRE_IV_BYTES == WIRE_OFF_BATCH_LEN,
	       "the IV is seq, src_worker, dst_worker");

void wire_hdr_encode(struct aeg_writer *w, const struct aeg_wire_hdr *h);
void wire_hdr_decode(struct aeg_reader *r, struct aeg_wire_hdr *h);

/* SipHash-2-4 with the 128-bit output (Aumasson and Bernstein); out is
 * the two 64-bit halves little-endian, as in the reference vectors.h. */
void wire_siphash24_128(const uint8_t key[16], const void *data, size_t len,
			uint8_t out[16]);

/* True if mac is the key of frames from src_node to dst_node in cluster. */
bool wire_mac_is_for(const struct aeg_wire_mac *mac, uint32_t cluster, uint32_t src_node,
		     uint32_t dst_node);
/* True if tag is the GMAC of frame[0, signed_len) with the frame's IV;
 * compares in constant time. */
bool wire_mac_verify(const struct aeg_wire_mac *mac, const uint8_t *frame, size_t signed_len,
		     const uint8_t tag[AEG_WIRE_TAG_BYTES]);

/* TEST ONLY (unit tests and the fuzzer): aeg_wire_parse without the key
 * and tag checks, so that random inputs reach the message walk. Never
 * call it on traffic. */
enum aeg_wire_drop wire_parse_untagged_for_test(const struct aeg_wire_rx *rx,
						const uint8_t *pkt, size_t len,
						struct aeg_wire_frame *out);

#endif
