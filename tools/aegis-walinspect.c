/* aegis-walinspect: lists the segments and records of a WAL directory (or
 * single segment files), verifies every checksum and prints the damage point.
 * Exit code 0: the log recovers cleanly (a torn tail is fine: it was never
 * acknowledged); 1: damage recovery would refuse; 2: usage or I/O error. */
#define _GNU_SOURCE
#include "aegis/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOTS_MAX 100000

struct seg_file {
	char path[4096];
	int slot;
	bool hdr_ok;
	struct aeg_wal_seg_hdr hdr;
	int hdr_error;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: aegis-walinspect [--records] [--quiet] DIR | SEGMENT_FILE...\n"
		   "\n"
		   "Lists the segments of an Aegis write-ahead log (seg-NNNNNN.wal files in DIR, or\n"
		   "the given files), verifies the checksum of every record and prints where the\n"
		   "valid records end and why. For a directory it checks the log as recovery does:\n"
		   "every segment from the log start to the newest present, all but the newest sealed.\n"
		   "\n"
		   "  -r, --records  print every record (offset, type, group, term, index, length)\n"
		   "  -q, --quiet    print only problems\n"
		   "  -h, --help     this text\n"
		   "\n"
		   "Exit code: 0 the log recovers (a torn tail is truncated: it was never\n"
		   "acknowledged), 1 damage that recovery refuses, 2 usage or I/O error.\n");
}

static int map_file(const char *path, uint8_t **img, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? -errno : 0;
	*len = rc == 0 ? (size_t)st.st_size : 0;
	*img = NULL;
	if (rc == 0 && *len != 0) {
		void *p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			rc = -errno;
		else
			*img = p;
	}
	close(fd);
	return rc;
}

static void print_records(const uint8_t *img, const struct aeg_wal_scan *sc)
{
	size_t pos = AEG_WAL_SEG_HDR_BYTES;
	struct aeg_wal_rec r;
	for (;;) {
		size_t at = pos;
		if (aeg_wal_next(&r, img, sc->valid_end, &pos, sc->hdr.seq) != 1)
			break;
		if (r.type == AEG_WAL_PAD)
			continue;
		printf("    %10zu %-10s group %llu term %llu index %llu len %u", at, aeg_wal_type_name(r.type),
		       (unsigned long long)r.group, (unsigned long long)r.term, (unsigned long long)r.index, r.len);
		if (r.entry_type != 0)
			printf(" entry type %u", r.entry_type);
		putchar('\n');
	}
}

/* Scans one file; last: may end without a seal. Returns 0 ok, 1 damaged, 2 error. */
static int inspect(const char *path, bool last, bool records, bool quiet)
{
	uint8_t *img = NULL;
	size_t len = 0;
	int rc = map_file(path, &img, &len);
	if (rc < 0) {
		fprintf(stderr, "aegis-walinspect: %s: %s\n", path, strerror(-rc));
		return 2;
	}
	struct aeg_wal_scan sc;
	rc = aeg_wal_scan_segment(&sc, img, len);
	int verdict = 0;
	if (rc < 0 || sc.status == AEG_WAL_SCAN_BAD_HEADER) {
		printf("%s: bad header (%s)\n", path, strerror(-sc.hdr_error));
		verdict = 1;
	} else {
		bool bad = sc.status == AEG_WAL_SCAN_DAMAGED || (!last && sc.status != AEG_WAL_SCAN_SEALED);
		if (!quiet || bad)
			printf("%s: seq %llu, log start %llu, worker %u, %llu bytes, torn window %u: %llu records, "
			       "valid to offset %zu, %s\n",
			       path, (unsigned long long)sc.hdr.seq, (unsigned long long)sc.hdr.log_start_seq,
			       sc.hdr.worker_id, (unsigned long long)sc.hdr.segment_bytes, sc.hdr.torn_window_bytes,
			       (unsigned long long)sc.records, sc.valid_end, aeg_wal_scan_status_name(sc.status));
		if (sc.status == AEG_WAL_SCAN_DAMAGED)
			printf("  DAMAGE at offset %zu: valid records follow up to offset %zu, beyond the torn "
			       "window: recovery refuses this log\n", sc.damage_off, sc.garbage_end);
		else if (bad)
			printf("  DAMAGE at offset %zu: a segment that is not the newest must end with a seal\n",
			       sc.valid_end);
		else if (sc.status == AEG_WAL_SCAN_TORN && !quiet)
			printf("  torn tail at offset %zu (up to %zu): recovery truncates it\n", sc.damage_off,
			       sc.garbage_end);
		if (records)
			print_records(img, &sc);
		verdict = bad ? 1 : 0;
	}
	if (img != NULL)
		munmap(img, len);
	return verdict;
}

static int read_header(struct seg_file *f)
{
	uint8_t buf[AEG_WAL_SEG_HDR_BYTES];
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	f->hdr_error = n == (ssize_t)sizeof(buf) ? aeg_wal_seg_hdr_decode(&f->hdr, buf, sizeof(buf)) : -EINVAL;
	f->hdr_ok = f->hdr_error > 0;
	return 0;
}

static int inspect_dir(const char *dir, bool records, bool quiet)
{
	static struct seg_file files[256];
	size_t n = 0;
	uint64_t newest = 0, start = 0;
	for (int slot = 0; slot < SLOTS_MAX && n < sizeof(files) / sizeof(files[0]); slot++) {
		struct seg_file *f = &files[n];
		snprintf(f->path, sizeof(f->path), "%s/seg-%06d.wal", dir, slot);
		f->slot = slot;
		int rc = read_header(f);
		if (rc == -ENOENT)
			break;
		if (rc < 0) {
			fprintf(stderr, "aegis-walinspect: %s: %s\n", f->path, strerror(-rc));
			return 2;
		}
		if (f->hdr_error == -EPROTONOSUPPORT) {
			printf("%s: format version %u, this tool reads versions %u to %u\n", f->path, f->hdr.version,
			       AEG_WAL_VERSION_MIN, AEG_WAL_VERSION);
			return 1;
		}
		if (f->hdr_ok && f->hdr.seq > newest) {
			newest = f->hdr.seq;
			start = f->hdr.log_start_seq;
		}
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "aegis-walinspect: no segment files (seg-NNNNNN.wal) in %s\n", dir);
		return 2;
	}
	if (!quiet)
		printf("%s: %zu segment files, log runs from sequence %llu to %llu\n", dir, n,
		       (unsigned long long)start, (unsigned long long)newest);
	int verdict = 0;
	for (uint64_t seq = start; newest != 0 && seq <= newest; seq++) {
		struct seg_file *found = NULL;
		for (size_t i = 0; i < n; i++)
			if (files[i].hdr_ok && files[i].hdr.seq == seq)
				found = &files[i];
		if (found == NULL) {
			printf("DAMAGE: segment sequence %llu is missing or its header is damaged\n",
			       (unsigned long long)seq);
			verdict = 1;
			continue;
		}
		int v = inspect(found->path, seq == newest, records, quiet);
		if (v > verdict)
			verdict = v;
	}
	for (size_t i = 0; i < n && !quiet; i++)
		if (!files[i].hdr_ok || files[i].hdr.seq < start)
			printf("%s: not part of the log (%s)\n", files[i].path,
			       files[i].hdr_ok ? "released, to be reused" : "never used or header not valid");
	return verdict;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "records", no_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool records = false, quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "rqh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': records = true; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	int verdict = 0;
	for (int i = optind; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "aegis-walinspect: %s: %s\n", argv[i], strerror(errno));
			return 2;
		}
		int v = S_ISDIR(st.st_mode) ? inspect_dir(argv[i], records, quiet)
					    : inspect(argv[i], true, records, quiet);
		if (v > verdict)
			verdict = v;
	}
	return verdict;
}
