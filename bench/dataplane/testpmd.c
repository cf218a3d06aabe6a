/* Drives a pair of interactive dpdk-testpmd processes over net_memif
 * (testpmd.h): commands through their stdin, results parsed from their
 * logs, teardown in the only order that never crashed here. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "testpmd.h"

#define START_MS 20000
#define CMD_MS 5000
#define EXIT_MS 10000

const char *testpmd_find(void)
{
	static const char *paths[] = { "/usr/bin/dpdk-testpmd", "/usr/local/bin/dpdk-testpmd" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* True once the abstract unix socket `path` listens (/proc/net/unix shows
 * it as "@path"). */
static bool unix_listening(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "r");
	if (f == NULL)
		return false;
	char line[512], want[300];
	snprintf(want, sizeof(want), " @%s", path);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		size_t n = strlen(line), w = strlen(want);
		found = n >= w && strcmp(line + n - w, want) == 0;
	}
	fclose(f);
	return found;
}

static int wait_log(struct child *c, const char *pattern, long from, long *at, int timeout_ms)
{
	long deadline = child_now_ms() + timeout_ms;
	while (!child_log_has(c, pattern, from, at)) {
		if (child_now_ms() >= deadline) {
			fprintf(stderr, "aegis-bench-dataplane: %s: no '%s' within %d ms\n", c->name,
				pattern, timeout_ms);
			return -ETIMEDOUT;
		}
		child_sleep_ms(20);
	}
	return 0;
}

static int spawn_side(struct child *c, const struct testpmd_run *run, bool server,
		      const char *sock)
{
	char prefix[64], vdev[400], txpkts[32], log[300];
	snprintf(prefix, sizeof(prefix), "--file-prefix=aegdp-tpmd-%d-%c", (int)getpid(),
		 server ? 's' : 'c');
	snprintf(vdev, sizeof(vdev), "--vdev=net_memif0,role=%s,socket=%s",
		 server ? "server" : "client", sock);
	snprintf(txpkts, sizeof(txpkts), "--txpkts=%u", run->frame_bytes);
	snprintf(log, sizeof(log), "%s/testpmd-%s.log", run->tmpdir, server ? "server" : "client");
	/* The server forwards on lcore 1, the client (main lcore 1) on lcore 0:
	 * two polling lcores on two CPUs, as for the Aegis endpoints. */
	/* stdout is a file: without stdbuf, testpmd's stdio would hold the
	 * statistics in its buffer until much later. */
	char *argv[] = { "/usr/bin/stdbuf", "-oL", "-eL", (char *)run->testpmd, "--no-huge", "-m",
			 "256", "--no-pci", "--no-shconf", "--no-telemetry", prefix, "-l", "0-1",
			 server ? "--main-lcore=0" : "--main-lcore=1", vdev, "--", "-i",
			 "--total-num-mbufs=16384", txpkts, NULL };
	bool have_stdbuf = access(argv[0], X_OK) == 0;
	int r = child_spawn(c, server ? "testpmd server" : "testpmd client",
			    have_stdbuf ? argv : argv + 3, log, false);
	if (r != 0)
		fprintf(stderr, "aegis-bench-dataplane: spawning %s: %s\n", run->testpmd, strerror(-r));
	return r;
}

/* CPU seconds used so far by the forwarding lcore's thread of `pid`
 * (EAL names it rte-worker-N), from /proc; -1 if not found. */
static double worker_cpu_s(pid_t pid)
{
	char path[320], comm[64], stat[1024];
	double best = -1;
	DIR *d;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, de->d_name);
		FILE *f = fopen(path, "r");
		bool worker = f != NULL && fgets(comm, sizeof(comm), f) != NULL &&
			      (strncmp(comm, "rte-worker", 10) == 0 || strncmp(comm, "lcore-worker", 12) == 0);
		if (f != NULL)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, de->d_name);
		if (!worker || (f = fopen(path, "r")) == NULL)
			continue;
		size_t n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[n] = '\0';
		/* utime and stime are fields 14 and 15; the name (field 2) may hold spaces. */
		const char *p = strrchr(stat, ')');
		unsigned long long ut, st;
		if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
					&ut, &st) == 2)
			best = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	closedir(d);
	return best;
}

/* The number after `key` in the log at or after `from`. */
static int log_number(struct child *c, const char *key, long from, double *out)
{
	long at;
	if (!child_log_has(c, key, from, &at))
		return -EBADMSG;
	FILE *f = fopen(c->log_path, "r");
	if (f == NULL)
		return -errno;
	unsigned long long v = 0;
	int r = fseek(f, at, SEEK_SET) == 0 && fscanf(f, "%llu", &v) == 1 ? 0 : -EBADMSG;
	fclose(f);
	*out = (double)v;
	return r;
}

/* One "show port stats 0": Rx-pps (over the time since the previous
 * show), RX-packets, and the forwarding thread's CPU time. */
struct sample {
	double rx_pps, rx_packets, cpu_s;
};

static int show_stats(struct child *c, struct sample *s)
{
	long from = child_log_size(c);
	s->cpu_s = worker_cpu_s(c->pid);
	int r = child_send(c, "show port stats 0");
	if (r == 0)
		r = wait_log(c, "Tx-bps:", from, NULL, CMD_MS);
	if (r == 0)
		r = log_number(c, "RX-packets:", from, &s->rx_packets);
	if (r == 0)
		r = log_number(c, "Rx-pps:", from, &s->rx_pps);
	return r;
}

/* Quiesce both datapaths, then quit the client, then the server. True if
 * both exited with status 0. */
static bool teardown(struct child *srv, struct child *cli)
{
	if (cli->pid != 0)
		(void)child_send(cli, "stop");
	if (srv->pid != 0)
		(void)child_send(srv, "stop");
	child_sleep_ms(500);
	int st_cli = -1, st_srv = -1;
	if (cli->pid != 0) {
		(void)child_send(cli, "quit");
		st_cli = child_wait(cli, EXIT_MS);
	}
	if (srv->pid != 0) {
		(void)child_send(srv, "quit");
		st_srv = child_wait(srv, EXIT_MS);
	}
	if (st_cli != 0 || st_srv != 0)
		fprintf(stderr, "aegis-bench-dataplane: testpmd exit status: client %d, server %d\n",
			st_cli, st_srv);
	return st_cli == 0 && st_srv == 0;
}

int testpmd_measure(const struct testpmd_run *run, struct testpmd_result *out)
{
	char sock[128];
	snprintf(sock, sizeof(sock), "/tmp/aegdp-tpmd-%d.sock", (int)getpid());
	unlink(sock); /* abstract socket: normally no file, but never a stale one */
	struct child srv = { 0 }, cli = { 0 };
	memset(out, 0, sizeof(*out));
	int r = spawn_side(&srv, run, true, sock);
	long deadline = child_now_ms() + START_MS;
	while (r == 0 && !unix_listening(sock)) {
		if (child_now_ms() >= deadline) {
			fprintf(stderr, "aegis-bench-dataplane: testpmd server never listened on %s\n", sock);
			r = -ETIMEDOUT;
		}
		child_sleep_ms(20);
	}
	if (r == 0)
		r = spawn_side(&cli, run, false, sock);
	if (r == 0)
		r = wait_log(&cli, "testpmd>", 0, NULL, START_MS);
	if (r == 0)
		r = wait_log(&srv, "testpmd>", 0, NULL, START_MS);
	if (r == 0) {
		child_sleep_ms(500); /* link up comes ~0.13 s after the client's port start */
		r = child_send(&srv, "set fwd io");
	}
	if (r == 0)
		r = child_send(&srv, "start");
	if (r == 0)
		r = child_send(&cli, "set fwd io");
	if (r == 0)
		r = child_send(&cli, "start tx_first");
	struct child *side[2] = { &cli, &srv };
	struct sample s0[2], s1[2];
	if (r == 0)
		child_sleep_ms((long)(run->warmup_s * 1000));
	for (int i = 0; r == 0 && i < 2; i++)
		r = show_stats(side[i], &s0[i]);
	if (r == 0)
		child_sleep_ms((long)(run->measure_s * 1000));
	for (int i = 0; r == 0 && i < 2; i++)
		r = show_stats(side[i], &s1[i]);
	for (int i = 0; r == 0 && i < 2; i++) {
		out->rx_pps[i] = s1[i].rx_pps;
		double cpu = s1[i].cpu_s - s0[i].cpu_s;
		out->rx_per_cpu_s[i] = s0[i].cpu_s >= 0 && cpu > 0 ?
				       (s1[i].rx_packets - s0[i].rx_packets) / cpu : 0;
	}
	if (r != 0) {
		child_log_tail(&srv, 15);
		child_log_tail(&cli, 15);
	}
	if (!teardown(&srv, &cli) && r == 0) {
		child_log_tail(&srv, 5);
		child_log_tail(&cli, 5);
		r = -ECHILD;
	}
	unlink(sock);
	out->pps_per_core = (out->rx_pps[0] + out->rx_pps[1]) / 2;
	out->pps_per_cpu_s = (out->rx_per_cpu_s[0] + out->rx_per_cpu_s[1]) / 2;
	return r;
}
