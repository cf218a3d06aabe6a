/* WAL writer on a file system that runs out of space or is read-only: a
 * small tmpfs mounted in a temp dir (needs root; exits 77, "skipped",
 * otherwise). On ENOSPC the log stops accepting writes with a log line and
 * a counter, and every record reported durable before is still there. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "wal_itest_util.h"

#include <sys/mount.h>

static char *mount_tmpfs(const char *opts)
{
	char *dir = itest_tmpdir("/tmp");
	assert_non_null(dir);
	if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
		fprintf(stderr, "mounting tmpfs on %s: %s\n", dir, strerror(errno));
		rmdir(dir);
		free(dir);
		return NULL;
	}
	return dir;
}

static void unmount_tmpfs(char *dir)
{
	if (umount2(dir, MNT_DETACH) != 0)
		fprintf(stderr, "umount %s: %s\n", dir, strerror(errno));
	if (rmdir(dir) != 0)
		fprintf(stderr, "rmdir %s: %s\n", dir, strerror(errno));
	free(dir);
}

static void on_durable(void *ctx, const struct aeg_wal_durable *d)
{
	uint64_t *max = ctx;
	if (d->index > *max)
		*max = d->index;
}

static void test_enospc_at_open(void **state)
{
	(void)state;
	char *dir = mount_tmpfs("size=1m");
	assert_non_null(dir);
	struct aeg_wal_config cfg = { .dir = dir, .segment_bytes = 512 << 10, .segments_initial = 4,
				      .batch_bytes_max = 64 << 10, .groups_max = 4 };
	struct aeg_wal *w = NULL;
	assert_int_equal(aeg_wal_open(&w, &cfg), -ENOSPC);
	assert_null(w);
	unmount_tmpfs(dir);
}

static void test_enospc_while_writing(void **state)
{
	(void)state;
	char *dir = mount_tmpfs("size=1m");
	assert_non_null(dir);
	struct itest_log replay = { .len_max = 1000 };
	struct aeg_wal_config cfg = { .dir = dir, .segment_bytes = 384 << 10, .segments_initial = 1,
				      .segments_max = 8, .batch_bytes_max = 64 << 10, .groups_max = 4,
				      .replay = itest_replay, .replay_ctx = &replay };
	struct aeg_wal *w;
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	uint64_t durable = 0, next = 1;
	uint8_t buf[1000];
	int rc = 0;
	/* Bounded: 1 MiB of tmpfs fills long before 100000 records of ~500 B. */
	for (int i = 0; i < 100000; i++) {
		struct aeg_wal_entry e = { .term = 1, .index = next, .data = buf,
					   .len = itest_payload(buf, 1000, 1, next, 1) };
		rc = aeg_wal_append_entries(w, 1, &e, 1, NULL);
		if (rc == 1)
			next++;
		else if (rc != -EAGAIN)
			break;
		int s = aeg_wal_submit(w);
		int p = rc == -EAGAIN ? aeg_wal_wait(w, on_durable, &durable) : aeg_wal_poll(w, on_durable, &durable);
		if (s < 0 || p < 0) {
			rc = s < 0 ? s : p;
			break;
		}
	}
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(st->failed, -ENOSPC);
	assert_int_equal(st->io_errors, 1);
	assert_true(durable > 0);
	/* Stopped: nothing more is accepted. */
	struct aeg_wal_entry e = { .term = 1, .index = next, .data = buf, .len = 10 };
	assert_int_equal(aeg_wal_append_entries(w, 1, &e, 1, NULL), -ENOSPC);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), -ENOSPC);
	aeg_wal_close(w);
	/* Every record reported durable is there after a restart. */
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	int gi = itest_gi(&replay, 1);
	assert_true(replay.last[gi] >= durable);
	assert_int_equal(replay.first[gi], 1);
	assert_int_equal(replay.bad + replay.out_of_order, 0);
	print_message("durable %llu, recovered %llu, appended %llu\n", (unsigned long long)durable,
		      (unsigned long long)replay.last[gi], (unsigned long long)next - 1);
	aeg_wal_close(w);
	unmount_tmpfs(dir);
}

static void test_read_only(void **state)
{
	(void)state;
	char *dir = mount_tmpfs("size=4m");
	assert_non_null(dir);
	struct itest_log replay = { .len_max = 100 };
	struct aeg_wal_config cfg = { .dir = dir, .segment_bytes = 256 << 10, .batch_bytes_max = 64 << 10,
				      .groups_max = 4, .replay = itest_replay, .replay_ctx = &replay };
	assert_int_equal(mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, "size=4m"), 0);
	struct aeg_wal *w = NULL;
	/* An empty read-only dir: no segment can be created. */
	assert_int_equal(aeg_wal_open(&w, &cfg), -EROFS);
	assert_int_equal(mount("tmpfs", dir, "tmpfs", MS_REMOUNT, "size=4m"), 0);
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	assert_int_equal(itest_append_one(w, 1, 1, 1, 100), 1);
	assert_int_equal(aeg_wal_flush(w, NULL, NULL), 0);
	aeg_wal_close(w);
	/* A log on a file system that went read-only: refused, clearly. */
	assert_int_equal(mount("tmpfs", dir, "tmpfs", MS_REMOUNT | MS_RDONLY, "size=4m"), 0);
	assert_int_equal(aeg_wal_open(&w, &cfg), -EROFS);
	unmount_tmpfs(dir);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skipped: mounting a small tmpfs for the ENOSPC and read-only tests needs root\n");
		return 77;
	}
	char *probe = mount_tmpfs("size=64k");
	if (probe == NULL) {
		printf("skipped: cannot mount tmpfs here (container without CAP_SYS_ADMIN?)\n");
		return 77;
	}
	unmount_tmpfs(probe);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enospc_at_open),
		cmocka_unit_test(test_enospc_while_writing),
		cmocka_unit_test(test_read_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
