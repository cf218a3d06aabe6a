/* Snapshot file format (lib/wal/snapshot.c): version 2 carries the Raft
 * config as of the snapshot's index; version 1 files still load (no conf);
 * every cut, extension and single bit flip is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/raft.h"
#include "aegis/wal.h"
#include "aegis/wal_snapshot.h"
#include "common/codec.h"

#include <errno.h>

static const uint8_t data[] = "state of the key-value shard at index 500";

/* A joint config with a learner: the case a wrong conf breaks. */
static struct aeg_wal_snap_meta sample_meta(void)
{
	struct aeg_raft_conf c = { .n = 4, .ids = { 1, 2, 3, 9 },
				   .roles = { AEG_RAFT_MEMBER_VOTER, AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT,
					      AEG_RAFT_MEMBER_VOTER_OUT, AEG_RAFT_MEMBER_LEARNER } };
	struct aeg_wal_snap_meta m = { .group = 12, .index = 500, .term = 7, .len = sizeof(data) };
	int n = aeg_raft_conf_encode(&c, m.conf, sizeof(m.conf));
	assert_true(n > 0);
	m.conf_len = (uint32_t)n;
	return m;
}

static size_t build(uint8_t *img, size_t cap, const struct aeg_wal_snap_meta *m)
{
	int n = aeg_wal_snap_hdr_encode(img, cap, m, data);
	assert_int_equal(n, (int)aeg_wal_snap_hdr_size(m));
	memcpy(img + n, data, m->len);
	return (size_t)n + m->len;
}

static void test_round_trip_with_conf(void **state)
{
	(void)state;
	struct aeg_wal_snap_meta m = sample_meta(), got;
	uint8_t img[1024];
	size_t len = build(img, sizeof(img), &m);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(aeg_wal_snap_decode(&got, img, len), 0);
	assert_int_equal(got.group, 12);
	assert_int_equal(got.index, 500);
	assert_int_equal(got.term, 7);
	assert_int_equal(got.len, sizeof(data));
	assert_int_equal(got.conf_len, m.conf_len);
	assert_memory_equal(got.conf, m.conf, m.conf_len);
	assert_memory_equal(img + aeg_wal_snap_hdr_size(&got), data, sizeof(data));
	struct aeg_raft_conf c;
	assert_int_equal(aeg_raft_conf_decode(&c, got.conf, got.conf_len), 0);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.ids[3], 9);
	assert_int_equal(c.roles[3], AEG_RAFT_MEMBER_LEARNER);
	/* No conf and no data are fine too. */
	struct aeg_wal_snap_meta empty = { .group = 1, .index = 1, .term = 1 };
	assert_int_equal(aeg_wal_snap_hdr_encode(img, sizeof(img), &empty, NULL), AEG_WAL_SNAP_HDR_BYTES);
	assert_int_equal(aeg_wal_snap_decode(&got, img, AEG_WAL_SNAP_HDR_BYTES), 0);
	assert_int_equal(got.conf_len, 0);
	assert_int_equal(got.len, 0);
}

static void test_encode_limits(void **state)
{
	(void)state;
	struct aeg_wal_snap_meta m = sample_meta();
	uint8_t img[AEG_WAL_SNAP_HDR_BYTES_MAX];
	assert_int_equal(aeg_wal_snap_hdr_encode(img, AEG_WAL_SNAP_HDR_BYTES - 1, &m, data), -EMSGSIZE);
	assert_int_equal(aeg_wal_snap_hdr_encode(img, aeg_wal_snap_hdr_size(&m) - 1, &m, data), -EMSGSIZE);
	assert_int_equal(aeg_wal_snap_hdr_encode(img, sizeof(img), &m, NULL), -EINVAL);
	m.conf_len = AEG_WAL_SNAP_CONF_MAX + 1;
	assert_int_equal(aeg_wal_snap_hdr_encode(img, sizeof(img), &m, data), -EINVAL);
	m.conf_len = AEG_WAL_SNAP_CONF_MAX;
	assert_int_equal(aeg_wal_snap_hdr_encode(img, sizeof(img), &m, data), (int)sizeof(img));
}

/* A version 1 file as the previous build wrote it: zero at byte 12, the
 * data right after the header, the crc over bytes 8..47 and the data. */
static size_t build_v1(uint8_t *img, uint32_t field12)
{
	struct aeg_writer w;
	aeg_writer_init(&w, img, AEG_WAL_SNAP_HDR_BYTES);
	aeg_put_u32(&w, AEG_WAL_SNAP_MAGIC);
	aeg_put_u32(&w, 0);
	aeg_put_u32(&w, 1);
	aeg_put_u32(&w, field12);
	aeg_put_u64(&w, 3);
	aeg_put_u64(&w, 40);
	aeg_put_u64(&w, 2);
	aeg_put_u64(&w, sizeof(data));
	assert_false(w.error);
	memcpy(img + AEG_WAL_SNAP_HDR_BYTES, data, sizeof(data));
	uint32_t crc = aeg_crc32c(aeg_crc32c(0, img + 8, AEG_WAL_SNAP_HDR_BYTES - 8), data, sizeof(data));
	aeg_writer_init(&w, img + 4, 4);
	aeg_put_u32(&w, crc);
	return AEG_WAL_SNAP_HDR_BYTES + sizeof(data);
}

static void test_version_1_loads_without_conf(void **state)
{
	(void)state;
	uint8_t img[256];
	struct aeg_wal_snap_meta got;
	size_t len = build_v1(img, 0);
	assert_int_equal(aeg_wal_snap_decode(&got, img, len), 0);
	assert_int_equal(got.conf_len, 0);
	assert_int_equal(got.index, 40);
	assert_int_equal(aeg_wal_snap_hdr_size(&got), AEG_WAL_SNAP_HDR_BYTES);
	assert_memory_equal(img + aeg_wal_snap_hdr_size(&got), data, sizeof(data));
	/* Version 1 never had a conf: a length there is not a version 1 file. */
	len = build_v1(img, 4);
	assert_int_equal(aeg_wal_snap_decode(&got, img, len), -EINVAL);
}

static void test_other_versions_refused(void **state)
{
	(void)state;
	struct aeg_wal_snap_meta m = sample_meta(), got;
	uint8_t img[1024];
	size_t len = build(img, sizeof(img), &m);
	for (uint32_t v = 0; v < 8; v++) {
		if (v == 1 || v == 2)
			continue;
		img[8] = (uint8_t)v;
		assert_int_equal(aeg_wal_snap_decode(&got, img, len), -EPROTONOSUPPORT);
	}
}

static void test_cuts_and_flips_refused(void **state)
{
	(void)state;
	struct aeg_wal_snap_meta m = sample_meta(), got;
	uint8_t img[1024];
	size_t len = build(img, sizeof(img), &m);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(aeg_wal_snap_decode(&got, img, cut), -EMSGSIZE);
	img[len] = 0;
	assert_int_equal(aeg_wal_snap_decode(&got, img, len + 1), -EMSGSIZE);
	for (size_t bit = 0; bit < len * 8; bit++) {
		img[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = aeg_wal_snap_decode(&got, img, len);
		img[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (rc == 0)
			fail_msg("bit %zu flipped and the snapshot still decodes", bit);
		/* Past the header fields only the crc can tell. */
		if (bit / 8 >= AEG_WAL_SNAP_HDR_BYTES || (bit / 8 >= 16 && bit / 8 < 40))
			assert_int_equal(rc, -EBADMSG);
	}
	assert_int_equal(aeg_wal_snap_decode(&got, img, len), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_with_conf),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_version_1_loads_without_conf),
		cmocka_unit_test(test_other_versions_refused),
		cmocka_unit_test(test_cuts_and_flips_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
