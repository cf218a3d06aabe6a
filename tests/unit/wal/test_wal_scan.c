/* Recovery scanner: clean logs, a log cut at every byte of its last records,
 * every single bit flip, mid-log damage with its offset, recycled segments. */
#include "wal_test_util.h"

#include <errno.h>

#define SEG_BYTES 8192

static void scan_ok(struct aeg_wal_scan *s, const uint8_t *buf, size_t len)
{
	assert_int_equal(aeg_wal_scan_segment(s, buf, len), 0);
}

/* The valid prefix yields exactly the first n built records. */
static void assert_prefix(const struct seg_image *img, const struct aeg_wal_scan *s, int n)
{
	size_t pos = AEG_WAL_SEG_HDR_BYTES;
	struct aeg_wal_rec r;
	for (int i = 0; i < n; i++) {
		assert_int_equal(aeg_wal_next(&r, img->buf, s->valid_end, &pos, img->seq), 1);
		assert_rec_equal(&img->rec[i], &r);
	}
	assert_int_equal(aeg_wal_next(&r, img->buf, s->valid_end, &pos, img->seq), 0);
	assert_int_equal(s->records, (uint64_t)n);
}

static void test_scan_clean(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	struct seg_image img;
	seg_build(&img, SEG_BYTES, 5, 40, 0, &rng);
	struct aeg_wal_scan s;
	scan_ok(&s, img.buf, img.cap);
	assert_int_equal(s.status, AEG_WAL_SCAN_CLEAN);
	assert_int_equal(s.valid_end, img.end);
	assert_int_equal(s.hdr.seq, 5);
	assert_prefix(&img, &s, img.n);
	/* A buffer that ends exactly at the last record is clean too. */
	scan_ok(&s, img.buf, img.end);
	assert_int_equal(s.status, AEG_WAL_SCAN_CLEAN);
	assert_int_equal(s.records, (uint64_t)img.n);
	seg_free(&img);
}

/* Records of img that survive unchanged in the first len bytes of copy (a
 * cut inside the zero padding of a record leaves it whole). */
static int intact_records(const struct seg_image *img, const uint8_t *copy, size_t len)
{
	int n = 0;
	while (n < img->n) {
		size_t end = img->off[n] + aeg_wal_rec_size(img->rec[n].len);
		if (end > len || memcmp(copy + img->off[n], img->buf + img->off[n], end - img->off[n]) != 0)
			break;
		n++;
	}
	return n;
}

/* A crash while writing the last records leaves any prefix of them: the scan
 * keeps the whole records before the cut and calls the rest torn or clean. */
static void test_scan_cut_everywhere(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	struct seg_image img;
	seg_build(&img, SEG_BYTES, 9, 40, SEG_BYTES, &rng);
	uint8_t *copy = malloc(img.cap);
	assert_non_null(copy);
	for (size_t cut = img.off[img.n - 4]; cut <= img.end; cut++) {
		/* As a short buffer and as a zero-filled full segment. */
		memset(copy, 0, img.cap);
		memcpy(copy, img.buf, cut);
		struct aeg_wal_scan s;
		for (int form = 0; form < 2; form++) {
			size_t len = form == 0 ? cut : img.cap;
			int whole = intact_records(&img, copy, len);
			scan_ok(&s, copy, len);
			assert_true(s.status == AEG_WAL_SCAN_CLEAN || s.status == AEG_WAL_SCAN_TORN);
			assert_int_equal(s.valid_end, whole == 0 ? AEG_WAL_SEG_HDR_BYTES
								 : img.off[whole - 1] + aeg_wal_rec_size(img.rec[whole - 1].len));
			if (cut > s.valid_end && form == 0)
				assert_int_equal(s.status, AEG_WAL_SCAN_TORN);
			assert_prefix(&img, &s, whole);
		}
	}
	free(copy);
	seg_free(&img);
}

/* Any single bit flip in the header or a record is detected: the damaged
 * record and everything after it are never part of the valid prefix. With a
 * zero torn window, damage before the last record is refused with its offset. */
static void test_scan_bit_flips(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	struct seg_image img;
	seg_build(&img, 4096, 11, 24, 0, &rng);
	struct aeg_wal_scan s;
	int rec = -1;
	for (size_t bit = 0; bit < 8 * img.end; bit++) {
		size_t byte = bit / 8;
		while (rec + 1 < img.n && img.off[rec + 1] <= byte)
			rec++;
		img.buf[byte] ^= (uint8_t)(1u << (bit % 8));
		scan_ok(&s, img.buf, img.cap);
		img.buf[byte] ^= (uint8_t)(1u << (bit % 8));
		if (byte < AEG_WAL_SEG_HDR_BYTES) {
			assert_int_equal(s.status, AEG_WAL_SCAN_BAD_HEADER);
			assert_true(s.hdr_error == -EINVAL || s.hdr_error == -EBADMSG);
			continue;
		}
		if (s.valid_end != img.off[rec])
			fail_msg("bit %zu (record %d): valid_end %zu, want %zu", bit, rec, s.valid_end,
				 img.off[rec]);
		assert_int_equal(s.damage_off, img.off[rec]);
		assert_int_equal(s.status, rec == img.n - 1 ? AEG_WAL_SCAN_TORN : AEG_WAL_SCAN_DAMAGED);
	}
	seg_free(&img);
}

/* Damage is a torn write only within the torn window of the valid records
 * that follow it. */
static void test_scan_torn_window(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	struct seg_image img;
	seg_build(&img, SEG_BYTES, 4, 30, 0, &rng);
	int k = 20;
	size_t hole = img.off[k];
	size_t span = img.end - hole;
	memset(img.buf + hole, 0, aeg_wal_rec_size(img.rec[k].len)); /* a block never written */
	struct aeg_wal_seg_hdr h;
	assert_int_equal(aeg_wal_seg_hdr_decode(&h, img.buf, img.cap), AEG_WAL_SEG_HDR_BYTES);
	struct aeg_wal_scan s;
	for (uint32_t window = 0; window <= span + 64; window += 8) {
		h.torn_window_bytes = window;
		assert_int_equal(aeg_wal_seg_hdr_encode(&h, img.buf, img.cap), AEG_WAL_SEG_HDR_BYTES);
		scan_ok(&s, img.buf, img.cap);
		assert_int_equal(s.valid_end, hole);
		assert_int_equal(s.damage_off, hole);
		assert_int_equal(s.garbage_end, img.end);
		assert_int_equal(s.status, window >= span ? AEG_WAL_SCAN_TORN : AEG_WAL_SCAN_DAMAGED);
		assert_prefix(&img, &s, k);
	}
	seg_free(&img);
}

/* A recycled segment still holds records of its previous life: they have
 * valid checksums but the old sequence and must end the log, not extend it. */
static void test_scan_recycled(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	struct seg_image old, cur;
	seg_build(&old, SEG_BYTES, 1, 40, 0, &rng);
	seg_build(&cur, SEG_BYTES, 2, 10, SEG_BYTES, &rng);
	/* Lay the new segment over the old one. */
	memcpy(old.buf, cur.buf, cur.end);
	struct aeg_wal_scan s;
	scan_ok(&s, old.buf, old.cap);
	assert_int_equal(s.valid_end, cur.end);
	assert_true(s.status == AEG_WAL_SCAN_CLEAN || s.status == AEG_WAL_SCAN_TORN);
	assert_prefix(&cur, &s, cur.n);
	/* Ending on an old record boundary gives a clean end. */
	struct aeg_wal_scan s2;
	size_t b = 0;
	for (int i = 0; i < old.n; i++)
		if (old.off[i] >= cur.end) {
			b = old.off[i];
			break;
		}
	assert_true(b != 0);
	size_t gap = b - cur.end;
	if (gap < AEG_WAL_REC_HDR_BYTES)
		gap = 0; /* cur ends right on an old record boundary already */
	if (gap != 0) {
		assert_int_equal(aeg_wal_pad_encode(old.buf + cur.end, gap, 2), (int)gap);
		scan_ok(&s2, old.buf, old.cap);
		assert_int_equal(s2.status, AEG_WAL_SCAN_CLEAN);
		assert_int_equal(s2.valid_end, b);
		assert_int_equal(s2.records, (uint64_t)cur.n + 1);
	} else if (b == cur.end) {
		scan_ok(&s2, old.buf, old.cap);
		assert_int_equal(s2.status, AEG_WAL_SCAN_CLEAN);
	}
	seg_free(&old);
	seg_free(&cur);
}

static void test_scan_sealed_and_header(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	struct seg_image img;
	seg_build(&img, SEG_BYTES, 6, 10, 0, &rng);
	struct aeg_wal_rec seal = { .type = AEG_WAL_SEAL, .index = 7 };
	int n = aeg_wal_rec_encode(img.buf + img.end, img.cap - img.end, 6, &seal);
	assert_true(n > 0);
	memset(img.buf + img.end + n, 0xab, 100); /* garbage after the seal is ignored */
	struct aeg_wal_scan s;
	scan_ok(&s, img.buf, img.cap);
	assert_int_equal(s.status, AEG_WAL_SCAN_SEALED);
	assert_int_equal(s.valid_end, img.end + (size_t)n);
	assert_int_equal(s.records, (uint64_t)img.n + 1);

	struct aeg_wal_seg_hdr h;
	assert_int_equal(aeg_wal_seg_hdr_decode(&h, img.buf, img.cap), AEG_WAL_SEG_HDR_BYTES);
	/* Every version this build reads scans; the next one and 0 do not. */
	for (uint32_t v = AEG_WAL_VERSION_MIN; v <= AEG_WAL_VERSION; v++) {
		h.version = v;
		assert_int_equal(aeg_wal_seg_hdr_encode(&h, img.buf, img.cap), AEG_WAL_SEG_HDR_BYTES);
		scan_ok(&s, img.buf, img.cap);
		assert_int_equal(s.status, AEG_WAL_SCAN_SEALED);
	}
	uint32_t bad[] = { 0, AEG_WAL_VERSION + 1 };
	for (size_t i = 0; i < 2; i++) {
		h.version = bad[i];
		assert_int_equal(aeg_wal_seg_hdr_encode(&h, img.buf, img.cap), AEG_WAL_SEG_HDR_BYTES);
		scan_ok(&s, img.buf, img.cap);
		assert_int_equal(s.status, AEG_WAL_SCAN_BAD_HEADER);
		assert_int_equal(s.hdr_error, -EPROTONOSUPPORT);
	}
	scan_ok(&s, img.buf, 10);
	assert_int_equal(s.status, AEG_WAL_SCAN_BAD_HEADER);
	assert_int_equal(aeg_wal_scan_segment(NULL, img.buf, 10), -EINVAL);
	assert_string_equal(aeg_wal_scan_status_name(AEG_WAL_SCAN_DAMAGED), "damaged");
	seg_free(&img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_clean),
		cmocka_unit_test(test_scan_cut_everywhere),
		cmocka_unit_test(test_scan_bit_flips),
		cmocka_unit_test(test_scan_torn_window),
		cmocka_unit_test(test_scan_recycled),
		cmocka_unit_test(test_scan_sealed_and_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
