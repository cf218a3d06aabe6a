/* Writes a small WAL for the aegis-walinspect test:
 *   wal_mklog DIR ENTRIES   -> entries 1..ENTRIES of group 1, flushed every 10 */
#define _GNU_SOURCE
#include "wal_itest_util.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: wal_mklog DIR ENTRIES\n");
		return 2;
	}
	struct aeg_wal_config cfg = { .dir = argv[1], .segment_bytes = 64 << 10, .segments_max = 64,
				      .batch_bytes_max = 16 << 10, .groups_max = 4 };
	struct aeg_wal *w;
	int rc = aeg_wal_open(&w, &cfg);
	uint64_t n = strtoull(argv[2], NULL, 0);
	for (uint64_t i = 1; rc == 0 && i <= n; i++) {
		rc = itest_append_one(w, 1, i, 1, 200);
		rc = rc == 1 ? 0 : rc < 0 ? rc : -EIO;
		if (rc == 0 && i % 10 == 0)
			rc = aeg_wal_flush(w, NULL, NULL);
	}
	if (rc == 0)
		rc = aeg_wal_flush(w, NULL, NULL);
	if (rc != 0) {
		fprintf(stderr, "wal_mklog: %s\n", strerror(-rc));
		return 1;
	}
	aeg_wal_close(w);
	return 0;
}
