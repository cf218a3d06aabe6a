/* WAL writer with many groups, through the recovery stager: 10,000 groups on
 * one worker (rotation over several segments, everything recovered), an idle
 * group that no longer pins the disk (checkpoints carry its hard state; the
 * pinning report names it so that it is snapshotted), a full log that comes
 * back after compaction, group removal. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "wal_itest_util.h"
#include "aegis/wal_recovery.h"

#define LEN_MAX 120u

static const char *test_base(void)
{
	const char *b = getenv("AEGIS_TEST_DIR");
	return b != NULL ? b : "/var/tmp";
}

static int stage(void *ctx, const struct aeg_wal_rec *r)
{
	return aeg_wal_recovery_add(ctx, r);
}

/* Opens the log with the stager as the replay callback and finishes it. */
static struct aeg_wal_recovery *open_staged(struct aeg_wal **w, struct aeg_wal_config *cfg)
{
	struct aeg_wal_recovery *rec;
	assert_int_equal(aeg_wal_recovery_new(&rec), 0);
	cfg->replay = stage;
	cfg->replay_ctx = rec;
	int rc = aeg_wal_open(w, cfg);
	if (rc != 0)
		fail_msg("open: %d; stager: %s", rc, aeg_wal_recovery_error(rec, NULL, NULL));
	rc = aeg_wal_recovery_finish(rec);
	if (rc != 0)
		fail_msg("stager: %s", aeg_wal_recovery_error(rec, NULL, NULL));
	return rec;
}

/* Entries (from, to] of group are in the stager with their payloads. */
static void expect_entries(const struct aeg_wal_recovery *rec, uint64_t group, uint64_t from, uint64_t to,
			   uint64_t term)
{
	for (uint64_t i = from + 1; i <= to; i++) {
		struct aeg_wal_entry_view e;
		uint8_t want[LEN_MAX];
		assert_int_equal(aeg_wal_recovery_entry(rec, group, i, &e), 0);
		uint32_t len = itest_payload(want, LEN_MAX, group, i, term);
		assert_int_equal(e.term, term);
		assert_int_equal(e.len, len);
		assert_memory_equal(e.data, want, len);
	}
}

/* Appends one entry, waiting for a batch buffer when all are busy. */
static void append(struct aeg_wal *w, uint64_t group, uint64_t index, uint64_t term)
{
	int rc;
	/* Bounded: a wait completes a batch, which frees a buffer. */
	for (int tries = 0; (rc = itest_append_one(w, group, index, term, LEN_MAX)) == -EAGAIN && tries < 100; tries++) {
		assert_true(aeg_wal_submit(w) >= 0);
		assert_true(aeg_wal_wait(w, NULL, NULL) >= 0);
	}
	assert_int_equal(rc, 1);
}

static void set_hs(struct aeg_wal *w, uint64_t group, uint64_t term, uint64_t vote, uint64_t commit)
{
	int rc;
	for (int tries = 0; (rc = aeg_wal_set_hard_state(w, group, term, vote, commit, NULL)) == -EAGAIN && tries < 100;
	     tries++) {
		assert_true(aeg_wal_submit(w) >= 0);
		assert_true(aeg_wal_wait(w, NULL, NULL) >= 0);
	}
	assert_int_equal(rc, 0);
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { MANY = 10000, ROUNDS = 6, PER_ROUND = 3 };

static void test_ten_thousand_groups(void **state)
{
	(void)state;
	char *dir = itest_tmpdir(test_base());
	assert_non_null(dir);
	struct aeg_wal_config cfg = { .dir = dir, .segment_bytes = 4 << 20, .segments_max = 24,
				      .batch_bytes_max = 256 << 10, .batches_inflight_max = 2, .groups_max = MANY };
	struct aeg_wal *w;
	struct aeg_wal_recovery *rec = open_staged(&w, &cfg);
	assert_int_equal(aeg_wal_recovery_group_count(rec), 0);
	aeg_wal_recovery_free(rec);
	double cpu0 = cpu_seconds();
	for (uint64_t round = 1; round <= ROUNDS; round++) {
		for (uint64_t g = 1; g <= MANY; g++) {
			set_hs(w, g, round, g % 3, (round - 1) * PER_ROUND);
			for (uint64_t k = 1; k <= PER_ROUND; k++)
				append(w, g, (round - 1) * PER_ROUND + k, round);
			if (g % 64 == 0) {
				assert_true(aeg_wal_submit(w) >= 0);
				assert_true(aeg_wal_poll(w, NULL, NULL) >= 0);
			}
		}
	}
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	double cpu = cpu_seconds() - cpu0;
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	print_message("10,000 groups: %llu records in %llu batches (%.0f per batch), %.1f us CPU per batch "
		      "(append + submit + reap), %llu segments, %llu checkpoint records\n",
		      (unsigned long long)st->records, (unsigned long long)st->batches,
		      (double)st->records / (double)st->batches, cpu * 1e6 / (double)st->batches,
		      (unsigned long long)st->segments_created, (unsigned long long)st->checkpoint_records);
	assert_true(st->segments_created >= 5);
	assert_int_equal(st->failed, 0);
	assert_int_equal(aeg_wal_group_count(w), MANY);
	aeg_wal_close(w);

	rec = open_staged(&w, &cfg);
	assert_int_equal(aeg_wal_recovery_group_count(rec), MANY);
	for (size_t i = 0; i < MANY; i++) {
		struct aeg_wal_group_state gs;
		assert_int_equal(aeg_wal_recovery_group_at(rec, i, &gs), 0);
		assert_int_equal(gs.group, i + 1);
		assert_true(gs.has_hard_state);
		assert_int_equal(gs.term, ROUNDS);
		assert_int_equal(gs.vote, gs.group % 3);
		assert_int_equal(gs.commit, (ROUNDS - 1) * PER_ROUND);
		assert_int_equal(gs.last_index, ROUNDS * PER_ROUND);
		for (uint64_t r = 1; r <= ROUNDS; r++)
			expect_entries(rec, gs.group, (r - 1) * PER_ROUND, r * PER_ROUND, r);
	}
	aeg_wal_recovery_free(rec);
	/* The log goes on after the reopen. */
	append(w, 77, ROUNDS * PER_ROUND + 1, ROUNDS + 1);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	aeg_wal_close(w);
	itest_rmtree(dir);
}

/* A small log: 8 segments of 256 KiB. */
static struct aeg_wal_config small_config(const char *dir)
{
	return (struct aeg_wal_config){ .dir = dir, .segment_bytes = 256 << 10, .segments_max = 8,
					.batch_bytes_max = 32 << 10, .batches_inflight_max = 1, .groups_max = 8 };
}

static void snapshot(struct aeg_wal *w, uint64_t group, uint64_t index, uint64_t term)
{
	uint8_t data[32];
	memset(data, (int)group, sizeof(data));
	struct aeg_wal_snap_meta m = { .group = group, .index = index, .term = term, .len = sizeof(data),
				       .conf_len = 3, .conf = { 1, 1, 1 } };
	int rc;
	/* -EAGAIN: the file is there, the marker waits for a batch buffer. */
	for (int tries = 0; (rc = aeg_wal_snapshot_save(w, &m, data)) == -EAGAIN && tries < 100; tries++)
		assert_true(aeg_wal_wait(w, NULL, NULL) >= 0);
	assert_int_equal(rc, 0);
	assert_true(aeg_wal_compact(w, group, index) >= 0);
}

struct busy {
	uint64_t next;		/* group 1's next index */
	uint64_t snap;		/* group 1's snapshot */
	int reports_idle;	/* pinning reports naming group 7 */
	int reports_other;	/* naming groups that never had entries (8) */
};

/* Group 1 writes bytes worth of entries, snapshotting every 256. With
 * act_on_reports the node snapshots the groups the log names; returns 0 or
 * the first append error (-ENOSPC when the log is full). */
static int run_busy(struct aeg_wal *w, struct busy *b, uint64_t bytes, bool act_on_reports)
{
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	uint64_t until = st->bytes_written + bytes;
	/* Bounded by bytes: every round appends or returns. */
	while (st->bytes_written < until) {
		int rc = itest_append_one(w, 1, b->next, 2, LEN_MAX);
		if (rc == -EAGAIN) {
			assert_true(aeg_wal_wait(w, NULL, NULL) >= 0);
			continue;
		}
		if (rc < 0)
			return rc;
		b->next++;
		assert_true(aeg_wal_submit(w) >= 0);
		assert_true(aeg_wal_poll(w, NULL, NULL) >= 0);
		if (b->next % 256 == 0) {
			b->snap = b->next - 1;
			snapshot(w, 1, b->snap, 2);
		}
		uint64_t pinning[8];
		int n = aeg_wal_pinning_groups(w, pinning, 8);
		for (int i = 0; i < n && i < 8; i++) {
			b->reports_idle += pinning[i] == 7;
			b->reports_other += pinning[i] == 8;
			if (act_on_reports && pinning[i] != 1)
				snapshot(w, pinning[i], aeg_wal_last_index(w, pinning[i]), 1);
		}
	}
	return 0;
}

/* Group 7 wrote a hard state and 3 entries and went idle; group 8 only a
 * hard state. */
static void start_idle_groups(struct aeg_wal *w)
{
	set_hs(w, 7, 1, 7, 2);
	for (uint64_t i = 1; i <= 3; i++)
		append(w, 7, i, 1);
	set_hs(w, 8, 4, 8, 0);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
}

static void expect_recovered(struct aeg_wal **w, struct aeg_wal_config *cfg, const struct busy *b, bool idle_snapshotted)
{
	struct aeg_wal_recovery *rec = open_staged(w, cfg);
	struct aeg_wal_group_state gs;
	assert_int_equal(aeg_wal_recovery_find(rec, 8, &gs), 0);
	assert_true(gs.has_hard_state);
	assert_int_equal(gs.term, 4);
	assert_int_equal(gs.vote, 8);
	assert_int_equal(aeg_wal_recovery_find(rec, 7, &gs), 0);
	assert_int_equal(gs.term, 1);
	assert_int_equal(gs.vote, 7);
	assert_int_equal(gs.snap_index, idle_snapshotted ? 3 : 0);
	assert_int_equal(gs.last_index, 3);
	if (!idle_snapshotted)
		expect_entries(rec, 7, 0, 3, 1);
	assert_int_equal(aeg_wal_recovery_find(rec, 1, &gs), 0);
	assert_int_equal(gs.snap_index, b->snap);
	assert_int_equal(gs.last_index, b->next - 1);
	expect_entries(rec, 1, gs.snap_index, gs.last_index, 2);
	aeg_wal_recovery_free(rec);
}

static void test_idle_group_does_not_pin(void **state)
{
	(void)state;
	char *dir = itest_tmpdir(test_base());
	assert_non_null(dir);
	struct aeg_wal_config cfg = small_config(dir);
	struct aeg_wal *w;
	aeg_wal_recovery_free(open_staged(&w, &cfg));
	start_idle_groups(w);
	struct busy b = { .next = 1 };
	/* Six times the disk. */
	assert_int_equal(run_busy(w, &b, 6ull * cfg.segments_max * cfg.segment_bytes, true), 0);
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	print_message("idle groups: %llu segments released, %llu reused, %llu checkpoint records, "
		      "group 7 named %d times\n", (unsigned long long)st->segments_released,
		      (unsigned long long)st->segments_reused, (unsigned long long)st->checkpoint_records,
		      b.reports_idle);
	assert_int_equal(st->failed, 0);
	assert_int_equal(st->log_full, 0);
	assert_true(st->segments_reused >= 3 * cfg.segments_max);
	assert_true(b.reports_idle > 0);
	assert_int_equal(b.reports_other, 0);
	assert_true(st->checkpoint_records > 0);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	aeg_wal_close(w);
	/* Group 8's only hard state record went with its first segment long
	 * ago: the copies kept it. */
	expect_recovered(&w, &cfg, &b, true);
	aeg_wal_close(w);
	itest_rmtree(dir);
}

/* Nobody acts on the report: the idle group's entries fill the log, which
 * says so (-ENOSPC) without failing, names the group, and goes on once it is
 * compacted: the last free slot lets a new header move the log start on. */
static void test_full_log_comes_back(void **state)
{
	(void)state;
	char *dir = itest_tmpdir(test_base());
	assert_non_null(dir);
	struct aeg_wal_config cfg = small_config(dir);
	struct aeg_wal *w;
	aeg_wal_recovery_free(open_staged(&w, &cfg));
	start_idle_groups(w);
	struct busy b = { .next = 1 };
	assert_int_equal(run_busy(w, &b, 6ull * cfg.segments_max * cfg.segment_bytes, false), -ENOSPC);
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	assert_true(st->log_full > 0);
	assert_int_equal(st->failed, 0);
	uint64_t pinning[8];
	assert_int_equal(aeg_wal_pinning_groups(w, pinning, 8), 1);
	assert_int_equal(pinning[0], 7);
	assert_int_equal(aeg_wal_pinning_groups(w, pinning, 0), 1); /* counts past max */
	/* The node snapshots it now. */
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	snapshot(w, 7, 3, 1);
	uint64_t released = st->segments_released;
	assert_int_equal(run_busy(w, &b, 3ull * cfg.segments_max * cfg.segment_bytes, true), 0);
	assert_true(st->segments_released > released + cfg.segments_max);
	assert_int_equal(st->failed, 0);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	aeg_wal_close(w);
	expect_recovered(&w, &cfg, &b, true);
	aeg_wal_close(w);
	itest_rmtree(dir);
}

struct removed {
	int calls;
	uint64_t lsn;
};

static void on_durable(void *ctx, const struct aeg_wal_durable *d)
{
	struct removed *r = ctx;
	/* The batch with the REMOVE record reports the group durable. */
	if (d->group == 2) {
		r->calls++;
		r->lsn = d->lsn;
	}
}

static void test_group_remove(void **state)
{
	(void)state;
	char *dir = itest_tmpdir(test_base());
	assert_non_null(dir);
	struct aeg_wal_config cfg = small_config(dir);
	cfg.groups_max = 4;
	struct aeg_wal *w;
	aeg_wal_recovery_free(open_staged(&w, &cfg));
	for (uint64_t g = 1; g <= 4; g++) {
		set_hs(w, g, 3, g, 0);
		for (uint64_t i = 1; i <= 5; i++)
			append(w, g, i, 3);
	}
	snapshot(w, 2, 5, 3);
	assert_int_equal(itest_append_one(w, 5, 1, 3, LEN_MAX), -ENOBUFS);
	assert_int_equal(aeg_wal_group_remove(w, 9, NULL), -ENOENT);
	uint64_t lsn = 0;
	assert_int_equal(aeg_wal_group_remove(w, 2, &lsn), 0);
	assert_int_equal(aeg_wal_group_count(w), 3);
	assert_int_equal(aeg_wal_last_index(w, 2), 0);
	assert_int_equal(aeg_wal_compact(w, 2, 5), -ENOENT);
	/* Its slot is taken once the removal is durable. */
	assert_int_equal(itest_append_one(w, 5, 1, 3, LEN_MAX), -EAGAIN);
	struct removed r = { 0 };
	assert_int_equal(aeg_wal_flush(w, on_durable, &r), 0);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.lsn, lsn);
	assert_int_equal(aeg_wal_snapshot_remove(w, 2), 0);
	assert_int_equal(aeg_wal_snapshot_remove(w, 2), -ENOENT);
	for (uint64_t i = 1; i <= 5; i++)
		append(w, 5, i, 3);
	assert_int_equal(aeg_wal_group_count(w), 4);
	/* Group 6 waits for a slot; group 4 goes too, group 6 takes its slot. */
	assert_int_equal(aeg_wal_group_remove(w, 4, NULL), 0);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	for (uint64_t i = 1; i <= 5; i++)
		append(w, 6, i, 3);
	/* The removed groups' entries never compacted pin nothing: lots of
	 * writes by groups that compact, and the old segments go. */
	uint64_t next = 6;
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	while (st->bytes_written < 4ull * cfg.segments_max * cfg.segment_bytes) {
		static const uint64_t busy[] = { 1, 3, 5, 6 };
		for (size_t k = 0; k < 4; k++)
			append(w, busy[k], next, 3);
		if (next % 128 == 0)
			for (size_t k = 0; k < 4; k++)
				snapshot(w, busy[k], next - 1, 3);
		next++;
	}
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	assert_int_equal(st->failed, 0);
	assert_int_equal(st->log_full, 0);
	assert_true(st->segments_reused > 0);
	uint64_t pinning[4];
	int n = aeg_wal_pinning_groups(w, pinning, 4);
	for (int i = 0; i < n && i < 4; i++)
		assert_true(pinning[i] != 2 && pinning[i] != 4);
	/* Group 6 leaves and group 2 comes back (a replica moved back): a
	 * snapshot, then entries. */
	assert_int_equal(aeg_wal_group_remove(w, 6, NULL), 0);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	snapshot(w, 2, 100, 4);
	append(w, 2, 101, 4);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	aeg_wal_close(w);

	struct aeg_wal_recovery *rec = open_staged(&w, &cfg);
	assert_int_equal(aeg_wal_recovery_group_count(rec), 4);
	struct aeg_wal_group_state gs;
	assert_int_equal(aeg_wal_recovery_find(rec, 4, &gs), -ENOENT);
	assert_int_equal(aeg_wal_recovery_find(rec, 6, &gs), -ENOENT);
	assert_int_equal(aeg_wal_recovery_find(rec, 2, &gs), 0);
	assert_false(gs.has_hard_state);
	assert_int_equal(gs.snap_index, 100);
	assert_int_equal(gs.last_index, 101);
	assert_int_equal(aeg_wal_recovery_find(rec, 5, &gs), 0);
	assert_int_equal(gs.last_index, next - 1);
	assert_int_equal(aeg_wal_recovery_find(rec, 3, &gs), 0);
	assert_int_equal(gs.term, 3);
	assert_int_equal(gs.vote, 3);
	assert_int_equal(gs.last_index, next - 1);
	expect_entries(rec, 3, gs.snap_index, gs.last_index, 3);
	aeg_wal_recovery_free(rec);
	assert_int_equal(aeg_wal_group_count(w), 4);
	aeg_wal_close(w);
	itest_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_thousand_groups),
		cmocka_unit_test(test_idle_group_does_not_pin),
		cmocka_unit_test(test_full_log_comes_back),
		cmocka_unit_test(test_group_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
