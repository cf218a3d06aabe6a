/* WAL writer on a file system that runs out of space or is read-only (a
 * small tmpfs mounted in a temp dir), and on a device that fails a data write
 * under the log (ext4 on a loop device whose backing tmpfs fills up; there is
 * no device-mapper or fault injection in this kernel, so the device error is
 * ENOSPC, which takes the same path as EIO). Needs root: exits 77, "skipped",
 * otherwise. On a write error the log stops accepting writes with a log line
 * and a counter, and every record reported durable before is still there. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "wal_itest_util.h"

#include <stdbool.h>
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

/* snprintf that fails the test instead of cutting a path. */
static void fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t cap, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(out, cap, f, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < cap);
}

/* Runs a shell command; its first output line goes to out (if given). */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	if (out != NULL && (fgets(out, (int)cap, f) == NULL))
		out[0] = '\0';
	if (out != NULL)
		out[strcspn(out, "\n")] = '\0';
	return pclose(f);
}

/* ext4 on a loop device whose sparse backing file lives on a small tmpfs:
 * once the tmpfs is full, the device fails data writes under the log. */
struct failing_disk {
	char *tmpfs;
	char loop[64];
	char mnt[4096];
	char filler[4096];
};

static bool failing_disk_setup(struct failing_disk *d)
{
	char cmd[8192];
	d->tmpfs = mount_tmpfs("size=20m");
	if (d->tmpfs == NULL)
		return false;
	fmt(d->filler, sizeof(d->filler), "%s/filler", d->tmpfs);
	fmt(cmd, sizeof(cmd),
		 "truncate -s 64m %s/disk.img && dd if=/dev/zero of=%s bs=1M count=4 status=none && "
		 "losetup -f --show %s/disk.img", d->tmpfs, d->filler, d->tmpfs);
	if (run(cmd, d->loop, sizeof(d->loop)) != 0 || strncmp(d->loop, "/dev/loop", 9) != 0)
		return false;
	/* One page per request: a request then fits in the tmpfs or fails whole.
	 * (The loop driver completes a short write as a success: a multi-page
	 * request cut by the full tmpfs would be a device that lies.) */
	fmt(cmd, sizeof(cmd), "echo 4 > /sys/block/%s/queue/max_sectors_kb", d->loop + 5);
	if (run(cmd, NULL, 0) != 0)
		return false;
	fmt(d->mnt, sizeof(d->mnt), "%s-mnt", d->tmpfs);
	/* 4 KiB blocks (mkfs takes 1 KiB on a device this small): a request
	 * is then one whole tmpfs page. With 1 KiB blocks a 4 KiB request could
	 * straddle two pages of the image, the second one failing for space:
	 * a short write the loop driver reports as a success, which lost the
	 * tail of the last durable batch about once in 100 runs. */
	fmt(cmd, sizeof(cmd), "mkfs.ext4 -q -F -b 4096 %s && mkdir -p %s && mount %s %s", d->loop, d->mnt, d->loop,
		 d->mnt);
	return run(cmd, NULL, 0) == 0;
}

static void failing_disk_teardown(struct failing_disk *d)
{
	char cmd[8192];
	fmt(cmd, sizeof(cmd), "umount %s; rmdir %s; losetup -d %s", d->mnt, d->mnt, d->loop);
	if (run(cmd, NULL, 0) != 0)
		fprintf(stderr, "teardown of %s failed\n", d->loop);
	unmount_tmpfs(d->tmpfs);
}

/* The device fails a write under the log: the log stops with a log line and
 * a counter, and after the device recovers (space freed, fs remounted) every
 * record reported durable is there. */
static void test_device_write_error(void **state)
{
	(void)state;
	struct failing_disk d = { 0 };
	if (!failing_disk_setup(&d)) {
		failing_disk_teardown(&d);
		skip(); /* no loop devices or mkfs.ext4 here */
	}
	struct itest_log replay = { .len_max = 1000 };
	struct aeg_wal_config cfg = { .dir = d.mnt, .segment_bytes = 4 << 20, .segments_initial = 8,
				      .segments_max = 10, .batch_bytes_max = 256 << 10, .groups_max = 4,
				      .replay = itest_replay, .replay_ctx = &replay };
	struct aeg_wal *w;
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	uint64_t durable = 0, next = 1;
	int rc = 0;
	/* Bounded: the tmpfs has about 11 MiB for data, far less than 200000 x 500 B. */
	for (int i = 0; i < 200000 && rc >= 0; i++) {
		rc = itest_append_one(w, 1, next, 1, 1000);
		if (rc == 1)
			next++;
		if (rc < 0 && rc != -EAGAIN)
			break;
		int s = aeg_wal_submit(w);
		int p = rc == -EAGAIN ? aeg_wal_wait(w, on_durable, &durable) : aeg_wal_poll(w, on_durable, &durable);
		rc = s < 0 ? s : p < 0 ? p : 0;
	}
	const struct aeg_wal_stats *st = aeg_wal_get_stats(w);
	print_message("stopped with %s after %llu durable of %llu appended (%s, %llu batches, %llu short writes, "
		      "%llu bytes written)\n", strerror(-rc), (unsigned long long)durable, (unsigned long long)next - 1,
		      st->direct ? "O_DIRECT" : "buffered", (unsigned long long)st->batches,
		      (unsigned long long)st->short_writes, (unsigned long long)st->bytes_written);
	assert_true(rc == -EIO || rc == -ENOSPC);
	assert_int_equal(st->failed, rc);
	assert_int_equal(st->io_errors, 1);
	assert_true(durable > 0 && durable < next - 1);
	assert_int_equal(itest_append_one(w, 1, next, 1, 1000), rc);
	aeg_wal_close(w);
	char cmd[8192];
	/* The device recovers: space on the tmpfs, the fs mounted again. */
	fmt(cmd, sizeof(cmd), "umount %s && rm -f %s && mount %s %s", d.mnt, d.filler, d.loop, d.mnt);
	assert_int_equal(run(cmd, NULL, 0), 0);
	/* WAL_DIAG=1: each segment as the recovery will find it (where a
	 * lost tail stops, and the record there). */
	if (getenv("WAL_DIAG")) {
		for (int seg = 0; seg < 12; seg++) {
			char path[4200];
			snprintf(path, sizeof(path), "%s/seg-%06d.wal", d.mnt, seg);
			FILE *f = fopen(path, "rb");
			if (f == NULL)
				continue;
			static uint8_t img[4 << 20];
			size_t n = fread(img, 1, sizeof(img), f);
			fclose(f);
			struct aeg_wal_scan sc;
			(void)aeg_wal_scan_segment(&sc, img, n);
			uint64_t last_index = 0;
			size_t pos = AEG_WAL_SEG_HDR_BYTES;
			struct aeg_wal_rec r;
			while (aeg_wal_next(&r, img, sc.valid_end, &pos, sc.hdr.seq) == 1)
				if (r.type == AEG_WAL_ENTRY && r.index > last_index)
					last_index = r.index;
			size_t z = 0;
			while (sc.valid_end + z < n && img[sc.valid_end + z] == 0 && z < 8192)
				z++;
			if (sc.status == AEG_WAL_SCAN_TORN && sc.valid_end + 40 <= n) {
				const uint8_t *h = img + sc.valid_end;
				uint32_t u[4];
				uint64_t q[3];
				memcpy(u, h, 16);
				memcpy(q, h + 16, 24);
				int drc = aeg_wal_rec_decode(&r, h, n - sc.valid_end, sc.hdr.seq);
				print_message("diag at valid_end: crc %08x type %u len %u seq_lo %u group %llu term %llu index "
					      "%llu (decode %d)\n", u[0], u[1] & 255, u[2], u[3], (unsigned long long)q[0],
					      (unsigned long long)q[1], (unsigned long long)q[2], drc);
			}
			print_message("diag %s: %s valid_end %zu damage %zu garbage_end %zu records %llu last entry %llu; "
				      "%zu zero bytes after valid_end; valid_end %% 4096 = %zu\n", path,
				      aeg_wal_scan_status_name(sc.status), sc.valid_end, sc.damage_off, sc.garbage_end,
				      (unsigned long long)sc.records, (unsigned long long)last_index, z, sc.valid_end % 4096);
		}
	}
	assert_int_equal(aeg_wal_open(&w, &cfg), 0);
	int gi = itest_gi(&replay, 1);
	print_message("recovered %llu..%llu\n", (unsigned long long)replay.first[gi],
		      (unsigned long long)replay.last[gi]);
	assert_true(replay.last[gi] >= durable);
	assert_int_equal(replay.first[gi], 1);
	assert_int_equal(replay.bad + replay.out_of_order, 0);
	aeg_wal_close(w);
	failing_disk_teardown(&d);
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
		cmocka_unit_test(test_device_write_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
