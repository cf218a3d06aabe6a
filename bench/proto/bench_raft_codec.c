/* aegis-bench-raft-codec: cost of aeg_raft_msg_encode/decode on one core,
 * for the messages a busy group sends most: an append of 64 entries of
 * 64 bytes (one term), a heartbeat, and an append response. Decode
 * includes every check; encode includes the size pass. Prints the setup,
 * a table, and one JSON line per result.
 *
 *   aegis-bench-raft-codec [--time-ms N]   (N ms per case, default 200) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis/raft_codec.h"
#include "common.h"

#define ENTS 64
#define ENTRY_BYTES 64

static uint64_t case_ns = 200 * 1000000ull;
static uint8_t buf[ENTS * (ENTRY_BYTES + 4) + 64];

/* CPU time of this thread: the machine is shared, wall time is reported too. */
static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "aegis-bench-raft-codec: %s: %s\n", what, strerror(-rc));
	exit(1);
}

static void report(const char *op, const char *msg, size_t bytes, uint64_t n, uint64_t cpu0,
		   uint64_t wall0)
{
	double ns = (double)(cpu_now_ns() - cpu0) / (double)n;
	double wall = (double)(bench_now_ns() - wall0) / (double)n;
	printf("%-7s %-11s %6zu %10.1f %10.1f %9.3f\n", op, msg, bytes, ns, wall, 1e3 / ns);
	struct bench_json j;
	bench_json_begin(&j, "aegis-bench-raft-codec");
	bench_json_str(&j, "op", op);
	bench_json_str(&j, "msg", msg);
	bench_json_u64(&j, "msg_bytes", bytes);
	bench_json_f64(&j, "ns_per_msg", ns);
	bench_json_f64(&j, "wall_ns_per_msg", wall);
	bench_json_f64(&j, "mmsgs_per_s", 1e3 / ns);
	bench_json_end(&j);
}

static void bench_encode(const char *name, struct aeg_raft_msg *m)
{
	uint64_t n = 0, sink = 0, wall0 = bench_now_ns(), cpu0 = cpu_now_ns();
	int len = 0;
	do {
		for (int i = 0; i < 256; i++, n++) {
			m->term = 42 + (n & 1);  /* a new message each time */
			len = aeg_raft_msg_encode(m, buf, sizeof(buf));
			if (len < 0)
				die("encode", len);
			sink += buf[len - 1];
		}
	} while (cpu_now_ns() - cpu0 < case_ns);
	bench_consume_u64(sink);
	report("encode", name, (size_t)len, n, cpu0, wall0);
}

static void bench_decode(const char *name, struct aeg_raft_msg *m)
{
	int len = aeg_raft_msg_encode(m, buf, sizeof(buf));
	if (len < 0)
		die("encode", len);
	static struct aeg_raft_entry ents[ENTS];
	struct aeg_raft_conf conf;
	uint64_t n = 0, sink = 0, wall0 = bench_now_ns(), cpu0 = cpu_now_ns();
	do {
		for (int i = 0; i < 256; i++, n++) {
			struct aeg_raft_msg out;
			int rc = aeg_raft_msg_decode(&out, ents, ENTS, &conf, buf, (size_t)len);
			if (rc != 0)
				die("decode", rc);
			sink += out.term + out.n_entries + (out.n_entries ? ents[ENTS - 1].len : 0);
		}
	} while (cpu_now_ns() - cpu0 < case_ns);
	bench_consume_u64(sink);
	report("decode", name, (size_t)len, n, cpu0, wall0);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--time-ms") == 0 && i + 1 < argc) {
			case_ns = strtoull(argv[++i], NULL, 10) * 1000000ull;
		} else {
			fprintf(stderr, "usage: aegis-bench-raft-codec [--time-ms N]\n");
			return 2;
		}
	}
	static uint8_t payload[ENTS * ENTRY_BYTES];
	static struct aeg_raft_entry ents[ENTS];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + 7);
	for (uint32_t i = 0; i < ENTS; i++)
		ents[i] = (struct aeg_raft_entry){.term = 42, .index = 100001 + i,
			.type = AEG_RAFT_ENTRY_NORMAL, .data = payload + i * ENTRY_BYTES,
			.len = ENTRY_BYTES};
	struct aeg_raft_msg append = {.type = AEG_RAFT_MSG_APPEND, .from = 1, .to = 2,
		.term = 42, .index = 100000, .log_term = 42, .commit = 99990,
		.n_entries = ENTS, .entries = ents};
	struct aeg_raft_msg hb = {.type = AEG_RAFT_MSG_HEARTBEAT, .from = 1, .to = 2,
		.term = 42, .commit = 100064, .ctx = 17};
	struct aeg_raft_msg resp = {.type = AEG_RAFT_MSG_APPEND_RESP, .from = 2, .to = 1,
		.term = 42, .index = 100064};

	char setup[256];
	snprintf(setup, sizeof(setup),
		 "append = %d entries x %d B of one term, heartbeat, append_resp; "
		 "%llu ms per case, one thread, asserts %s", ENTS, ENTRY_BYTES,
		 (unsigned long long)(case_ns / 1000000),
#ifdef NDEBUG
		 "off"
#else
		 "on"
#endif
	);
	bench_print_setup("aegis-bench-raft-codec", setup);
	printf("# ns: CPU time of this thread; wall_ns: elapsed (higher when the cores are shared)\n");
	printf("%-7s %-11s %6s %10s %10s %9s\n", "op", "msg", "bytes", "ns/msg", "wall_ns", "Mmsg/s");
	bench_encode("append64", &append);
	bench_decode("append64", &append);
	bench_encode("heartbeat", &hb);
	bench_decode("heartbeat", &hb);
	bench_encode("append_resp", &resp);
	bench_decode("append_resp", &resp);
	return 0;
}
