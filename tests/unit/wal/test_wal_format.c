/* WAL format: CRC32C vectors, segment header and record round trips,
 * rejection of every kind of bad input. */
#include "wal_test_util.h"
#include "wal/crc32c_table.h"

#include <errno.h>

static void test_crc32c_vectors(void **state)
{
	(void)state;
	/* RFC 3720 appendix B.4 and the usual check value. */
	assert_int_equal(aeg_crc32c(0, "123456789", 9), 0xe3069283u);
	uint8_t zeros[32] = { 0 }, ones[32], inc[32];
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	assert_int_equal(aeg_crc32c(0, zeros, 32), 0x8a9136aau);
	assert_int_equal(aeg_crc32c(0, ones, 32), 0x62a8ab43u);
	assert_int_equal(aeg_crc32c(0, inc, 32), 0x46dd794eu);
	assert_int_equal(aeg_crc32c(0, NULL, 0), 0);
}

static void test_crc32c_incremental(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)splitmix64(&rng);
	uint32_t whole = aeg_crc32c(0, buf, sizeof(buf));
	/* Every split point and every alignment of the slicing loop. */
	for (size_t cut = 0; cut <= sizeof(buf); cut++)
		assert_int_equal(aeg_crc32c(aeg_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
}

/* The dispatched CRC (SSE4.2 where present) equals the software one at every
 * length and alignment. */
static void test_crc32c_hw_equals_sw(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	uint8_t buf[600];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)splitmix64(&rng);
	assert_int_equal(aeg_crc32c_sw(0, "123456789", 9), 0xe3069283u);
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 1 + len / 16) {
			uint32_t seed = (uint32_t)splitmix64(&rng);
			assert_int_equal(aeg_crc32c(seed, buf + off, len), aeg_crc32c_sw(seed, buf + off, len));
		}
}

static struct aeg_wal_seg_hdr sample_hdr(void)
{
	return (struct aeg_wal_seg_hdr){ .version = AEG_WAL_VERSION, .worker_id = 7, .seq = 42,
					 .log_start_seq = 40, .segment_bytes = 1 << 20,
					 .block_bytes = 4096, .torn_window_bytes = 65536 };
}

static void test_seg_hdr_round_trip(void **state)
{
	(void)state;
	struct aeg_wal_seg_hdr h = sample_hdr(), d;
	uint8_t buf[AEG_WAL_SEG_HDR_BYTES];
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	assert_int_equal(aeg_wal_seg_hdr_decode(&d, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	assert_memory_equal(&h, &d, sizeof(h));
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf) - 1), -EMSGSIZE);
	assert_int_equal(aeg_wal_seg_hdr_decode(&d, buf, sizeof(buf) - 1), -EMSGSIZE);
	h.seq = 0;
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
}

static void test_seg_hdr_rejects(void **state)
{
	(void)state;
	struct aeg_wal_seg_hdr h = sample_hdr(), d;
	uint8_t buf[AEG_WAL_SEG_HDR_BYTES], bad[AEG_WAL_SEG_HDR_BYTES];
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	for (size_t bit = 0; bit < 8 * sizeof(buf); bit++) {
		memcpy(bad, buf, sizeof(buf));
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = aeg_wal_seg_hdr_decode(&d, bad, sizeof(bad));
		assert_true(rc == -EINVAL || rc == -EBADMSG);
	}
	h.version = AEG_WAL_VERSION + 1;
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	assert_int_equal(aeg_wal_seg_hdr_decode(&d, buf, sizeof(buf)), -EPROTONOSUPPORT);
	/* Version 1 logs (before REMOVE records) are still read. */
	h.version = AEG_WAL_VERSION_MIN;
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	assert_int_equal(aeg_wal_seg_hdr_decode(&d, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	assert_int_equal(d.version, 1);
	h = sample_hdr();
	h.block_bytes = 3000; /* not a power of two */
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	assert_int_equal(aeg_wal_seg_hdr_decode(&d, buf, sizeof(buf)), -EINVAL);
}

static void test_rec_round_trip(void **state)
{
	(void)state;
	uint64_t rng = test_seed(__func__);
	uint8_t payload[300], buf[400];
	for (int iter = 0; iter < 2000; iter++) {
		struct aeg_wal_rec r = { .type = (uint32_t)(splitmix64(&rng) % AEG_WAL_TYPE_MAX) + 1,
					 .group = splitmix64(&rng), .term = splitmix64(&rng),
					 .index = splitmix64(&rng),
					 .len = (uint32_t)(splitmix64(&rng) % sizeof(payload)),
					 .payload = payload };
		if (r.type == AEG_WAL_ENTRY)
			r.entry_type = (uint32_t)splitmix64(&rng) & AEG_WAL_ENTRY_TYPE_MAX;
		for (uint32_t k = 0; k < r.len; k++)
			payload[k] = (uint8_t)splitmix64(&rng);
		uint64_t seq = splitmix64(&rng) | 1;
		int n = aeg_wal_rec_encode(buf, sizeof(buf), seq, &r);
		assert_int_equal(n, (int)aeg_wal_rec_size(r.len));
		assert_int_equal(n % AEG_WAL_ALIGN, 0);
		struct aeg_wal_rec d;
		assert_int_equal(aeg_wal_rec_decode(&d, buf, (size_t)n, seq), n);
		assert_rec_equal(&r, &d);
		/* Too short a buffer, other segment, one byte cut. */
		assert_int_equal(aeg_wal_rec_encode(buf, (size_t)n - 1, seq, &r), -EMSGSIZE);
		assert_int_equal(aeg_wal_rec_decode(&d, buf, (size_t)n, seq + 1), -ESTALE);
		assert_int_equal(aeg_wal_rec_decode(&d, buf, (size_t)n - 1, seq), -EMSGSIZE);
	}
}

static void test_rec_rejects(void **state)
{
	(void)state;
	uint8_t buf[128] = { 0 };
	struct aeg_wal_rec r = { .type = 0 }, d;
	assert_int_equal(aeg_wal_rec_encode(buf, sizeof(buf), 1, &r), -EINVAL);
	r.type = AEG_WAL_TYPE_MAX + 1;
	assert_int_equal(aeg_wal_rec_encode(buf, sizeof(buf), 1, &r), -EINVAL);
	r.type = AEG_WAL_ENTRY;
	r.len = AEG_WAL_PAYLOAD_MAX + 1;
	assert_int_equal(aeg_wal_rec_encode(buf, sizeof(buf), 1, &r), -EINVAL);
	r.len = 0;
	r.entry_type = AEG_WAL_ENTRY_TYPE_MAX + 1;
	assert_int_equal(aeg_wal_rec_encode(buf, sizeof(buf), 1, &r), -EINVAL);
	r.type = AEG_WAL_TRUNCATE; /* only entries carry an entry type */
	r.entry_type = 1;
	assert_int_equal(aeg_wal_rec_encode(buf, sizeof(buf), 1, &r), -EINVAL);
	/* Zeroes are not a record. */
	assert_int_equal(aeg_wal_rec_decode(&d, buf, sizeof(buf), 1), -EINVAL);
	/* Every single bit flip of a record is caught. */
	uint8_t pay[13] = "hello, world";
	r = (struct aeg_wal_rec){ .type = AEG_WAL_ENTRY, .group = 9, .term = 2, .index = 77,
				  .len = sizeof(pay), .payload = pay };
	int n = aeg_wal_rec_encode(buf, sizeof(buf), 5, &r);
	assert_true(n > 0);
	for (int bit = 0; bit < 8 * n; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(aeg_wal_rec_decode(&d, buf, (size_t)n, 5) < 0);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(aeg_wal_rec_decode(&d, buf, (size_t)n, 5), n);
	/* Non-zero padding with a matching crc is still refused (one encoding). */
	buf[AEG_WAL_REC_HDR_BYTES + sizeof(pay)] = 1;
	uint32_t crc = aeg_crc32c(0, buf + 4, (size_t)n - 4);
	for (int i = 0; i < 4; i++)
		buf[i] = (uint8_t)(crc >> (8 * i));
	assert_int_equal(aeg_wal_rec_decode(&d, buf, (size_t)n, 5), -EINVAL);
}

static void test_pad_and_hard_state(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct aeg_wal_rec d;
	assert_int_equal(aeg_wal_pad_encode(buf, 32, 1), -EINVAL);
	assert_int_equal(aeg_wal_pad_encode(buf, 44, 1), -EINVAL);
	for (size_t gap = AEG_WAL_REC_HDR_BYTES; gap <= sizeof(buf); gap += 8) {
		assert_int_equal(aeg_wal_pad_encode(buf, gap, 3), (int)gap);
		assert_int_equal(aeg_wal_rec_decode(&d, buf, gap, 3), (int)gap);
		assert_int_equal(d.type, AEG_WAL_PAD);
	}
	uint8_t hs[AEG_WAL_HARD_STATE_BYTES];
	assert_int_equal(aeg_wal_hard_state_encode(hs, 3, 99), AEG_WAL_HARD_STATE_BYTES);
	struct aeg_wal_rec r = { .type = AEG_WAL_HARD_STATE, .group = 1, .term = 8,
				 .len = sizeof(hs), .payload = hs };
	assert_true(aeg_wal_rec_encode(buf, sizeof(buf), 1, &r) > 0);
	assert_true(aeg_wal_rec_decode(&d, buf, sizeof(buf), 1) > 0);
	uint64_t vote = 0, commit = 0;
	assert_int_equal(aeg_wal_hard_state_decode(&d, &vote, &commit), 0);
	assert_int_equal(vote, 3);
	assert_int_equal(commit, 99);
	d.type = AEG_WAL_ENTRY;
	assert_int_equal(aeg_wal_hard_state_decode(&d, &vote, &commit), -EINVAL);
	assert_string_equal(aeg_wal_type_name(AEG_WAL_SEAL), "seal");
	assert_string_equal(aeg_wal_type_name(AEG_WAL_REMOVE), "remove");
	assert_string_equal(aeg_wal_type_name(99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_crc32c_incremental),
		cmocka_unit_test(test_crc32c_hw_equals_sw),
		cmocka_unit_test(test_seg_hdr_round_trip),
		cmocka_unit_test(test_seg_hdr_rejects),
		cmocka_unit_test(test_rec_round_trip),
		cmocka_unit_test(test_rec_rejects),
		cmocka_unit_test(test_pad_and_hard_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
