/* WAL recovery from real files: a torn tail is truncated and the log goes on;
 * damage in the middle, a damaged header in the live range, a segment of
 * another format version, a missing data dir and a size mismatch are refused. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "wal_itest_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* Buffered writes (no O_DIRECT) here: the fallback path gets the same tests. */
static struct aeg_wal_config cfg_for(const char *dir, struct itest_log *replay)
{
	return (struct aeg_wal_config){ .dir = dir, .buffered = true, .segment_bytes = 128 << 10, .segments_max = 16,
					.batch_bytes_max = 16 << 10, .batches_inflight_max = 2,
					.groups_max = ITEST_GROUPS_MAX, .replay = itest_replay,
					.replay_ctx = replay };
}

/* Writes entries 1..n of group 1 in batches of per_batch, each flushed. */
static void write_log(const struct aeg_wal_config *cfg, uint64_t n, uint64_t per_batch)
{
	struct aeg_wal *w;
	assert_int_equal(aeg_wal_open(&w, cfg), 0);
	for (uint64_t i = 1; i <= n; i++) {
		assert_int_equal(itest_append_one(w, 1, i, 1, 200), 1);
		if (i % per_batch == 0)
			assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	}
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	aeg_wal_close(w);
}

static void seg_path(char *buf, size_t cap, const char *dir, int slot)
{
	snprintf(buf, cap, "%s/seg-%06d.wal", dir, slot);
}

/* Slot of the segment with this sequence, and its header. */
static int slot_of_seq(const char *dir, uint64_t seq, struct aeg_wal_seg_hdr *h)
{
	for (int slot = 0; slot < 16; slot++) {
		char path[4096];
		uint8_t buf[AEG_WAL_SEG_HDR_BYTES];
		seg_path(path, sizeof(path), dir, slot);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			return -1;
		ssize_t n = pread(fd, buf, sizeof(buf), 0);
		close(fd);
		if (n == (ssize_t)sizeof(buf) && aeg_wal_seg_hdr_decode(h, buf, sizeof(buf)) > 0 && h->seq == seq)
			return slot;
	}
	return -1;
}

static void patch(const char *dir, int slot, uint64_t off, const void *bytes, size_t n)
{
	char path[4096];
	seg_path(path, sizeof(path), dir, slot);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
	assert_int_equal(fsync(fd), 0);
	close(fd);
}

static void flip_byte(const char *dir, int slot, uint64_t off)
{
	char path[4096];
	seg_path(path, sizeof(path), dir, slot);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x04;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

static void test_missing_dir(void **state)
{
	(void)state;
	struct itest_log replay = { .len_max = 200 };
	struct aeg_wal_config cfg = cfg_for("/var/tmp/aegis-wal-no-such-dir/x", &replay);
	struct aeg_wal *w = NULL;
	assert_int_equal(aeg_wal_open(&w, &cfg), -ENOENT);
	assert_null(w);
	cfg.dir = NULL;
	assert_int_equal(aeg_wal_open(&w, &cfg), -EINVAL);
}

static void test_one_writer_per_log(void **state)
{
	(void)state;
	char *dir = itest_tmpdir("/var/tmp");
	struct itest_log replay = { .len_max = 200 };
	struct aeg_wal_config cfg = cfg_for(dir, &replay);
	struct aeg_wal *w, *w2 = NULL;
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	assert_int_equal(aeg_wal_open(&w2, &cfg), -EBUSY);
	assert_null(w2);
	aeg_wal_close(w);
	assert_int_equal(aeg_wal_open(&w2, &cfg), 0);
	aeg_wal_close(w2);
	itest_rmtree(dir);
}

static void test_torn_tail_truncated(void **state)
{
	(void)state;
	char *dir = itest_tmpdir("/var/tmp");
	struct itest_log replay = { .len_max = 200 };
	struct aeg_wal_config cfg = cfg_for(dir, &replay);
	write_log(&cfg, 100, 10);
	struct aeg_wal_seg_hdr h;
	int slot = slot_of_seq(dir, 1, &h);
	assert_true(slot >= 0);
	/* Damage inside the last flushed batch: within the torn window. */
	struct aeg_wal *w;
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	aeg_wal_close(w);
	uint64_t last_full = replay.last[itest_gi(&replay, 1)];
	assert_int_equal(last_full, 100);
	/* Find where entry 95 sits by scanning the image. */
	char path[4096];
	seg_path(path, sizeof(path), dir, slot);
	int fd = open(path, O_RDONLY);
	uint8_t *img = malloc(cfg.segment_bytes);
	assert_int_equal(pread(fd, img, cfg.segment_bytes, 0), (ssize_t)cfg.segment_bytes);
	close(fd);
	struct aeg_wal_scan sc;
	assert_int_equal(aeg_wal_scan_segment(&sc, img, cfg.segment_bytes), 0);
	assert_int_equal(sc.status, AEG_WAL_SCAN_SEALED); /* sealed by the recovery above */
	size_t pos = AEG_WAL_SEG_HDR_BYTES, at = 0;
	struct aeg_wal_rec r;
	while (aeg_wal_next(&r, img, sc.valid_end, &pos, h.seq) == 1)
		if (r.type == AEG_WAL_ENTRY && r.index == 95)
			at = pos - aeg_wal_rec_size(r.len);
	free(img);
	assert_true(at != 0);
	flip_byte(dir, slot, at + 20);
	assert_int_equal(itest_reopen(&w, &cfg, &replay), 0);
	assert_int_equal(replay.last[itest_gi(&replay, 1)], 94);
	assert_int_equal(replay.bad + replay.out_of_order, 0);
	assert_int_equal(aeg_wal_last_index(w, 1), 94);
	assert_false(aeg_wal_get_stats(w)->direct); /* cfg.buffered */
	/* The log goes on from there, in a new segment. */
	assert_int_equal(itest_append_one(w, 1, 95, 2, 200), 1);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	aeg_wal_close(w);
	assert_int_equal(itest_reopen(&w, &cfg, &replay), 0);
	assert_int_equal(replay.last[itest_gi(&replay, 1)], 95);
	assert_int_equal(replay.bad + replay.out_of_order, 0);
	aeg_wal_close(w);
	itest_rmtree(dir);
}

static void test_mid_log_damage_refused(void **state)
{
	(void)state;
	char *dir = itest_tmpdir("/var/tmp");
	struct itest_log replay = { .len_max = 200 };
	struct aeg_wal_config cfg = cfg_for(dir, &replay);
	write_log(&cfg, 3000, 50); /* several segments */
	struct aeg_wal_seg_hdr h;
	int slot = slot_of_seq(dir, 2, &h);
	assert_true(slot >= 0);
	assert_true(slot_of_seq(dir, 3, &h) >= 0);
	flip_byte(dir, slot, 10000);
	struct aeg_wal *w = NULL;
	assert_int_equal(aeg_wal_open(&w, &cfg), -EBADMSG);
	assert_null(w);
	flip_byte(dir, slot, 10000); /* undo: opens again */
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	aeg_wal_close(w);
	/* A damaged header inside the live range is a hole: refused. */
	flip_byte(dir, slot, 20);
	assert_int_equal(aeg_wal_open(&w, &cfg), -EBADMSG);
	flip_byte(dir, slot, 20);
	/* So is a damaged header of the newest segment, whose records show it
	 * was written (a torn header write would have taken them along). */
	uint64_t newest = 1;
	while (slot_of_seq(dir, newest + 1, &h) >= 0)
		newest++;
	int last = slot_of_seq(dir, newest, &h);
	assert_true(last >= 0);
	flip_byte(dir, last, 20);
	assert_int_equal(aeg_wal_open(&w, &cfg), -EBADMSG);
	itest_rmtree(dir);
}

static void test_other_version_refused(void **state)
{
	(void)state;
	char *dir = itest_tmpdir("/var/tmp");
	struct itest_log replay = { .len_max = 200 };
	struct aeg_wal_config cfg = cfg_for(dir, &replay);
	write_log(&cfg, 10, 10);
	struct aeg_wal_seg_hdr h;
	int slot = slot_of_seq(dir, 1, &h);
	assert_true(slot >= 0);
	h.version = AEG_WAL_VERSION + 1;
	uint8_t buf[AEG_WAL_SEG_HDR_BYTES];
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	patch(dir, slot, 0, buf, sizeof(buf));
	struct aeg_wal *w = NULL;
	assert_int_equal(aeg_wal_open(&w, &cfg), -EPROTONOSUPPORT);
	/* Another segment size is refused too. */
	h.version = AEG_WAL_VERSION;
	assert_int_equal(aeg_wal_seg_hdr_encode(&h, buf, sizeof(buf)), AEG_WAL_SEG_HDR_BYTES);
	patch(dir, slot, 0, buf, sizeof(buf));
	cfg.segment_bytes *= 2;
	assert_int_equal(aeg_wal_open(&w, &cfg), -EINVAL);
	itest_rmtree(dir);
}

/* A write cut short (here by RLIMIT_FSIZE at a block boundary inside a
 * batch) is counted and resubmitted from where it stopped; the resubmission
 * meets the limit and fails with EFBIG, which stops the log. Every record
 * reported durable before is there after a restart. */
enum sync_mode { SYNC_FDATASYNC, SYNC_DSYNC, SYNC_NONE };

static void short_write_then_error(enum sync_mode mode)
{
	char *dir = itest_tmpdir("/var/tmp");
	struct itest_log replay = { .len_max = 200 };
	struct aeg_wal_config cfg = cfg_for(dir, &replay);
	cfg.batches_inflight_max = 1;
	cfg.dsync = mode == SYNC_DSYNC;
	cfg.no_sync = mode == SYNC_NONE;
	struct aeg_wal *w;
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 40960 + 4096; /* inside the first segment, block aligned */
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	uint64_t i = 1;
	int rc = 0;
	/* Batches of 50 entries (several blocks), so that one straddles the
	 * limit. Bounded: the limit is hit within the first 45 KiB of records. */
	for (; i < 100000 && rc >= 0; i++) {
		rc = itest_append_one(w, 1, i, 1, 200);
		if (rc == 1 && i % 50 == 0)
			rc = aeg_wal_flush(w, NULL, NULL);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	assert_int_equal(rc, -EFBIG);
	assert_int_equal(st->failed, -EFBIG);
	assert_int_equal(st->short_writes, 1);
	uint64_t durable = aeg_wal_durable_lsn(w);
	assert_true(durable > 1);
	aeg_wal_close(w);
	/* Batch k holds entries 50k-49..50k. */
	assert_int_equal(itest_reopen(&w, &cfg, &replay), 0);
	assert_true(replay.last[itest_gi(&replay, 1)] >= 50 * durable);
	assert_int_equal(replay.bad + replay.out_of_order, 0);
	aeg_wal_close(w);
	itest_rmtree(dir);
}

static void test_short_write_then_error(void **state)
{
	(void)state;
	short_write_then_error(SYNC_FDATASYNC);
}

/* The same with RWF_DSYNC writes: no linked fdatasync to cancel. */
static void test_short_write_then_error_dsync(void **state)
{
	(void)state;
	short_write_then_error(SYNC_DSYNC);
}

/* The same NOT DURABLE (wal.sync = false): plain writes, nothing synced,
 * the same resubmission and stop, and every record written is read back. */
static void test_short_write_then_error_no_sync(void **state)
{
	(void)state;
	short_write_then_error(SYNC_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_dir),
		cmocka_unit_test(test_one_writer_per_log),
		cmocka_unit_test(test_torn_tail_truncated),
		cmocka_unit_test(test_mid_log_damage_refused),
		cmocka_unit_test(test_other_version_refused),
		cmocka_unit_test(test_short_write_then_error),
		cmocka_unit_test(test_short_write_then_error_dsync),
		cmocka_unit_test(test_short_write_then_error_no_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
