/* Recovery stager (lib/wal/recovery.c): hand-built record sequences
 * (overwrites, truncations, snapshots then older entries, removal, holes,
 * many groups) and a seeded comparison against a dense reference model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_prng.h"
#include "aegis/wal_recovery.h"

#include <errno.h>

struct feed {
	struct aeg_wal_recovery *r;
	uint8_t buf[64];	/* payload source, clobbered after each add */
};

static int add(struct feed *f, uint32_t type, uint64_t group, uint64_t term, uint64_t index)
{
	struct aeg_wal_rec rec = { .type = type, .group = group, .term = term, .index = index };
	if (type == AEG_WAL_ENTRY) {
		/* Payload names what it is, so that a stale copy shows. */
		int n = snprintf((char *)f->buf, sizeof(f->buf), "g%llu i%llu t%llu", (unsigned long long)group,
				 (unsigned long long)index, (unsigned long long)term);
		rec.payload = f->buf;
		rec.len = (uint32_t)n;
		rec.entry_type = (uint32_t)(index % 3);
	}
	int rc = aeg_wal_recovery_add(f->r, &rec);
	memset(f->buf, 0xee, sizeof(f->buf));
	return rc;
}

static int add_hs(struct feed *f, uint64_t group, uint64_t term, uint64_t vote, uint64_t commit)
{
	uint8_t hs[AEG_WAL_HARD_STATE_BYTES];
	assert_int_equal(aeg_wal_hard_state_encode(hs, vote, commit), AEG_WAL_HARD_STATE_BYTES);
	struct aeg_wal_rec rec = { .type = AEG_WAL_HARD_STATE, .group = group, .term = term, .payload = hs,
				   .len = sizeof(hs) };
	return aeg_wal_recovery_add(f->r, &rec);
}

static void feed_open(struct feed *f)
{
	assert_int_equal(aeg_wal_recovery_new(&f->r), 0);
}

static void entries(struct feed *f, uint64_t group, uint64_t term, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i <= to; i++)
		assert_int_equal(add(f, AEG_WAL_ENTRY, group, term, i), 0);
}

/* The entry (group, index) is there with the given term and its payload. */
static void expect_entry(const struct aeg_wal_recovery *r, uint64_t group, uint64_t index, uint64_t term)
{
	struct aeg_wal_entry_view e;
	assert_int_equal(aeg_wal_recovery_entry(r, group, index, &e), 0);
	char want[64];
	int n = snprintf(want, sizeof(want), "g%llu i%llu t%llu", (unsigned long long)group,
			 (unsigned long long)index, (unsigned long long)term);
	assert_int_equal(e.index, index);
	assert_int_equal(e.term, term);
	assert_int_equal(e.type, index % 3);
	assert_int_equal(e.len, n);
	assert_memory_equal(e.data, want, (size_t)n);
}

static struct aeg_wal_group_state state_of(const struct aeg_wal_recovery *r, uint64_t group)
{
	struct aeg_wal_group_state st;
	assert_int_equal(aeg_wal_recovery_find(r, group, &st), 0);
	assert_int_equal(st.group, group);
	return st;
}

static void test_basic(void **state)
{
	(void)state;
	struct feed f;
	feed_open(&f);
	assert_int_equal(add_hs(&f, 7, 1, 3, 0), 0);
	entries(&f, 7, 1, 1, 5);
	assert_int_equal(add(&f, AEG_WAL_PAD, 0, 0, 0), 0);
	assert_int_equal(add_hs(&f, 7, 2, 0, 4), 0);
	assert_int_equal(add(&f, AEG_WAL_SEAL, 0, 0, 9), 0);
	/* Queries wait for finish. */
	struct aeg_wal_group_state st;
	assert_int_equal(aeg_wal_recovery_find(f.r, 7, &st), -EINVAL);
	assert_int_equal(aeg_wal_recovery_finish(f.r), 0);
	assert_int_equal(add(&f, AEG_WAL_ENTRY, 7, 2, 6), -EALREADY);
	st = state_of(f.r, 7);
	assert_true(st.has_hard_state);
	assert_int_equal(st.term, 2);
	assert_int_equal(st.vote, 0);
	assert_int_equal(st.commit, 4);
	assert_int_equal(st.snap_index, 0);
	assert_int_equal(st.first_index, 1);
	assert_int_equal(st.last_index, 5);
	assert_int_equal(st.last_term, 1);
	for (uint64_t i = 1; i <= 5; i++)
		expect_entry(f.r, 7, i, 1);
	struct aeg_wal_entry_view e;
	assert_int_equal(aeg_wal_recovery_entry(f.r, 7, 0, &e), -ENOENT);
	assert_int_equal(aeg_wal_recovery_entry(f.r, 7, 6, &e), -ENOENT);
	assert_int_equal(aeg_wal_recovery_entry(f.r, 8, 1, &e), -ENOENT);
	assert_int_equal(aeg_wal_recovery_find(f.r, 8, &st), -ENOENT);
	assert_int_equal(aeg_wal_recovery_group_count(f.r), 1);
	assert_int_equal(aeg_wal_recovery_group_at(f.r, 1, &st), -ERANGE);
	assert_string_equal(aeg_wal_recovery_error(f.r, NULL, NULL), "");
	assert_true(aeg_wal_recovery_bytes(f.r) > 0);
	aeg_wal_recovery_free(f.r);
}

static void test_overwrite_and_truncate(void **state)
{
	(void)state;
	struct feed f;
	feed_open(&f);
	entries(&f, 1, 1, 1, 10);
	/* A new leader's entry 6 voids 6..10 of the old term. */
	entries(&f, 1, 2, 6, 7);
	/* Truncate from 4, then a rewrite from 4. */
	entries(&f, 2, 1, 1, 10);
	assert_int_equal(add(&f, AEG_WAL_TRUNCATE, 2, 0, 4), 0);
	entries(&f, 2, 3, 4, 4);
	/* Truncate past the end changes nothing; truncate from 1 empties. */
	entries(&f, 3, 1, 1, 3);
	assert_int_equal(add(&f, AEG_WAL_TRUNCATE, 3, 0, 9), 0);
	entries(&f, 4, 1, 1, 3);
	assert_int_equal(add(&f, AEG_WAL_TRUNCATE, 4, 0, 1), 0);
	/* Overwrite at the very first entry, and again after more. */
	entries(&f, 5, 1, 1, 4);
	entries(&f, 5, 2, 1, 2);
	entries(&f, 5, 3, 2, 3);
	assert_int_equal(aeg_wal_recovery_finish(f.r), 0);

	struct aeg_wal_group_state st = state_of(f.r, 1);
	assert_int_equal(st.last_index, 7);
	assert_int_equal(st.last_term, 2);
	assert_false(st.has_hard_state);
	for (uint64_t i = 1; i <= 5; i++)
		expect_entry(f.r, 1, i, 1);
	expect_entry(f.r, 1, 6, 2);
	expect_entry(f.r, 1, 7, 2);
	struct aeg_wal_entry_view e;
	assert_int_equal(aeg_wal_recovery_entry(f.r, 1, 8, &e), -ENOENT);

	st = state_of(f.r, 2);
	assert_int_equal(st.last_index, 4);
	expect_entry(f.r, 2, 3, 1);
	expect_entry(f.r, 2, 4, 3);
	assert_int_equal(state_of(f.r, 3).last_index, 3);
	st = state_of(f.r, 4);
	assert_int_equal(st.first_index, 1);
	assert_int_equal(st.last_index, 0);
	st = state_of(f.r, 5);
	assert_int_equal(st.last_index, 3);
	expect_entry(f.r, 5, 1, 2);
	expect_entry(f.r, 5, 2, 3);
	expect_entry(f.r, 5, 3, 3);
	aeg_wal_recovery_free(f.r);
}

static void test_snapshot_then_older_entries(void **state)
{
	(void)state;
	struct feed f;
	feed_open(&f);
	entries(&f, 9, 1, 1, 10);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 9, 1, 5), 0);
	/* At or below the snapshot: covered, ignored (no voiding of 6..10). */
	assert_int_equal(add(&f, AEG_WAL_ENTRY, 9, 7, 3), 0);
	assert_int_equal(add(&f, AEG_WAL_ENTRY, 9, 7, 5), 0);
	/* An older marker (e.g. a copy carried forward) changes nothing. */
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 9, 1, 4), 0);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 9, 1, 5), 0);
	assert_int_equal(add(&f, AEG_WAL_TRUNCATE, 9, 0, 2), 0); /* below: voids 6..10 only */
	entries(&f, 9, 2, 6, 8);
	/* Another group: a snapshot past its last entry (installed from a
	 * leader), then entries after it. */
	entries(&f, 10, 1, 1, 3);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 10, 4, 20), 0);
	entries(&f, 10, 4, 21, 22);
	/* A group whose older entries were released: its log starts at 401,
	 * the marker at 500 comes later. */
	entries(&f, 11, 3, 401, 800);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 11, 3, 500), 0);
	/* A snapshot marker only. */
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 12, 2, 70), 0);
	assert_int_equal(aeg_wal_recovery_finish(f.r), 0);

	struct aeg_wal_group_state st = state_of(f.r, 9);
	assert_int_equal(st.snap_index, 5);
	assert_int_equal(st.first_index, 6);
	assert_int_equal(st.last_index, 8);
	expect_entry(f.r, 9, 6, 2);
	expect_entry(f.r, 9, 8, 2);
	struct aeg_wal_entry_view e;
	assert_int_equal(aeg_wal_recovery_entry(f.r, 9, 5, &e), -ENOENT);
	st = state_of(f.r, 10);
	assert_int_equal(st.snap_index, 20);
	assert_int_equal(st.snap_term, 4);
	assert_int_equal(st.first_index, 21);
	assert_int_equal(st.last_index, 22);
	assert_int_equal(aeg_wal_recovery_entry(f.r, 10, 3, &e), -ENOENT);
	expect_entry(f.r, 10, 21, 4);
	st = state_of(f.r, 11);
	assert_int_equal(st.first_index, 501);
	assert_int_equal(st.last_index, 800);
	expect_entry(f.r, 11, 501, 3);
	expect_entry(f.r, 11, 800, 3);
	st = state_of(f.r, 12);
	assert_int_equal(st.snap_index, 70);
	assert_int_equal(st.last_index, 70);
	assert_int_equal(st.last_term, 2);
	assert_int_equal(st.first_index, 71);
	aeg_wal_recovery_free(f.r);
}

/* Holes are refused with the group and the first missing index. */
static void test_holes(void **state)
{
	(void)state;
	struct feed f;
	uint64_t g, i;
	/* A gap between entries that no snapshot covers. */
	feed_open(&f);
	entries(&f, 3, 1, 1, 4);
	assert_int_equal(add(&f, AEG_WAL_ENTRY, 3, 1, 6), 0);
	assert_int_equal(aeg_wal_recovery_finish(f.r), -EBADMSG);
	assert_non_null(strstr(aeg_wal_recovery_error(f.r, &g, &i), "group 3: entry 5 missing"));
	assert_int_equal(g, 3);
	assert_int_equal(i, 5);
	aeg_wal_recovery_free(f.r);
	/* A gap after a snapshot past the entries. */
	feed_open(&f);
	entries(&f, 4, 1, 1, 4);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 4, 1, 30), 0);
	assert_int_equal(add(&f, AEG_WAL_ENTRY, 4, 1, 32), 0);
	assert_int_equal(aeg_wal_recovery_finish(f.r), -EBADMSG);
	aeg_wal_recovery_error(f.r, &g, &i);
	assert_int_equal(i, 31);
	aeg_wal_recovery_free(f.r);
	/* A gap that a later snapshot covers: what a checkpoint's copy of an
	 * older marker looks like once the segments after it were released. */
	feed_open(&f);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 5, 2, 300), 0);
	entries(&f, 5, 2, 401, 450);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 5, 2, 420), 0);
	entries(&f, 5, 2, 451, 452);
	assert_int_equal(aeg_wal_recovery_finish(f.r), 0);
	struct aeg_wal_group_state st5 = state_of(f.r, 5);
	assert_int_equal(st5.first_index, 421);
	assert_int_equal(st5.last_index, 452);
	expect_entry(f.r, 5, 421, 2);
	aeg_wal_recovery_free(f.r);
	/* Entries that start after 1 with no snapshot: found by finish. */
	feed_open(&f);
	entries(&f, 1, 1, 1, 3);
	entries(&f, 5, 1, 401, 410);
	assert_int_equal(aeg_wal_recovery_finish(f.r), -EBADMSG);
	aeg_wal_recovery_error(f.r, &g, &i);
	assert_int_equal(g, 5);
	assert_int_equal(i, 1);
	struct aeg_wal_group_state st;
	assert_int_equal(aeg_wal_recovery_group_at(f.r, 0, &st), -EINVAL);
	aeg_wal_recovery_free(f.r);
	/* Entries that start after the snapshot (marker older than them). */
	feed_open(&f);
	entries(&f, 6, 2, 401, 410);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 6, 1, 300), 0);
	assert_int_equal(aeg_wal_recovery_finish(f.r), -EBADMSG);
	aeg_wal_recovery_error(f.r, &g, &i);
	assert_int_equal(g, 6);
	assert_int_equal(i, 301);
	aeg_wal_recovery_free(f.r);
	/* Truncated below its first entry, no snapshot: last index 399 is not
	 * there either. */
	feed_open(&f);
	entries(&f, 7, 2, 401, 410);
	assert_int_equal(add(&f, AEG_WAL_TRUNCATE, 7, 0, 400), 0);
	assert_int_equal(aeg_wal_recovery_finish(f.r), -EBADMSG);
	aeg_wal_recovery_free(f.r);
}

static void test_malformed(void **state)
{
	(void)state;
	struct feed f;
	feed_open(&f);
	assert_int_equal(add(&f, 0, 1, 1, 1), -EINVAL);
	assert_int_equal(add(&f, AEG_WAL_REMOVE + 1, 1, 1, 1), -EINVAL);
	assert_int_equal(add(&f, AEG_WAL_ENTRY, 1, 1, 0), -EINVAL);
	assert_int_equal(add(&f, AEG_WAL_TRUNCATE, 1, 1, 0), -EINVAL);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 1, 1, 0), -EINVAL);
	uint8_t short_hs[8] = { 0 };
	struct aeg_wal_rec rec = { .type = AEG_WAL_HARD_STATE, .group = 1, .term = 1, .payload = short_hs,
				   .len = sizeof(short_hs) };
	assert_int_equal(aeg_wal_recovery_add(f.r, &rec), -EBADMSG);
	aeg_wal_recovery_free(f.r);
	aeg_wal_recovery_free(NULL);
}

static void test_remove(void **state)
{
	(void)state;
	struct feed f;
	feed_open(&f);
	assert_int_equal(add_hs(&f, 1, 4, 2, 9), 0);
	entries(&f, 1, 4, 1, 9);
	entries(&f, 2, 1, 1, 2);
	assert_int_equal(add(&f, AEG_WAL_REMOVE, 1, 0, 0), 0);
	assert_int_equal(add(&f, AEG_WAL_REMOVE, 3, 0, 0), 0); /* never seen */
	/* Group 2 removed, then back (a replica moved away and back): only
	 * what follows the removal counts. */
	assert_int_equal(add(&f, AEG_WAL_REMOVE, 2, 0, 0), 0);
	assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, 2, 5, 40), 0);
	entries(&f, 2, 5, 41, 41);
	assert_int_equal(aeg_wal_recovery_finish(f.r), 0);
	struct aeg_wal_group_state st;
	assert_int_equal(aeg_wal_recovery_find(f.r, 1, &st), -ENOENT);
	assert_int_equal(aeg_wal_recovery_find(f.r, 3, &st), -ENOENT);
	assert_int_equal(aeg_wal_recovery_group_count(f.r), 1);
	assert_int_equal(aeg_wal_recovery_group_at(f.r, 0, &st), 0);
	assert_int_equal(st.group, 2);
	assert_false(st.has_hard_state);
	assert_int_equal(st.snap_index, 40);
	assert_int_equal(st.last_index, 41);
	struct aeg_wal_entry_view e;
	assert_int_equal(aeg_wal_recovery_entry(f.r, 1, 1, &e), -ENOENT);
	assert_int_equal(aeg_wal_recovery_entry(f.r, 2, 2, &e), -ENOENT);
	expect_entry(f.r, 2, 41, 5);
	aeg_wal_recovery_free(f.r);
}

/* 10,000 groups in a shuffled order come back sorted by id. */
static void test_many_groups(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x57a6e5ull);
	enum { N = 10000 };
	static uint64_t ids[N];
	for (uint64_t i = 0; i < N; i++)
		ids[i] = i * 3 + 1;
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = (size_t)prng_below(&p, i + 1);
		uint64_t t = ids[i];
		ids[i] = ids[j];
		ids[j] = t;
	}
	struct feed f;
	feed_open(&f);
	for (int round = 1; round <= 3; round++)
		for (size_t i = 0; i < N; i++) {
			assert_int_equal(add(&f, AEG_WAL_ENTRY, ids[i], 1, (uint64_t)round), 0);
			assert_int_equal(add_hs(&f, ids[i], 1, ids[i] % 5, (uint64_t)round - 1), 0);
		}
	assert_int_equal(aeg_wal_recovery_finish(f.r), 0);
	CHECK(&p, aeg_wal_recovery_group_count(f.r) == N);
	for (size_t i = 0; i < N; i++) {
		struct aeg_wal_group_state st;
		assert_int_equal(aeg_wal_recovery_group_at(f.r, i, &st), 0);
		CHECK(&p, st.group == i * 3 + 1);
		CHECK(&p, st.last_index == 3 && st.commit == 2 && st.vote == st.group % 5);
	}
	expect_entry(f.r, ids[17], 2, 1);
	aeg_wal_recovery_free(f.r);
}

/* Reference model: a dense table per group, rules written out plainly. */
#define MODEL_GROUPS 6
#define MODEL_INDEX 160

struct model_group {
	bool live, started;
	uint64_t snap, snap_term, lo, last;	/* present: [lo, last] */
	uint64_t gap_from;
	uint64_t term[MODEL_INDEX + 2];
	uint64_t hs_term, commit;
	bool has_hs;
};

static bool model_entry(struct model_group *m, uint64_t i, uint64_t term)
{
	m->live = true;
	if (i <= m->snap)
		return true;
	if (m->started && i > m->last + 1) {
		m->gap_from = m->last + 1;
		m->lo = i;
	}
	if (!m->started || i < m->lo)
		m->lo = i;
	m->started = true;
	m->last = i;
	m->term[i] = term;
	return true;
}

static void model_truncate(struct model_group *m, uint64_t i)
{
	m->live = true;
	uint64_t keep = i - 1 > m->snap ? i - 1 : m->snap;
	if (m->started && m->last > keep)
		m->last = keep;
	if (m->started && m->lo > m->last + 1)
		m->lo = m->last + 1;
}

static void model_snapshot(struct model_group *m, uint64_t s, uint64_t term)
{
	m->live = true;
	if (s <= m->snap)
		return;
	m->snap = s;
	m->snap_term = term;
	if (!m->started || s > m->last)
		m->last = s;
	if (!m->started || m->lo <= s)
		m->lo = s + 1;
	m->started = true;
}

/* One random run against the model; returns false at a refused hole. */
static void model_run(struct prng *p)
{
	struct model_group m[MODEL_GROUPS] = { 0 };
	struct feed f;
	feed_open(&f);
	uint64_t term = 1;
	bool holes = prng_below(p, 4) == 0;
	for (int step = 0; step < 400; step++) {
		uint64_t g = prng_below(p, MODEL_GROUPS);
		struct model_group *mg = &m[g];
		uint64_t top = mg->last + 2 < MODEL_INDEX ? mg->last + 2 : MODEL_INDEX;
		uint64_t i = 1 + prng_below(p, top);
		if (prng_below(p, 10) == 0)
			term++;
		switch (prng_below(p, 16)) {
		case 0:
			assert_int_equal(add(&f, AEG_WAL_TRUNCATE, g, 0, i), 0);
			model_truncate(mg, i);
			break;
		case 1:
			assert_int_equal(add(&f, AEG_WAL_SNAPSHOT, g, term, i), 0);
			model_snapshot(mg, i, term);
			break;
		case 2:
			assert_int_equal(add_hs(&f, g, term, g, i), 0);
			mg->live = true;
			mg->has_hs = true;
			mg->hs_term = term;
			mg->commit = i;
			break;
		case 3:
			if (prng_below(p, 4) == 0) {
				assert_int_equal(add(&f, AEG_WAL_REMOVE, g, 0, 0), 0);
				*mg = (struct model_group){ 0 };
			}
			break;
		default:
			/* Mostly the next index; sometimes an overwrite, or (runs
			 * with holes) a jump. */
			if (prng_below(p, 3) != 0)
				i = mg->last + 1 <= MODEL_INDEX ? mg->last + 1 : MODEL_INDEX;
			if (holes && prng_below(p, 40) == 0 && mg->last + 3 <= MODEL_INDEX && mg->started)
				i = mg->last + 3;
			CHECK(p, model_entry(mg, i, term));
			CHECK(p, add(&f, AEG_WAL_ENTRY, g, term, i) == 0);
		}
	}
	bool want_ok = true;
	for (int g = 0; g < MODEL_GROUPS; g++)
		if (m[g].live && m[g].started && m[g].lo > m[g].snap + 1)
			want_ok = false;
	int rc = aeg_wal_recovery_finish(f.r);
	CHECK(p, rc == (want_ok ? 0 : -EBADMSG));
	if (rc != 0) {
		/* It names a group with a hole and its first missing index. */
		uint64_t eg, ei;
		aeg_wal_recovery_error(f.r, &eg, &ei);
		CHECK(p, eg < MODEL_GROUPS);
		const struct model_group *bad = &m[eg];
		CHECK(p, bad->live && bad->lo > bad->snap + 1);
		CHECK(p, ei == (bad->gap_from > bad->snap ? bad->gap_from : bad->snap + 1));
	}
	for (uint64_t g = 0; rc == 0 && g < MODEL_GROUPS; g++) {
		struct aeg_wal_group_state st;
		int frc = aeg_wal_recovery_find(f.r, g, &st);
		CHECK(p, frc == (m[g].live ? 0 : -ENOENT));
		if (frc != 0)
			continue;
		CHECK(p, st.snap_index == m[g].snap && st.last_index == m[g].last && st.first_index == m[g].snap + 1);
		CHECK(p, st.has_hard_state == m[g].has_hs && st.term == m[g].hs_term && st.commit == m[g].commit);
		for (uint64_t i = 1; i <= MODEL_INDEX; i++) {
			struct aeg_wal_entry_view e;
			int erc = aeg_wal_recovery_entry(f.r, g, i, &e);
			bool present = i > m[g].snap && i <= m[g].last;
			CHECK(p, erc == (present ? 0 : -ENOENT));
			if (present)
				expect_entry(f.r, g, i, m[g].term[i]);
		}
	}
	aeg_wal_recovery_free(f.r);
}

static void test_against_model(void **state)
{
	(void)state;
	uint64_t seed = test_seed(0x5ca1ab1eull);
	for (uint64_t k = 0; k < 300; k++) {
		struct prng p;
		prng_init_seed(&p, seed + k);
		model_run(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_overwrite_and_truncate),
		cmocka_unit_test(test_snapshot_then_older_entries),
		cmocka_unit_test(test_holes),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_many_groups),
		cmocka_unit_test(test_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
