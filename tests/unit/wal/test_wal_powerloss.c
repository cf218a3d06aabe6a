/* Power loss at block granularity, against the scanner: a segment image laid
 * out like the writer does (batches of whole 4 KiB blocks, PAD at the end of
 * each), the last batches in flight when the power goes. Each block of an
 * in-flight batch independently either reached the disk or still holds its
 * old content (zeroes of a fresh segment, or records of the segment's
 * previous life). Recovery must never refuse such a log and must keep every
 * record of the batches before them (the ones that were acknowledged). */
#include "wal_test_util.h"

#include <errno.h>

#define BLOCK 4096u
#define SEG (256u * 1024u)
#define BATCH_BLOCKS_MAX 4u
#define INFLIGHT 2u
#define ROUNDS 3000

struct layout {
	size_t batch_end[64]; /* end offset of each batch */
	uint64_t batch_records[64]; /* records (PAD included) up to its end */
	int batches;
};

/* Fills img with batches of records for segment seq, like the writer. */
static void build(uint8_t *img, uint64_t seq, struct layout *lay, uint64_t *rng)
{
	struct aeg_wal_seg_hdr h = { .version = AEG_WAL_VERSION, .seq = seq, .log_start_seq = 1,
				     .segment_bytes = SEG, .block_bytes = BLOCK,
				     .torn_window_bytes = INFLIGHT * BATCH_BLOCKS_MAX * BLOCK };
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, img, SEG), AEG_WAL_SEG_HDR_BYTES);
	size_t pos = AEG_WAL_SEG_HDR_BYTES;
	uint64_t records = 0;
	uint8_t payload[600];
	lay->batches = 0;
	while (lay->batches < 64) {
		size_t start = pos - pos % BLOCK;
		size_t limit = start + (1 + splitmix64(rng) % BATCH_BLOCKS_MAX) * BLOCK - 2 * AEG_WAL_REC_HDR_BYTES;
		if (start + BATCH_BLOCKS_MAX * BLOCK + BLOCK > SEG)
			break;
		/* Records until the batch is full (room left for a PAD). */
		for (;;) {
			struct aeg_wal_rec r = { .type = AEG_WAL_ENTRY, .group = 1, .term = 1, .index = records + 1,
						 .len = (uint32_t)(splitmix64(rng) % sizeof(payload)), .payload = payload };
			if (pos + aeg_wal_rec_size(r.len) > limit)
				break;
			int n = aeg_wal_rec_encode(img + pos, SEG - pos, seq, &r);
			assert_true(n > 0);
			pos += (size_t)n;
			records++;
		}
		size_t end = (pos + BLOCK - 1) / BLOCK * BLOCK;
		size_t gap = end - pos;
		if (gap != 0 && gap < AEG_WAL_REC_HDR_BYTES)
			gap += BLOCK, end += BLOCK;
		if (gap != 0) {
			assert_int_equal(aeg_wal_pad_encode(img + pos, gap, seq), (int)gap);
			records++;
		}
		pos = end;
		lay->batch_end[lay->batches] = end;
		lay->batch_records[lay->batches] = records;
		lay->batches++;
	}
}

static void test_power_loss_never_refused(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	uint8_t *old = malloc(SEG), *cur = malloc(SEG), *img = malloc(SEG);
	assert_true(old != NULL && cur != NULL && img != NULL);
	for (int round = 0; round < ROUNDS; round++) {
		struct layout lay, old_lay;
		memset(old, 0, SEG);
		bool recycled = splitmix64(&rng) % 2 == 0;
		if (recycled)
			build(old, 7, &old_lay, &rng); /* the segment's previous life */
		memset(cur, 0, SEG);
		build(cur, 8, &lay, &rng);
		/* Acknowledged: batches [0, k). In flight: k .. k+INFLIGHT-1. */
		int k = (int)(splitmix64(&rng) % (uint64_t)(lay.batches - 1));
		size_t acked_end = k == 0 ? 0 : lay.batch_end[k - 1];
		size_t flight_end = lay.batch_end[k + (int)INFLIGHT - 1 < lay.batches ? k + (int)INFLIGHT - 1
										  : lay.batches - 1];
		memcpy(img, old, SEG);
		memcpy(img, cur, acked_end > 0 ? acked_end : BLOCK); /* header block is written with batch 0 */
		if (acked_end == 0 && splitmix64(&rng) % 2 == 0)
			memcpy(img, old, BLOCK); /* even the header block may be lost */
		for (size_t b = acked_end; b < flight_end; b += BLOCK)
			if (splitmix64(&rng) % 2 == 0)
				memcpy(img + b, cur + b, BLOCK);
		struct aeg_wal_scan sc;
		assert_int_equal(aeg_wal_scan_segment(&sc, img, SEG), 0);
		if (sc.status == AEG_WAL_SCAN_BAD_HEADER) {
			/* Only when not even batch 0 was acknowledged. */
			if (k != 0)
				fail_msg("round %d: header lost with %d batches acknowledged", round, k);
			continue;
		}
		if (sc.hdr.seq != 8) {
			assert_true(recycled && k == 0); /* the old header survived: old segment */
			continue;
		}
		if (sc.status == AEG_WAL_SCAN_DAMAGED || sc.status == AEG_WAL_SCAN_SEALED)
			fail_msg("round %d: %s at %zu (acked end %zu, in flight to %zu)", round,
				 aeg_wal_scan_status_name(sc.status), sc.damage_off, acked_end, flight_end);
		if (sc.valid_end < acked_end)
			fail_msg("round %d: valid prefix %zu ends before acknowledged %zu", round, sc.valid_end,
				 acked_end);
		if (k > 0)
			assert_true(sc.records >= lay.batch_records[k - 1]);
	}
	free(old);
	free(cur);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_power_loss_never_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
