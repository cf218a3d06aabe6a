/* Drives a pair of interactive dpdk-testpmd processes over net_memif
 * (testpmd.h): commands through their stdin, results parsed from their
 * logs, teardown in the only order that never crashed here. */
#define _GNU_SOURCE
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
			 "256", "--no-pci", "--no-shconf", prefix, "-l", "0-1",
			 server ? "--main-lcore=0" : "--main-lcore=1", vdev, "--", "-i",
			 "--total-num-mbufs=16384", txpkts, NULL };
	bool have_stdbuf = access(argv[0], X_OK) == 0;
	int r = child_spawn(c, server ? "testpmd server" : "testpmd client",
			    have_stdbuf ? argv : argv + 3, log, false);
	if (r != 0)
		fprintf(stderr, "aegis-bench-dataplane: spawning %s: %s\n", run->testpmd, strerror(-r));
	return r;
}

/* Sends "show port stats 0" and parses the Rx-pps it prints (over the
 * time since the previous show). */
static int show_rx_pps(struct child *c, double *pps)
{
	long from = child_log_size(c), at;
	int r = child_send(c, "show port stats 0");
	if (r == 0)
		r = wait_log(c, "Tx-bps:", from, NULL, CMD_MS);
	if (r == 0 && !child_log_has(c, "Rx-pps:", from, &at))
		r = -EBADMSG;
	if (r != 0)
		return r;
	FILE *f = fopen(c->log_path, "r");
	if (f == NULL)
		return -errno;
	unsigned long long v = 0;
	r = fseek(f, at, SEEK_SET) == 0 && fscanf(f, "%llu", &v) == 1 ? 0 : -EBADMSG;
	fclose(f);
	*pps = (double)v;
	return r;
}

/* Quiesce both datapaths, then quit the client, then the server. */
static void teardown(struct child *srv, struct child *cli)
{
	if (cli->pid != 0)
		(void)child_send(cli, "stop");
	if (srv->pid != 0)
		(void)child_send(srv, "stop");
	child_sleep_ms(500);
	if (cli->pid != 0) {
		(void)child_send(cli, "quit");
		(void)child_wait(cli, EXIT_MS);
	}
	if (srv->pid != 0) {
		(void)child_send(srv, "quit");
		(void)child_wait(srv, EXIT_MS);
	}
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
	if (r == 0) {
		child_sleep_ms((long)(run->warmup_s * 1000));
		r = show_rx_pps(&cli, &out->rx_pps[0]);
	}
	if (r == 0)
		r = show_rx_pps(&srv, &out->rx_pps[1]);
	if (r == 0) {
		child_sleep_ms((long)(run->measure_s * 1000));
		r = show_rx_pps(&cli, &out->rx_pps[0]);
	}
	if (r == 0)
		r = show_rx_pps(&srv, &out->rx_pps[1]);
	if (r != 0) {
		child_log_tail(&srv, 15);
		child_log_tail(&cli, 15);
	}
	teardown(&srv, &cli);
	unlink(sock);
	out->pps_per_core = (out->rx_pps[0] + out->rx_pps[1]) / 2;
	return r;
}
