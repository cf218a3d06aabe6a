/* WAL crash test. A child appends to the log with real io_uring writes and
 * fdatasync, and reports each (group, index) on a pipe only after its batch
 * completed durably. The parent kills it with SIGKILL at a random time,
 * drains the pipe, recovers the log and checks: every reported record is
 * there, each group's entries are contiguous and in order, and every payload
 * is intact. Then the next round continues the same log.
 *
 *   test_wal_crash [rounds] [seed]     defaults: 25 rounds, a fixed seed
 *   AEGIS_TEST_DIR=/path               file system to test (default /var/tmp)
 *
 * Long run (documented in dataplane/wal/README.md):
 *   nice build/tests/integration/test_wal_crash 2000 $RANDOM   (about 6 minutes) */
#define _GNU_SOURCE
#include "wal_itest_util.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#define GROUPS 4
#define LEN_MAX 600

struct report {
	uint64_t group;
	uint64_t index;
};

static int report_fd = -1;

static void child_on_durable(void *ctx, const struct aeg_wal_durable *d)
{
	(void)ctx;
	if (d->index == 0)
		return;
	struct report r = { d->group, d->index };
	/* 16 bytes: atomic on a pipe. A failed write only loses a report. */
	if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(3);
}

static void child_die(const char *what, int rc)
{
	fprintf(stderr, "crash child: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	_exit(4);
}

static struct aeg_wal_config crash_config(const char *dir, struct itest_log *replay)
{
	return (struct aeg_wal_config){ .dir = dir, .segment_bytes = 256 << 10, .segments_initial = 2,
					.segments_max = 256, .batch_bytes_max = 32 << 10,
					.batches_inflight_max = 2, .groups_max = GROUPS + 1,
					.replay = itest_replay, .replay_ctx = replay };
}

static void child_main(const char *dir, uint64_t seed, uint64_t term)
{
	struct itest_log replay = { .len_max = LEN_MAX };
	struct aeg_wal_config cfg = crash_config(dir, &replay);
	cfg.dsync = term % 2 == 0; /* every other round: RWF_DSYNC writes */
	struct aeg_wal *w;
	if (aeg_wal_open(&w, &cfg) != 0 || replay.bad != 0 || replay.out_of_order != 0)
		_exit(2);
	uint64_t next[GROUPS + 1];
	for (uint64_t g = 1; g <= GROUPS; g++) {
		next[g] = aeg_wal_last_index(w, g) + 1;
		/* Keep the log bounded: entries up to here were verified already. */
		if (next[g] > 1 && aeg_wal_compact(w, g, next[g] - 1) < 0)
			_exit(2);
	}
	uint8_t bufs[8][LEN_MAX];
	uint64_t rng = seed;
	/* Bounded: the parent kills us long before; if not, stop cleanly. */
	for (int iter = 0; iter < 200000; iter++) {
		uint64_t g = 1 + itest_mix(rng++) % GROUPS;
		int k = 1 + (int)(itest_mix(rng++) % 8);
		struct aeg_wal_entry e[8];
		for (int i = 0; i < k; i++) {
			uint64_t idx = next[g] + (uint64_t)i;
			e[i] = (struct aeg_wal_entry){ .term = term, .index = idx, .data = bufs[i] };
			e[i].len = itest_payload(bufs[i], LEN_MAX, g, idx, term);
		}
		int rc = aeg_wal_append_entries(w, g, e, (size_t)k, NULL);
		if (rc > 0)
			next[g] += (uint64_t)rc;
		if (rc < 0 && rc != -EAGAIN)
			child_die("append", rc);
		int hs = rc > 0 && itest_mix(rng++) % 64 == 0 ? aeg_wal_set_hard_state(w, g, term, g, next[g] - 1, NULL) : 0;
		if (hs < 0 && hs != -EAGAIN)
			child_die("hard state", hs);
		int s = aeg_wal_submit(w);
		if (s < 0)
			child_die("submit", s);
		int p = rc == -EAGAIN ? aeg_wal_wait(w, child_on_durable, NULL) : aeg_wal_poll(w, child_on_durable, NULL);
		if (p < 0)
			child_die("poll", p);
	}
	int f = aeg_wal_flush(w, child_on_durable, NULL);
	if (f != 0)
		child_die("flush", f);
	aeg_wal_close(w);
	_exit(0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads reports until the deadline (0: until EOF). */
static void read_reports(int fd, uint64_t deadline, uint64_t max_rep[GROUPS + 1], uint64_t min_rep[GROUPS + 1],
			 uint64_t *count)
{
	for (;;) {
		if (deadline != 0 && now_ms() >= deadline)
			return;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = poll(&pfd, 1, deadline == 0 ? -1 : 5);
		if (rc <= 0)
			continue;
		struct report r[256];
		ssize_t n = read(fd, r, sizeof(r));
		if (n <= 0)
			return;
		for (size_t i = 0; i < (size_t)n / sizeof(r[0]); i++) {
			if (r[i].group < 1 || r[i].group > GROUPS)
				continue;
			if (r[i].index > max_rep[r[i].group])
				max_rep[r[i].group] = r[i].index;
			if (min_rep[r[i].group] == 0 || r[i].index < min_rep[r[i].group])
				min_rep[r[i].group] = r[i].index;
			(*count)++;
		}
	}
}

static int verify(const char *dir, const uint64_t max_rep[GROUPS + 1], const uint64_t min_rep[GROUPS + 1],
		  uint64_t *recovered)
{
	struct itest_log replay = { .len_max = LEN_MAX };
	struct aeg_wal_config cfg = crash_config(dir, &replay);
	struct aeg_wal *w;
	int rc = aeg_wal_open(&w, &cfg);
	if (rc != 0) {
		fprintf(stderr, "crash: recovery failed: %s\n", strerror(-rc));
		return -1;
	}
	aeg_wal_close(w);
	if (replay.bad != 0 || replay.out_of_order != 0) {
		fprintf(stderr, "crash: %llu corrupt and %llu out-of-order entries recovered\n",
			(unsigned long long)replay.bad, (unsigned long long)replay.out_of_order);
		return -1;
	}
	for (uint64_t g = 1; g <= GROUPS; g++) {
		int gi = itest_gi(&replay, g);
		uint64_t last = replay.last[gi], first = replay.first[gi];
		*recovered += last;
		if (max_rep[g] > last || (min_rep[g] != 0 && first > min_rep[g])) {
			fprintf(stderr, "crash: group %llu: reported durable %llu..%llu, recovered %llu..%llu\n",
				(unsigned long long)g, (unsigned long long)min_rep[g], (unsigned long long)max_rep[g],
				(unsigned long long)first, (unsigned long long)last);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 25;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 0) : 0xc0ffee;
	const char *base = getenv("AEGIS_TEST_DIR") != NULL ? getenv("AEGIS_TEST_DIR") : "/var/tmp";
	char *dir = itest_tmpdir(base);
	if (dir == NULL) {
		perror("crash: mkdtemp");
		return 1;
	}
	printf("crash test: %d rounds, seed 0x%llx, dir %s\n", rounds, (unsigned long long)seed, dir);
	uint64_t reported_total = 0, recovered = 0;
	int failed = 0;
	for (int round = 0; round < rounds && !failed; round++) {
		int fds[2];
		if (pipe(fds) != 0) {
			perror("crash: pipe");
			return 1;
		}
		uint64_t child_seed = itest_mix(seed + (uint64_t)round);
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("crash: fork");
			return 1;
		}
		if (pid == 0) {
			close(fds[0]);
			report_fd = fds[1];
			child_main(dir, child_seed, (uint64_t)round + 1);
		}
		close(fds[1]);
		uint64_t max_rep[GROUPS + 1] = { 0 }, min_rep[GROUPS + 1] = { 0 }, count = 0;
		uint64_t kill_after_ms = 5 + itest_mix(child_seed) % 150;
		read_reports(fds[0], now_ms() + kill_after_ms, max_rep, min_rep, &count);
		if (kill(pid, SIGKILL) != 0)
			perror("crash: kill");
		read_reports(fds[0], 0, max_rep, min_rep, &count);
		close(fds[0]);
		int status;
		if (waitpid(pid, &status, 0) != pid) {
			perror("crash: waitpid");
			return 1;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
			fprintf(stderr, "crash: round %d: child failed with exit code %d\n", round, WEXITSTATUS(status));
			failed = 1;
			break;
		}
		reported_total += count;
		recovered = 0;
		if (verify(dir, max_rep, min_rep, &recovered) != 0)
			failed = 1;
		if (failed)
			fprintf(stderr, "crash: round %d failed (seed 0x%llx, rounds %d); log kept in %s\n", round,
				(unsigned long long)seed, rounds, dir);
	}
	printf("crash test: %s, %llu durable reports checked, %llu entries in the final log\n",
	       failed ? "FAILED" : "ok", (unsigned long long)reported_total, (unsigned long long)recovered);
	if (!failed)
		itest_rmtree(dir);
	return failed;
}
