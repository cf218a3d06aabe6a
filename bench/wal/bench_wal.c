/* aegis-bench-wal: throughput of the io_uring WAL writer with group commit,
 * side by side with a plain sequential write + fdatasync loop at the same
 * block size (the sync pattern the log achieved).
 *
 * For each record size (64 B, 128 B, 4 KiB) and batch limit, one thread
 * appends Raft entries of 64 groups (16 entries per group per call, like a
 * Ready), submits and polls, for --seconds; one batch is in flight while the
 * next fills. Reported: durable records/s, MiB/s written (headers and
 * padding included: what the disk sees), payload MiB/s, syncs/s, bytes/sync,
 * and the appending thread's CPU time per record (encode, CRC, submit, reap).
 *
 * Peers, on the same file system, for the same time, with bs = the log's
 * bytes/sync rounded up to 4 KiB, one write then fdatasync at a time (ours
 * and raw-uring run interleaved in short slices, see run_case):
 *   raw-uring  this program, io_uring write + linked fdatasync, O_DIRECT
 *              when the log used it (the floor any log pays for this pattern)
 *   fio        fio --ioengine=io_uring --fdatasync=1 [--direct=1], if installed
 * ratio = our MiB/s / peer MiB/s.
 *
 *   aegis-bench-wal [--dir DIR] [--seconds S] [--quick] [--dsync] [--groups N]
 * --groups N (default 64, up to 10,000) spreads the appends over N groups:
 * with 10,000 the per-batch cost shows whether the log's work grows with the
 * number of groups it knows rather than with the groups in each batch.
 * Data go to DIR (default: a new directory under /var/tmp, removed at the end). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "aegis/wal_log.h"

#define BENCH_NAME "aegis-bench-wal"
#define GROUPS_MAX 10000
static uint32_t groups = 64;
#define PER_CALL 16
#define MIB (1024.0 * 1024.0)
#define SEGMENT_BYTES (64ull << 20)

struct result {
	double seconds;
	double cpu_seconds;	/* the appending thread's CPU time */
	uint64_t records;
	uint64_t payload_bytes;
	uint64_t bytes_written;
	uint64_t syncs;
	bool direct;
};

struct bench_state {
	uint64_t durable_records;
	uint64_t durable_index[GROUPS_MAX + 1];
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s\n", BENCH_NAME, what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

static void on_durable(void *ctx, const struct aeg_wal_durable *d)
{
	struct bench_state *st = ctx;
	if (d->index == 0 || d->group > groups)
		return;
	st->durable_records += d->index - st->durable_index[d->group];
	st->durable_index[d->group] = d->index;
}

/* dir/name into out, or die: paths here are short, a long one is a usage error. */
static void join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap)
		die("path too long", ENAMETOOLONG);
}

static void rm_dir_files(const char *dir)
{
	char cmd[8192];
	int n = snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		die("path too long", ENAMETOOLONG);
	if (system(cmd) != 0)
		fprintf(stderr, "%s: could not remove %s\n", BENCH_NAME, dir);
}

/* Our log, kept open across the slices of one case. */
struct log_run {
	char dir[4096];
	struct aeg_wal *w;
	struct bench_state st;
	uint64_t next[GROUPS_MAX + 1];
	uint64_t syncs_at_compact;
	uint32_t rec_bytes;
	struct result total;
};

static bool dsync_mode; /* --dsync: RWF_DSYNC writes on both sides */

/* Ratios of every case, for the summary line: [0] raw-uring, [1] fio. */
#define CASES_MAX 16
static double ratios[2][CASES_MAX];
static int ratios_n[2];

static void ratio_add(int peer, double r)
{
	if (ratios_n[peer] < CASES_MAX && r > 0)
		ratios[peer][ratios_n[peer]++] = r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void ratio_summary(int peer, const char *name)
{
	int n = ratios_n[peer];
	if (n == 0)
		return;
	qsort(ratios[peer], (size_t)n, sizeof(double), cmp_double);
	double median = n % 2 ? ratios[peer][n / 2] : (ratios[peer][n / 2 - 1] + ratios[peer][n / 2]) / 2;
	printf("# ratio to %s over %d cases: median %.2f, min %.2f, max %.2f\n", name, n, median,
	       ratios[peer][0], ratios[peer][n - 1]);
	struct bench_json j;
	bench_json_begin(&j, BENCH_NAME);
	bench_json_str(&j, "summary", "ratio");
	bench_json_str(&j, "peer", name);
	bench_json_str(&j, "sync", dsync_mode ? "rwf_dsync" : "fdatasync");
	bench_json_u64(&j, "cases", (uint64_t)n);
	bench_json_f64(&j, "ratio", median);
	bench_json_f64(&j, "ratio_min", ratios[peer][0]);
	bench_json_f64(&j, "ratio_max", ratios[peer][n - 1]);
	bench_json_end(&j);
}

static void log_begin(struct log_run *l, const char *parent, uint32_t rec_bytes, uint32_t batch_bytes)
{
	char name[64];
	memset(l, 0, sizeof(*l));
	snprintf(name, sizeof(name), "log-%u-%u", rec_bytes, batch_bytes);
	join(l->dir, sizeof(l->dir), parent, name);
	if (mkdir(l->dir, 0755) != 0)
		die("mkdir", errno);
	struct aeg_wal_config cfg = { .dir = l->dir, .segment_bytes = SEGMENT_BYTES, .segments_initial = 4,
				      .segments_max = 16, .batch_bytes_max = batch_bytes,
				      .batches_inflight_max = 1, .groups_max = groups, .prezero = true,
				      .dsync = dsync_mode };
	int rc = aeg_wal_open(&l->w, &cfg);
	if (rc < 0)
		die("opening the log", rc);
	l->rec_bytes = rec_bytes;
	for (uint32_t g = 0; g <= groups; g++)
		l->next[g] = 1;
}

/* Appends as fast as the log takes entries for `seconds`, then flushes. */
static double thread_cpu_seconds(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_slice(struct log_run *l, double seconds)
{
	double cpu0 = thread_cpu_seconds();
	static uint8_t payload[4096];
	memset(payload, 0xa5, sizeof(payload));
	const struct aeg_wal_stats *s = aeg_wal_get_stats(l->w);
	uint64_t records0 = l->st.durable_records, bytes0 = s->bytes_written, syncs0 = s->syncs;
	uint64_t t0 = bench_now_ns(), deadline = t0 + (uint64_t)(seconds * 1e9);
	int rc;
	for (uint32_t g = 1; bench_now_ns() < deadline; g = g % groups + 1) {
		struct aeg_wal_entry e[PER_CALL];
		for (int i = 0; i < PER_CALL; i++)
			e[i] = (struct aeg_wal_entry){ .term = 1, .index = l->next[g] + (uint64_t)i,
						       .data = payload, .len = l->rec_bytes };
		int taken = aeg_wal_append_entries(l->w, g, e, PER_CALL, NULL);
		if (taken > 0)
			l->next[g] += (uint64_t)taken;
		else if (taken != -EAGAIN)
			die("append", taken);
		if ((rc = aeg_wal_submit(l->w)) < 0)
			die("submit", rc);
		/* Both buffers full: block until the disk takes the next batch. */
		rc = taken == -EAGAIN ? aeg_wal_wait(l->w, on_durable, &l->st) : aeg_wal_poll(l->w, on_durable, &l->st);
		if (rc < 0)
			die("poll", rc);
		if (s->syncs - l->syncs_at_compact >= 32) {
			/* As if every group snapshotted: lets old segments be reused. */
			l->syncs_at_compact = s->syncs;
			for (uint32_t k = 1; k <= groups; k++)
				if (l->st.durable_index[k] != 0 &&
				    (rc = aeg_wal_compact(l->w, k, l->st.durable_index[k])) < 0)
					die("compact", rc);
		}
	}
	if ((rc = aeg_wal_flush(l->w, on_durable, &l->st)) < 0)
		die("flush", rc);
	l->total.seconds += (double)(bench_now_ns() - t0) / 1e9;
	l->total.cpu_seconds += thread_cpu_seconds() - cpu0;
	l->total.records += l->st.durable_records - records0;
	l->total.payload_bytes += (l->st.durable_records - records0) * l->rec_bytes;
	l->total.bytes_written += s->bytes_written - bytes0;
	l->total.syncs += s->syncs - syncs0;
	l->total.direct = s->direct;
}

static void log_end(struct log_run *l)
{
	aeg_wal_close(l->w);
	rm_dir_files(l->dir);
}

/* The peer: one io_uring write + linked fdatasync at a time, sequential,
 * wrapping in a preallocated file of file_bytes. */
struct raw_run {
	char path[4096];
	int fd;
	void *buf;
	uint32_t bs;
	uint64_t off, file_bytes;
	struct io_uring ring;
	struct result total;
};

/* bs_max: the largest block a slice may use (the buffer is registered once). */
static void raw_begin(struct raw_run *r, const char *parent, uint32_t bs_max, uint64_t file_bytes, bool direct)
{
	memset(r, 0, sizeof(*r));
	join(r->path, sizeof(r->path), parent, "raw.dat");
	r->fd = open(r->path, O_RDWR | O_CREAT | O_TRUNC | (direct ? O_DIRECT : 0), 0644);
	if (r->fd < 0)
		die("open raw.dat", errno);
	uint32_t bs = bs_max;
	r->file_bytes = file_bytes / bs * bs;
	if (r->file_bytes < 16ull * bs)
		r->file_bytes = 16ull * bs;
	if (fallocate(r->fd, 0, 0, (off_t)r->file_bytes) != 0)
		die("fallocate raw.dat", errno);
	if (posix_memalign(&r->buf, 4096, bs) != 0)
		die("posix_memalign", ENOMEM);
	/* Laid out once, like fio does and like the log's prezeroed segments. */
	memset(r->buf, 0, bs);
	for (uint64_t off = 0; off < r->file_bytes; off += bs)
		if (pwrite(r->fd, r->buf, bs, (off_t)off) != (ssize_t)bs)
			die("laying out raw.dat", errno);
	if (fdatasync(r->fd) != 0)
		die("fdatasync raw.dat", errno);
	memset(r->buf, 0x5a, bs);
	int rc = io_uring_queue_init(8, &r->ring, 0);
	if (rc < 0)
		die("io_uring_queue_init", rc);
	struct iovec iov = { .iov_base = r->buf, .iov_len = bs };
	if ((rc = io_uring_register_buffers(&r->ring, &iov, 1)) < 0)
		die("io_uring_register_buffers", rc);
	r->total.direct = direct;
}

static void raw_slice(struct raw_run *r, uint32_t bs, double seconds)
{
	r->bs = bs;
	uint64_t t0 = bench_now_ns(), deadline = t0 + (uint64_t)(seconds * 1e9);
	while (bench_now_ns() < deadline) {
		unsigned ops = dsync_mode ? 1 : 2;
		struct io_uring_sqe *wr = io_uring_get_sqe(&r->ring);
		io_uring_prep_write_fixed(wr, r->fd, r->buf, r->bs, r->off, 0);
		if (dsync_mode) {
			wr->rw_flags = RWF_DSYNC;
		} else {
			wr->flags |= IOSQE_IO_LINK;
			io_uring_prep_fsync(io_uring_get_sqe(&r->ring), r->fd, IORING_FSYNC_DATASYNC);
		}
		int rc = io_uring_submit_and_wait(&r->ring, ops);
		if (rc < 0)
			die("io_uring_submit_and_wait", rc);
		for (unsigned i = 0; i < ops; i++) {
			struct io_uring_cqe *cqe;
			if ((rc = io_uring_wait_cqe(&r->ring, &cqe)) < 0)
				die("io_uring_wait_cqe", rc);
			if (cqe->res < 0 || (i == 0 && (uint32_t)cqe->res != r->bs))
				die("raw write/fdatasync", cqe->res < 0 ? cqe->res : -EIO);
			io_uring_cqe_seen(&r->ring, cqe);
		}
		r->total.bytes_written += r->bs;
		r->total.syncs++;
		r->off += r->bs;
		if (r->off + r->bs > r->file_bytes)
			r->off = 0;
	}
	r->total.seconds += (double)(bench_now_ns() - t0) / 1e9;
}

static void raw_end(struct raw_run *r)
{
	io_uring_queue_exit(&r->ring);
	free(r->buf);
	close(r->fd);
	if (unlink(r->path) != 0)
		die("unlink raw.dat", errno);
}

/* fio on PATH? Never installs anything. */
static bool have_fio(void)
{
	return system("command -v fio >/dev/null 2>&1") == 0;
}

/* Runs fio with the same pattern; returns MiB/s and syncs/s, or -1. */
static double run_fio(const char *parent, uint32_t bs, uint64_t file_bytes, bool direct, double seconds,
		      double *syncs_per_s)
{
	char cmd[16384], out[4096], data[4096];
	join(out, sizeof(out), parent, "fio.json");
	join(data, sizeof(data), parent, "fio.dat");
	file_bytes = file_bytes / bs * bs;
	if (file_bytes < 16ull * bs)
		file_bytes = 16ull * bs;
	int n = snprintf(cmd, sizeof(cmd),
		 "fio --name=walpeer --filename='%s' --ioengine=io_uring --rw=write --bs=%u "
		 "--size=%llu %s --direct=%d --iodepth=1 --time_based --runtime=%.0fms "
		 "--output-format=json --output='%s' >/dev/null 2>&1",
		 data, bs, (unsigned long long)file_bytes, dsync_mode ? "--sync=dsync" : "--fdatasync=1",
		 direct ? 1 : 0, seconds * 1000, out);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		die("fio command too long", ENAMETOOLONG);
	int rc = system(cmd);
	unlink(data);
	FILE *f = fopen(out, "r");
	if (rc != 0 || f == NULL) {
		if (f != NULL)
			fclose(f);
		fprintf(stderr, "%s: fio failed (exit %d): %s\n", BENCH_NAME, rc, cmd);
		return -1;
	}
	static char json[1 << 20];
	size_t got = fread(json, 1, sizeof(json) - 1, f);
	fclose(f);
	unlink(out);
	json[got] = '\0';
	/* The job's "write" object (not the "rw" : "write" option), then its
	 * bw_bytes and iops. */
	const char *wsec = strstr(json, "\"write\" : {");
	if (wsec == NULL)
		wsec = strstr(json, "\"write\":{");
	const char *bw = wsec != NULL ? strstr(wsec, "\"bw_bytes\"") : NULL;
	const char *iops = wsec != NULL ? strstr(wsec, "\"iops\"") : NULL;
	if (bw == NULL || iops == NULL || strchr(bw, ':') == NULL || strchr(iops, ':') == NULL) {
		fprintf(stderr, "%s: could not read fio's JSON output\n", BENCH_NAME);
		return -1;
	}
	double bw_bytes = strtod(strchr(bw, ':') + 1, NULL);
	*syncs_per_s = strtod(strchr(iops, ':') + 1, NULL);
	return bw_bytes / MIB;
}

static void print_row(const char *what, uint32_t rec_bytes, uint32_t batch_bytes, double records_s, double mib_s,
		      double payload_mib_s, double syncs_s, double bytes_sync, double cpu_ns, double ratio)
{
	char ratio_s[32] = "", cpu_s[32] = "";
	if (ratio > 0)
		snprintf(ratio_s, sizeof(ratio_s), "%.2f", ratio);
	if (cpu_ns > 0)
		snprintf(cpu_s, sizeof(cpu_s), "%.0f", cpu_ns);
	printf("%-10s %6u %8u %12.0f %9.1f %9.1f %9.0f %10.0f %8s %7s\n", what, rec_bytes, batch_bytes >> 10,
	       records_s, mib_s, payload_mib_s, syncs_s, bytes_sync, cpu_s, ratio_s);
}

static void json_peer(const char *peer, uint32_t rec_bytes, uint32_t batch_bytes, uint32_t bs, double mib_s,
		      double syncs_s, double ours_mib_s, bool direct)
{
	struct bench_json j;
	bench_json_begin(&j, BENCH_NAME);
	bench_json_str(&j, "peer", peer);
	bench_json_str(&j, "sync", dsync_mode ? "rwf_dsync" : "fdatasync");
	bench_json_u64(&j, "record_bytes", rec_bytes);
	bench_json_u64(&j, "batch_bytes_max", batch_bytes);
	bench_json_u64(&j, "bs", bs);
	bench_json_u64(&j, "direct", direct);
	bench_json_f64(&j, "mib_per_s", mib_s);
	bench_json_f64(&j, "syncs_per_s", syncs_s);
	bench_json_f64(&j, "ours_mib_per_s", ours_mib_s);
	bench_json_f64(&j, "ratio", mib_s > 0 ? ours_mib_s / mib_s : 0);
	bench_json_end(&j);
}

static double mib_per_s(const struct result *r)
{
	return (double)r->bytes_written / MIB / r->seconds;
}

/* The disk is shared here and its speed swings within seconds, so ours and
 * raw-uring run interleaved in SLICES short slices each, and each side's
 * figures are its totals: both see the same mix of good and bad moments.
 * Each raw-uring slice writes blocks of the bytes/sync the log achieved in
 * the slice just before (that also moves with the disk's speed). */
#define SLICES 10

static void run_case(const char *dir, uint32_t rec_bytes, uint32_t batch_bytes, double seconds, bool fio)
{
	struct log_run *l = calloc(1, sizeof(*l));
	struct raw_run *rr = calloc(1, sizeof(*rr));
	if (l == NULL || rr == NULL)
		die("calloc", ENOMEM);
	log_begin(l, dir, rec_bytes, batch_bytes);
	/* The log's working set (its 4 prezeroed segments, recycled), laid out
	 * before: on both sides every write lands on allocated blocks. */
	raw_begin(rr, dir, batch_bytes, 4 * SEGMENT_BYTES, aeg_wal_get_stats(l->w)->direct);
	for (int i = 0; i < SLICES; i++) {
		struct result before = l->total;
		log_slice(l, seconds / SLICES);
		uint64_t syncs = l->total.syncs - before.syncs;
		if (syncs == 0)
			die("no sync completed", EIO);
		double per_sync = (double)(l->total.bytes_written - before.bytes_written) / (double)syncs;
		raw_slice(rr, (uint32_t)((per_sync + 4095) / 4096) * 4096, seconds / SLICES);
	}
	uint32_t bs = (uint32_t)(((double)rr->total.bytes_written / (double)rr->total.syncs + 4095) / 4096) * 4096;
	struct result o = l->total, raw = rr->total;
	log_end(l);
	raw_end(rr);
	free(l);
	free(rr);
	double mib_s = mib_per_s(&o);
	double syncs_s = (double)o.syncs / o.seconds;
	double bytes_sync = o.syncs != 0 ? (double)o.bytes_written / (double)o.syncs : 0;
	print_row("aegis-wal", rec_bytes, batch_bytes, (double)o.records / o.seconds, mib_s,
		  (double)o.payload_bytes / MIB / o.seconds, syncs_s, bytes_sync,
		  o.records != 0 ? o.cpu_seconds * 1e9 / (double)o.records : 0, 0);
	struct bench_json j;
	bench_json_begin(&j, BENCH_NAME);
	bench_json_str(&j, "case", "aegis-wal");
	bench_json_str(&j, "sync", dsync_mode ? "rwf_dsync" : "fdatasync");
	bench_json_u64(&j, "record_bytes", rec_bytes);
	bench_json_u64(&j, "batch_bytes_max", batch_bytes);
	bench_json_u64(&j, "groups", groups);
	bench_json_u64(&j, "direct", o.direct);
	bench_json_f64(&j, "seconds", o.seconds);
	bench_json_f64(&j, "records_per_s", (double)o.records / o.seconds);
	bench_json_f64(&j, "mib_per_s", mib_s);
	bench_json_f64(&j, "payload_mib_per_s", (double)o.payload_bytes / MIB / o.seconds);
	bench_json_f64(&j, "syncs_per_s", syncs_s);
	bench_json_f64(&j, "bytes_per_sync", bytes_sync);
	bench_json_f64(&j, "cpu_ns_per_record", o.records != 0 ? o.cpu_seconds * 1e9 / (double)o.records : 0);
	bench_json_f64(&j, "cpu_us_per_batch", o.syncs != 0 ? o.cpu_seconds * 1e6 / (double)o.syncs : 0);
	bench_json_end(&j);
	printf("# aegis-wal %u B records, %u KiB batches, %u groups: %.1f us CPU per batch (%.0f records per batch)\n",
	       rec_bytes, batch_bytes >> 10, groups, o.syncs != 0 ? o.cpu_seconds * 1e6 / (double)o.syncs : 0,
	       o.syncs != 0 ? (double)o.records / (double)o.syncs : 0);
	double raw_mib = mib_per_s(&raw);
	if (raw.syncs == 0)
		return;
	print_row("raw-uring", rec_bytes, batch_bytes, 0, raw_mib, 0, (double)raw.syncs / raw.seconds, bs, 0,
		  mib_s / raw_mib);
	json_peer("raw-uring", rec_bytes, batch_bytes, bs, raw_mib, (double)raw.syncs / raw.seconds, mib_s, o.direct);
	ratio_add(0, mib_s / raw_mib);
	if (!fio)
		return;
	double fio_syncs = 0;
	/* Same file size as raw-uring (the log's working set); fio lays it out
	 * before its timed run. One run, after the pair (its start-up is too
	 * slow for slices), so its figure saw other moments of the disk. */
	double fio_mib = run_fio(dir, bs, 4 * SEGMENT_BYTES, o.direct, seconds, &fio_syncs);
	if (fio_mib <= 0)
		return;
	print_row("fio", rec_bytes, batch_bytes, 0, fio_mib, 0, fio_syncs, bs, 0, mib_s / fio_mib);
	json_peer("fio", rec_bytes, batch_bytes, bs, fio_mib, fio_syncs, mib_s, o.direct);
	ratio_add(1, mib_s / fio_mib);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [--dir DIR] [--seconds S] [--quick] [--dsync]\n"
		   "  --dir DIR     where the log and peer files go (default: a new dir under /var/tmp,\n"
		   "                removed at the end); pick the file system you want measured\n"
		   "  --seconds S   per side and case (default 2; the run takes about 9 x 3 x S with fio,\n"
		   "                9 x 2 x S without)\n"
		   "  --quick       one record size and one batch limit\n"
		   "  --dsync       RWF_DSYNC writes instead of write + linked fdatasync, on both sides\n"
		   "  --groups N    spread the appends over N groups (default 64, at most 10000)\n",
		BENCH_NAME);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "seconds", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ "dsync", no_argument, NULL, 'y' },
		{ "groups", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *user_dir = NULL;
	double seconds = 2.0;
	bool quick = false;
	int c;
	while ((c = getopt_long(argc, argv, "d:s:qyg:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': user_dir = optarg; break;
		case 's': seconds = strtod(optarg, NULL); break;
		case 'q': quick = true; break;
		case 'y': dsync_mode = true; break;
		case 'g': groups = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (seconds <= 0 || seconds > 600 || groups == 0 || groups > GROUPS_MAX) {
		usage(stderr);
		return 2;
	}
	char dir[1024];
	join(dir, sizeof(dir), user_dir != NULL ? user_dir : "/var/tmp", "aegis-bench-wal-XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", errno);
	bool fio = have_fio();
	struct statfs sfs;
	char setup[8192];
	snprintf(setup, sizeof(setup),
		 "dir %s (fs magic 0x%lx), 64 MiB segments (prezeroed, recycled), 1 batch in flight + 1 "
		 "filling, %u groups, "
		 "%d entries per append, %.1f s per side, in %d interleaved slices; sync: %s; peers: raw-uring%s",
		 dir, statfs(dir, &sfs) == 0 ? (unsigned long)sfs.f_type : 0ul, groups, PER_CALL, seconds, SLICES,
		 dsync_mode ? "RWF_DSYNC writes" : "write + linked fdatasync",
		 fio ? ", fio" : "");
	bench_print_setup(BENCH_NAME, setup);
	if (!fio)
		printf("# fio not found: no fio rows. Install it with `apt-get install fio` "
		       "(or tools/setup.sh); this benchmark installs nothing.\n");
	printf("%-10s %6s %8s %12s %9s %9s %9s %10s %8s %7s\n", "what", "rec_B", "batchKiB", "records/s", "MiB/s",
	       "payloadMB", "syncs/s", "bytes/sync", "cpu_ns/r", "ratio");
	static const uint32_t rec_sizes[] = { 64, 128, 4096 };
	static const uint32_t batch_limits[] = { 64 << 10, 256 << 10, 1 << 20 };
	for (size_t i = 0; i < (quick ? 1 : sizeof(rec_sizes) / sizeof(rec_sizes[0])); i++)
		for (size_t k = 0; k < (quick ? 1 : sizeof(batch_limits) / sizeof(batch_limits[0])); k++)
			run_case(dir, rec_sizes[i], batch_limits[k], seconds, fio);
	ratio_summary(0, "raw-uring");
	ratio_summary(1, "fio");
	rm_dir_files(dir);
	return 0;
}
