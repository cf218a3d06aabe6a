/* aegis-bench-dataplane: two Aegis workers (dataplane/worker.c: framing,
 * SipHash-2-4-128 tag, replay window) in two processes, one polling core
 * each, against dpdk-testpmd in io-forward mode on the same vdev and core
 * count.
 *
 *   ping-pong  A sends one frame (1 message, or a full frame of them), B
 *              echoes every message, A waits for all: round trip p50/p99/p999
 *   stream     A sends messages to B as fast as the port takes them:
 *              B's receive rate in frames/s, Gbit/s (UDP payload, and the
 *              Ethernet frame = payload + 42), messages/s. "unbatched": one
 *              message per frame (82 B payload); "batched": frames filled to
 *              1472 B (64 messages); "large": one 1406-byte message per
 *              1472-byte frame (a Raft append of many entries)
 *   bounce     A sends a burst of 32 frames, then both send back every
 *              message they receive (testpmd's io forward with tx_first,
 *              through the whole Aegis path): B's frames/s, each core
 *              receiving and sending that many
 *   testpmd    two dpdk-testpmd over net_memif, io forward, 1 forwarding lcore
 *              each, frames of the same size (--txpkts), tx_first on one side;
 *              its Rx-pps per side is the packets one core receives and sends
 *              per second. ratio = B's frames/s / testpmd's frames/s per core
 *              (in stream our cores each do one direction, testpmd's both).
 * Rates are also given per CPU second of the polling threads (ours from
 * CLOCK_THREAD_CPUTIME_ID, testpmd's from /proc): on a shared machine a
 * polling thread does not get its whole core.
 * Allocations are counted in both Aegis processes (alloc_count.c replaces
 * malloc & co) over the measured phase and divided by packets.
 *
 * Transports: "udp" = the kernel-UDP port on 127.0.0.1; "memif" = the DPDK
 * ethdev port on net_memif between the two processes. The
 * parent only orchestrates; the endpoints are this program re-executed
 * (endpoint.h). A polls on CPU 0, B on CPU 1, like testpmd's two lcores. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_count.h"
#include "child.h"
#include "common.h"
#include "endpoint.h"
#include "ep_port.h"
#include "report.h"
#include "testpmd.h"

#define BENCH_NAME "aegis-bench-dataplane"
#define NODE_A 1u
#define NODE_B 2u
#define REPLY_MS 10000
#define REPEAT_MAX 9

static char self_exe[4096];

struct opts {
	double warmup_s, measure_s;
	uint32_t rounds;
	uint32_t repeat; /* memif and testpmd runs, alternating */
	bool udp, memif, testpmd, keep_logs, strict_allocs;
	const char *testpmd_path; /* --testpmd; NULL: look in the usual places */
	char tmpdir[256];
};

/* One Aegis endpoint pair. */
struct pair {
	const char *transport;
	struct child a, b;
};

static uint32_t stream_frame_bytes(int i)
{
	return i == 0 ? ep_frame_bytes(1) : 1472u;
}

/* Message bodies of stream kind i: 16 bytes, or for "large" one message
 * filling the frame (a Raft append of many entries). */
static uint32_t stream_body_bytes(int i)
{
	return i == 2 ? (uint32_t)aeg_wire_msg_body_max(1472u) : EP_BODY_BYTES;
}

/* ---- talking to endpoints ------------------------------------------------ */

/* The value of " key=" in line, as u64; false if absent. */
static bool kv(const char *line, const char *key, uint64_t *out)
{
	char pat[64];
	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(line, pat);
	if (p == NULL)
		return false;
	*out = strtoull(p + strlen(pat), NULL, 10);
	return true;
}

static uint64_t kv0(const char *line, const char *key)
{
	uint64_t v = 0;
	(void)kv(line, key, &v);
	return v;
}

/* Sends cmd and reads the reply line; it must start with `expect`. */
static int ask(struct child *c, const char *cmd, const char *expect, char *out, size_t cap,
	       int timeout_ms)
{
	int r = child_send(c, cmd);
	if (r == 0)
		r = child_read_line(c, out, cap, timeout_ms);
	if (r == 0 && strncmp(out, expect, strlen(expect)) != 0)
		r = -EBADMSG;
	if (r != 0) {
		fprintf(stderr, "%s: %s: '%s' failed: %s\n", BENCH_NAME, c->name, cmd,
			r == -EBADMSG ? out : strerror(-r));
		child_log_tail(c, 10);
	}
	return r;
}

static int spawn_endpoint(struct child *c, const struct opts *o, const char *transport, bool is_a,
			  uint16_t port_a, uint16_t port_b)
{
	char node[32], peer[32], up[32], pp[32], cpu[16], tr[32], log[320];
	snprintf(tr, sizeof(tr), "transport=%s", transport);
	snprintf(node, sizeof(node), "node=%u", is_a ? NODE_A : NODE_B);
	snprintf(peer, sizeof(peer), "peer=%u", is_a ? NODE_B : NODE_A);
	snprintf(up, sizeof(up), "udp_port=%u", is_a ? port_a : port_b);
	snprintf(pp, sizeof(pp), "peer_udp_port=%u", is_a ? port_b : port_a);
	snprintf(cpu, sizeof(cpu), "cpu=%d", is_a ? 0 : 1);
	snprintf(log, sizeof(log), "%s/%s-%s.log", o->tmpdir, transport, is_a ? "A" : "B");
	/* memif: B is the server and forwards on lcore 1, A (main lcore 1) on
	 * lcore 0, with the same EAL options as the testpmd pair. */
	char prefix[64], vdev[300];
	snprintf(prefix, sizeof(prefix), "--file-prefix=aegdp-%d-%s", (int)getpid(), is_a ? "a" : "b");
	snprintf(vdev, sizeof(vdev), "--vdev=net_memif0,role=%s,socket=/tmp/aegdp-%d.sock,"
		 "mac=02:00:00:00:00:%02x", is_a ? "client" : "server", (int)getpid(),
		 is_a ? NODE_A : NODE_B);
	char *argv[] = { self_exe, "--endpoint", tr, node, peer, up, pp, cpu,
			 is_a ? "role=client" : "role=server", "--", "--no-huge", "-m", "256",
			 "--no-pci", "--no-shconf", "--no-telemetry", prefix, "-l", "0-1",
			 is_a ? "--main-lcore=1" : "--main-lcore=0", vdev, NULL };
	if (strcmp(transport, "memif") != 0)
		argv[9] = NULL;
	char name[32];
	snprintf(name, sizeof(name), "endpoint %s/%s", transport, is_a ? "A" : "B");
	int r = child_spawn(c, name, argv, log, true);
	char line[256];
	if (r == 0)
		r = child_read_line(c, line, sizeof(line), 30000);
	if (r == 0 && strcmp(line, "ready") != 0)
		r = -EBADMSG;
	if (r != 0) {
		fprintf(stderr, "%s: %s did not start: %s\n", BENCH_NAME, name, strerror(-r));
		child_log_tail(c, 10);
		child_kill(c);
	}
	return r;
}

/* Quiesce both (sender first), then A leaves, then B: a memif peer that
 * exits while the other side polls can crash it. */
static void pair_stop(struct pair *p)
{
	char line[256];
	struct child *order[2] = { &p->a, &p->b };
	for (int i = 0; i < 2; i++)
		if (order[i]->pid != 0 && ask(order[i], "pause", "paused", line, sizeof(line), REPLY_MS) != 0)
			child_kill(order[i]);
	for (int i = 0; i < 2; i++)
		if (order[i]->pid != 0) {
			(void)child_send(order[i], "quit");
			int st = child_wait(order[i], 10000);
			if (st != 0)
				fprintf(stderr, "%s: %s exited with %d\n", BENCH_NAME, order[i]->name, st);
		}
}

static int pair_start(struct pair *p, const struct opts *o, const char *transport)
{
	memset(p, 0, sizeof(*p));
	p->transport = transport;
	uint16_t base = (uint16_t)(20000 + (getpid() * 7) % 40000);
	/* B first: for memif it is the server the client connects to. */
	int r = spawn_endpoint(&p->b, o, transport, false, base, (uint16_t)(base + 1));
	if (r == 0 && (r = spawn_endpoint(&p->a, o, transport, true, base, (uint16_t)(base + 1))) != 0)
		child_kill(&p->b);
	char line[256];
	if (r == 0 && (ask(&p->a, "link", "link ok=1", line, sizeof(line), 15000) != 0 ||
		       ask(&p->b, "link", "link ok=1", line, sizeof(line), 15000) != 0)) {
		pair_stop(p);
		r = -ENOLINK;
	}
	return r;
}

/* ---- cases --------------------------------------------------------------- */

static void run_pingpong(struct pair *p, uint32_t rounds, uint32_t msgs, struct pp_res *res)
{
	char cmd[64], line[1024], b0[1024], b1[1024];
	memset(res, 0, sizeof(*res));
	res->msgs = msgs;
	res->frame_bytes = ep_frame_bytes(msgs);
	snprintf(cmd, sizeof(cmd), "pingpong %u %u", rounds, msgs);
	if (ask(&p->b, "snap", "snap", b0, sizeof(b0), REPLY_MS) != 0 ||
	    ask(&p->a, cmd, "pingpong", line, sizeof(line), 120000) != 0 ||
	    ask(&p->b, "snap", "snap", b1, sizeof(b1), REPLY_MS) != 0)
		return;
	res->ok = kv0(line, "ok") == 1;
	if (!res->ok)
		fprintf(stderr, "%s: %s: %s\n  B: %s\n", BENCH_NAME, p->a.name, line, b1);
	res->n = kv0(line, "n");
	res->lost = kv0(line, "lost");
	res->p50 = kv0(line, "p50");
	res->p99 = kv0(line, "p99");
	res->p999 = kv0(line, "p999");
	res->mean = kv0(line, "mean");
	res->max = kv0(line, "max");
	res->allocs_a = kv0(line, "allocs");
	/* B's interval also covers A's warm-up rounds: an upper bound. */
	res->allocs_b = kv0(b1, "allocs") - kv0(b0, "allocs");
}

/* Waits (up to 10 s) until B has received nothing for 50 ms: after a
 * stream over kernel UDP, megabytes of frames can wait in B's socket, and
 * the next case's frames would be dropped behind them. */
static void wait_quiet(struct child *b)
{
	char s0[1024], s1[1024];
	if (ask(b, "snap", "snap", s0, sizeof(s0), REPLY_MS) != 0)
		return;
	for (int i = 0; i < 200; i++) {
		child_sleep_ms(50);
		if (ask(b, "snap", "snap", s1, sizeof(s1), REPLY_MS) != 0 ||
		    kv0(s1, "rx_pkts") == kv0(s0, "rx_pkts"))
			return;
		memcpy(s0, s1, sizeof(s0));
	}
}

/* mode 0: A streams to B; mode 1: both bounce what they receive after A
 * sent BOUNCE_FRAMES frames. B's receive rate over the measured phase. */
#define BOUNCE_FRAMES 32
static void run_stream(struct pair *p, const struct opts *o, int mode, uint32_t frame_bytes,
		       uint32_t body_bytes, struct stream_res *res)
{
	char cmd[64], line[256], a0[1024], a1[1024], b0[1024], b1[1024];
	memset(res, 0, sizeof(*res));
	res->frame_bytes = frame_bytes;
	if (mode == 0) {
		snprintf(cmd, sizeof(cmd), "stream %u %u", frame_bytes, body_bytes);
		if (ask(&p->a, cmd, "streaming ok=1", line, sizeof(line), REPLY_MS) != 0)
			return;
	} else {
		snprintf(cmd, sizeof(cmd), "bounce %u 0 %u", frame_bytes, body_bytes);
		if (ask(&p->b, cmd, "bouncing ok=1", line, sizeof(line), REPLY_MS) != 0)
			return;
		snprintf(cmd, sizeof(cmd), "bounce %u %u %u", frame_bytes, BOUNCE_FRAMES, body_bytes);
		if (ask(&p->a, cmd, "bouncing ok=1", line, sizeof(line), REPLY_MS) != 0)
			return;
	}
	child_sleep_ms((long)(o->warmup_s * 1000));
	bool ok = ask(&p->b, "snap", "snap", b0, sizeof(b0), REPLY_MS) == 0 &&
		  ask(&p->a, "snap", "snap", a0, sizeof(a0), REPLY_MS) == 0;
	if (ok)
		child_sleep_ms((long)(o->measure_s * 1000));
	ok = ok && ask(&p->b, "snap", "snap", b1, sizeof(b1), REPLY_MS) == 0 &&
	     ask(&p->a, "snap", "snap", a1, sizeof(a1), REPLY_MS) == 0;
	/* A first: it is the one that keeps B busy. */
	if (ask(&p->a, "halt", "halted ok=1", line, sizeof(line), REPLY_MS) != 0 ||
	    (mode == 1 && ask(&p->b, "halt", "halted ok=1", line, sizeof(line), REPLY_MS) != 0) ||
	    !ok)
		return;
	wait_quiet(&p->b); /* B's backlog must not eat into the next case */
#define D(s0, s1, k) (kv0(s1, k) - kv0(s0, k))
	double secs = (double)D(b0, b1, "t") / 1e9, secs_a = (double)D(a0, a1, "t") / 1e9;
	res->pkts = D(b0, b1, "rx_pkts");
	res->tx_pkts = D(a0, a1, "tx_pkts");
	res->ok = secs > 0 && secs_a > 0 && res->pkts > 0;
	if (!res->ok)
		return;
	res->seconds = secs;
	/* The polling threads' CPU time: on a shared machine they do not
	 * get a whole core, and per CPU second is what one core would do. */
	res->cpu_s_b = (double)D(b0, b1, "cpu") / 1e9;
	res->cpu_s_a = (double)D(a0, a1, "cpu") / 1e9;
	res->pps_per_cpu_s = res->cpu_s_b > 0 ? (double)res->pkts / res->cpu_s_b : 0;
	res->pps = (double)res->pkts / secs;
	res->sent_pps = (double)res->tx_pkts / secs_a;
	res->msgs_per_frame = (double)D(b0, b1, "rx_msgs") / (double)res->pkts;
	res->msgs_ps = (double)D(b0, b1, "rx_msgs") / secs;
	res->gbps_payload = (double)D(b0, b1, "rx_bytes") * 8 / secs / 1e9;
	res->gbps_wire = ((double)D(b0, b1, "rx_bytes") + (double)res->pkts * REPORT_L2L3_BYTES) * 8 /
			 secs / 1e9;
	res->tx_dropped = D(a0, a1, "tx_dropped");
	res->rx_batches = D(b0, b1, "rx_batches");
	res->drops = D(b0, b1, "drops");
	res->allocs_a = D(a0, a1, "allocs");
	res->allocs_b = D(b0, b1, "allocs");
	res->gets_a = D(a0, a1, "gets");
#undef D
}

/* ---- main ---------------------------------------------------------------- */

/* The EAL runtime directories of our DPDK children: empty with --no-shconf
 * and --no-telemetry, but created anyway (and left behind if killed). The
 * paths are made at start so that a signal handler can remove them. */
static char runtime_dirs[4][128];

static void runtime_dirs_init(void)
{
	static const char *fmt[] = { "/var/run/dpdk/aegdp-%d-a", "/var/run/dpdk/aegdp-%d-b",
				     "/var/run/dpdk/aegdp-tpmd-%d-s", "/var/run/dpdk/aegdp-tpmd-%d-c" };
	for (int i = 0; i < 4; i++)
		snprintf(runtime_dirs[i], sizeof(runtime_dirs[i]), fmt[i], (int)getpid());
}

static void rm_runtime_dirs(void)
{
	for (int i = 0; i < 4; i++)
		(void)rmdir(runtime_dirs[i]); /* async-signal-safe */
}

static const char *cores_note = "each process 1 polling core (A: CPU 0, B: CPU 1), 2 vCPUs in all";

static void run_transport(const struct opts *o, const char *transport, struct transport_res *t)
{
	struct pair p;
	memset(t, 0, sizeof(*t));
	t->name = transport;
	fprintf(stderr, "%s: %s: starting the endpoints\n", BENCH_NAME, transport);
	if (pair_start(&p, o, transport) != 0)
		return;
	t->ran = true;
	run_pingpong(&p, o->rounds, 1, &t->pp[0]);
	run_pingpong(&p, o->rounds / 4 + 1, ep_msgs_per_frame(1472), &t->pp[1]);
	for (int m = 0; m < REPORT_MODES; m++)
		for (int i = 0; i < REPORT_STREAMS; i++) {
			fprintf(stderr, "%s: %s: %s %s\n", BENCH_NAME, transport, report_mode(m),
				report_batching(i));
			run_stream(&p, o, m, stream_frame_bytes(i), stream_body_bytes(i), &t->st[m][i]);
		}
	pair_stop(&p);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--quick] [--seconds S] [--rounds N] [--repeat N] [--transport udp|memif|all]\n"
		"          [--no-testpmd] [--testpmd PATH] [--keep-logs] [--strict-allocs]\n"
		"Two Aegis workers in two processes (1 polling core each): ping-pong, stream and\n"
		"bounce, unbatched (1 message per frame), batched (1472-byte frames of 16-byte\n"
		"messages) and large (one 1406-byte message per 1472-byte frame), then\n"
		"dpdk-testpmd io forward on net_memif with the same frame sizes; a table, then one\n"
		"JSON line per result. DPDK runs with --no-huge (root, as in CI).\n"
		"  --quick        short phases (0.3 s warm-up, 1 s measured, 2000 round trips)\n"
		"  --seconds S    measured time per streaming case (default 3; warm-up 1 s)\n"
		"  --rounds N     ping-pong round trips with one message (default 20000;\n"
		"                 N/4 with a full frame)\n"
		"  --transport T  udp: kernel UDP on 127.0.0.1; memif: DPDK net_memif between the\n"
		"                 two processes (--no-huge); all (default): both that are available\n"
		"  --repeat N     alternate N memif runs with N testpmd runs and report the\n"
		"                 median of each (default 3, 1 with --quick; at most 9): this\n"
		"                 shared VM's speed moves several-fold within seconds\n"
		"  --no-testpmd   skip the dpdk-testpmd peer (no ratio)\n"
		"  --testpmd PATH the dpdk-testpmd to run (default: /usr/bin/dpdk-testpmd, from the\n"
		"                 Debian package dpdk-dev)\n"
		"  --keep-logs    keep the children's logs (path printed); kept anyway on failure\n"
		"  --strict-allocs  exit 1 if any allocation was counted in a measured phase\n",
		BENCH_NAME);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },     { "seconds", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' }, { "transport", required_argument, NULL, 't' },
		{ "no-testpmd", no_argument, NULL, 'n' }, { "keep-logs", no_argument, NULL, 'k' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "testpmd", required_argument, NULL, 'p' }, { "strict-allocs", no_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .warmup_s = 1, .measure_s = 3, .rounds = 20000, .repeat = 3, .udp = true,
			    .memif = true, .testpmd = true };
	bool quick = false, seconds_set = false, rounds_set = false, repeat_set = false;
	int c;
	while ((c = getopt_long(argc, argv, "qs:r:R:t:nkap:h", lo, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; break;
		case 's': o->measure_s = strtod(optarg, NULL); seconds_set = true; break;
		case 'r': o->rounds = (uint32_t)strtoul(optarg, NULL, 10); rounds_set = true; break;
		case 't':
			o->udp = strcmp(optarg, "udp") == 0 || strcmp(optarg, "all") == 0;
			o->memif = strcmp(optarg, "memif") == 0 || strcmp(optarg, "all") == 0;
			if (!o->udp && !o->memif)
				return -1;
			break;
		case 'R': o->repeat = (uint32_t)strtoul(optarg, NULL, 10); repeat_set = true; break;
		case 'n': o->testpmd = false; break;
		case 'k': o->keep_logs = true; break;
		case 'a': o->strict_allocs = true; break;
		case 'p': o->testpmd_path = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (quick) {
		o->warmup_s = 0.3;
		if (!seconds_set)
			o->measure_s = 1;
		if (!rounds_set)
			o->rounds = 2000;
		if (!repeat_set)
			o->repeat = 1;
	}
	return optind == argc && o->measure_s > 0 && o->measure_s <= 600 && o->rounds > 0 &&
		       o->rounds <= 10000000 && o->repeat >= 1 &&
		       o->repeat <= REPEAT_MAX ? 0 : -1;
}


/* Index of the median of v[0..n) (the lower one for even n); ok[i] false
 * entries are skipped; -1 if none is ok. */
static int median_index(const double *v, const bool *ok, uint32_t n)
{
	int idx[REPEAT_MAX], k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (ok[i])
			idx[k++] = (int)i;
	if (k == 0)
		return -1;
	for (int i = 1; i < k; i++) /* insertion sort: n <= 9 */
		for (int j = i; j > 0 && v[idx[j - 1]] > v[idx[j]]; j--) {
			int t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	return idx[(k - 1) / 2];
}

/* The memif results as the median run of each case, the testpmd results
 * as the median run per frame size, and the per-run figures as comments. */
static void pick_medians(const struct opts *o, const struct transport_res *runs,
			 struct peer_res peer_runs[][REPORT_PEERS], bool tpmd,
			 struct transport_res *out, struct peer_res *peer)
{
	double v[REPEAT_MAX];
	bool ok[REPEAT_MAX];
	*out = runs[0];
	for (uint32_t r = 0; r < o->repeat; r++)
		out->ran |= runs[r].ran;
	for (int k = 0; k < 2; k++) {
		for (uint32_t r = 0; r < o->repeat; r++) {
			v[r] = (double)runs[r].pp[k].p50;
			ok[r] = runs[r].ran && runs[r].pp[k].ok;
		}
		int m = median_index(v, ok, o->repeat);
		if (m >= 0)
			out->pp[k] = runs[m].pp[k];
	}
	for (int i = 0; i < REPORT_PEERS; i++) {
		for (uint32_t r = 0; r < o->repeat; r++) {
			v[r] = peer_runs[r][i].t.pps_per_core;
			ok[r] = tpmd && peer_runs[r][i].ok;
		}
		int pm = median_index(v, ok, o->repeat);
		peer[i] = peer_runs[pm < 0 ? 0 : pm][i];
	}
	for (int i = 0; i < REPORT_STREAMS; i++) {
		int pi = report_peer_of(i);
		for (int md = 0; md < REPORT_MODES; md++) {
			for (uint32_t r = 0; r < o->repeat; r++) {
				v[r] = runs[r].st[md][i].pps;
				ok[r] = runs[r].ran && runs[r].st[md][i].ok;
			}
			int m = median_index(v, ok, o->repeat);
			if (m >= 0)
				out->st[md][i] = runs[m].st[md][i];
			if (o->repeat == 1)
				continue;
			printf("# memif %s %s, %u alternating runs, Mpps ours / testpmd:", report_mode(md),
			       report_batching(i), o->repeat);
			for (uint32_t r = 0; r < o->repeat; r++)
				printf(" %.3f/%.3f", runs[r].st[md][i].pps / 1e6,
				       tpmd ? peer_runs[r][pi].t.pps_per_core / 1e6 : 0.0);
			printf(" -> medians\n");
		}
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--endpoint") == 0)
		return endpoint_main(argc, argv);
	struct opts o;
	if (parse_args(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self_exe[n] = '\0';
	snprintf(o.tmpdir, sizeof(o.tmpdir), "/tmp/aegis-bench-dp.XXXXXX");
	if (mkdtemp(o.tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	runtime_dirs_init();
	child_install_cleanup(rm_runtime_dirs);
	const char *tpmd = !o.testpmd ? NULL : o.testpmd_path ? o.testpmd_path : testpmd_find();
	bool memif = o.memif;
	char setup[1024];
	snprintf(setup, sizeof(setup),
		 "%s; %u-byte message bodies; warm-up %.1f s, measured %.1f s per stream; "
		 "%u round trips; transports:%s%s; peer: %s; %u alternating memif/testpmd run(s), "
		 "medians reported; allocation counting: %s",
		 cores_note, EP_BODY_BYTES, o.warmup_s, o.measure_s, o.rounds, o.udp ? " udp" : "",
		 memif ? " memif" : "", tpmd ? tpmd : "none", o.repeat,
		 alloc_count_enabled() ? "on (whole process, both sides)" : "off (sanitizer build)");
	bench_print_setup(BENCH_NAME, setup);
	if (o.testpmd && tpmd == NULL)
		printf("# dpdk-testpmd not found (Debian package dpdk-dev, installed by tools/setup.sh "
		       "without --tests): no testpmd rows, no ratio\n");
	fflush(stdout); /* before the children's progress lines on stderr */

	struct transport_res tr[2] = { { .name = "udp" }, { .name = "memif" } };
	if (o.udp)
		run_transport(&o, "udp", &tr[0]);
	/* memif and testpmd alternate so that both meet the same host noise. */
	static struct transport_res memif_runs[REPEAT_MAX];
	static struct peer_res peer_runs[REPEAT_MAX][REPORT_PEERS];
	bool failed = false;
	for (uint32_t r = 0; r < o.repeat && (memif || tpmd != NULL); r++) {
		if (o.repeat > 1)
			fprintf(stderr, "%s: run %u of %u\n", BENCH_NAME, r + 1, o.repeat);
		memif_runs[r].name = "memif";
		if (memif)
			run_transport(&o, "memif", &memif_runs[r]);
		failed |= memif && !memif_runs[r].ran;
		for (int i = 0; tpmd != NULL && i < REPORT_PEERS; i++) {
			struct peer_res *pr = &peer_runs[r][i];
			pr->wire_bytes = stream_frame_bytes(i) + REPORT_L2L3_BYTES;
			struct testpmd_run run = { tpmd, o.tmpdir, pr->wire_bytes, o.warmup_s, o.measure_s };
			fprintf(stderr, "%s: dpdk-testpmd %u B frames\n", BENCH_NAME, run.frame_bytes);
			pr->ok = testpmd_measure(&run, &pr->t) == 0;
			failed |= !pr->ok;
		}
	}
	struct peer_res peer[REPORT_PEERS] = { 0 };
	if (memif || tpmd != NULL)
		pick_medians(&o, memif_runs, peer_runs, tpmd != NULL, &tr[1], peer);
	report_print(tr, 2, peer, o.strict_allocs, &failed);
	failed |= o.udp && !tr[0].ran;
	rm_runtime_dirs();
	if (failed || o.keep_logs) {
		printf("# logs of the child processes: %s\n", o.tmpdir);
	} else {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", o.tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "%s: could not remove %s\n", BENCH_NAME, o.tmpdir);
	}
	return failed ? 1 : 0;
}
