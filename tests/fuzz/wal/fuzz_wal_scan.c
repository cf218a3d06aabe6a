/* Fuzz the WAL recovery scanner and record decoder: never crash, never read
 * out of bounds, and every record of the valid prefix re-encodes to the
 * same bytes. */
#include "aegis/wal.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void scan_and_check(const uint8_t *data, size_t size)
{
	struct aeg_wal_scan s;
	if (aeg_wal_scan_segment(&s, data, size) != 0)
		abort();
	if (s.status != AEG_WAL_SCAN_BAD_HEADER) {
		assert(s.valid_end <= size && s.garbage_end <= size);
		size_t pos = AEG_WAL_SEG_HDR_BYTES;
		struct aeg_wal_rec r;
		uint8_t again[AEG_WAL_REC_HDR_BYTES + 512];
		uint64_t n = 0;
		int rc;
		while ((rc = aeg_wal_next(&r, data, s.valid_end, &pos, s.hdr.seq)) == 1) {
			n++;
			size_t size_rec = aeg_wal_rec_size(r.len);
			if (size_rec <= sizeof(again)) {
				int m = aeg_wal_rec_encode(again, sizeof(again), s.hdr.seq, &r);
				assert(m == (int)size_rec);
				assert(memcmp(again, data + pos - size_rec, size_rec) == 0);
			}
		}
		assert(rc == 0 && n == s.records);
	}
	/* The record decoder alone, at every 8-byte offset. */
	for (size_t off = 0; off + 8 <= size && off < 4096; off += 8) {
		struct aeg_wal_rec r;
		int rc = aeg_wal_rec_decode(&r, data + off, size - off, 1);
		assert(rc < 0 || (size_t)rc <= size - off);
	}
}

/* Checksums stop random bytes at the first record; so a second pass lays a
 * valid header in front and fixes the crc of each record-shaped chunk whose
 * first crc byte is even, letting the fuzzer reach the tail classifier. */
static void scan_with_fixed_crcs(const uint8_t *data, size_t size)
{
	static uint8_t img[AEG_WAL_SEG_HDR_BYTES + 8192];
	size_t len = AEG_WAL_SEG_HDR_BYTES + (size < 8192 ? size : 8192);
	memcpy(img + AEG_WAL_SEG_HDR_BYTES, data, len - AEG_WAL_SEG_HDR_BYTES);
	struct aeg_wal_seg_hdr h = { .version = AEG_WAL_VERSION, .seq = 1, .log_start_seq = 1,
				     .segment_bytes = 16384, .block_bytes = 512,
				     .torn_window_bytes = size > 0 ? (uint32_t)data[0] * 16u : 0 };
	if (aeg_wal_seg_hdr_encode(&h, img, sizeof(img)) != AEG_WAL_SEG_HDR_BYTES)
		abort();
	for (size_t pos = AEG_WAL_SEG_HDR_BYTES; pos + AEG_WAL_REC_HDR_BYTES <= len;) {
		uint8_t *p = img + pos;
		uint32_t plen = p[8];
		size_t rec = aeg_wal_rec_size(plen);
		if (rec > len - pos)
			break;
		if ((p[0] & 1) == 0) {
			p[9] = p[10] = p[11] = 0;
			p[12] = 1;
			p[13] = p[14] = p[15] = 0;
			uint32_t crc = aeg_crc32c(0, p + 4, rec - 4);
			for (int i = 0; i < 4; i++)
				p[i] = (uint8_t)(crc >> (8 * i));
		}
		pos += rec;
	}
	scan_and_check(img, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scan_and_check(data, size);
	scan_with_fixed_crcs(data, size);
	return 0;
}
