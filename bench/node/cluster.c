/* The local aegisd cluster of cluster.h. */
#define _GNU_SOURCE
#include "cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define STATUS_BYTES_MAX (32u << 20)

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	return close(fd) == 0 ? 0 : -errno;
}

static int write_key(const char *path, uint8_t key[16])
{
	if (getrandom(key, 16, 0) != 16)
		return -EIO;
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	return write_file(path, hex, 0600);
}

int read_hex_key(const char *path, uint8_t out[16])
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	int n = 0, ch, hi = -1;
	while ((ch = fgetc(f)) != EOF) {
		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
		if (v < 0 || n == 16)
			break;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	bool bad = ch != EOF || n != 16 || hi >= 0;
	fclose(f);
	return bad ? -EINVAL : 0;
}

/* A free UDP port on 127.0.0.1 for each node (workers ports each): probed by
 * binding, then released; a race with another program is unlikely. */
static int pick_ports(struct cluster *c)
{
	for (int attempt = 0; attempt < 50; attempt++) {
		uint16_t r;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		uint16_t base = (uint16_t)(40000 + (r % 2000) * 10);
		bool ok = true;
		for (int i = 0; i < CLUSTER_NODES && ok; i++) {
			for (uint32_t w = 0; w < c->p.workers && ok; w++) {
				int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
				struct sockaddr_in sa = { .sin_family = AF_INET,
							  .sin_port = htons((uint16_t)(base + 100 * i + w)),
							  .sin_addr.s_addr = htonl(0x7f000001) };
				ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
				if (fd >= 0)
					close(fd);
			}
		}
		if (ok) {
			for (int i = 0; i < CLUSTER_NODES; i++)
				c->port[i] = (uint16_t)(base + 100 * i);
			return 0;
		}
	}
	return -EADDRINUSE;
}

static int write_config(const struct cluster *c, int i)
{
	char peers[256] = "", path[300], text[2048];
	for (int j = 0, len = 0; j < CLUSTER_NODES; j++)
		if (j != i)
			len += snprintf(peers + len, sizeof(peers) - (size_t)len, "%s\"%d=127.0.0.1:%u\"",
					len ? ", " : "", j + 1, c->port[j]);
	snprintf(text, sizeof(text),
		 "[replication]\nreplication_factor = 3\nconsistency_level = \"quorum\"\n"
		 "[raft]\nelection_timeout_min = %u\nelection_timeout_max = %u\nheartbeat_interval = %u\n"
		 "[sharding]\nstrategy = \"hash\"\nshard_count = %u\nauto_rebalance = false\n"
		 "[node]\nid = %d\naddress = \"127.0.0.1:%u\"\npeers = [%s]\ndata_dir = \"%s/n%d\"\n"
		 "workers = %u\ntransport = \"udp\"\ncluster_key_file = \"%s/cluster.key\"\n"
		 "client_key_file = \"%s/client.key\"\n[limits]\nvalue_bytes_max = %u\n",
		 c->p.election_ms_min, c->p.election_ms_max, c->p.heartbeat_ms, c->p.shards, i + 1, c->port[i], peers, c->dir, i + 1, c->p.workers, c->dir, c->dir,
		 c->p.value_bytes_max);
	snprintf(path, sizeof(path), "%s/n%d.toml", c->dir, i + 1);
	return write_file(path, text, 0600);
}

static pid_t spawn(const struct cluster *c, int i)
{
	char cfg[300], log[300], ready[300];
	snprintf(cfg, sizeof(cfg), "%s/n%d.toml", c->dir, i + 1);
	snprintf(log, sizeof(log), "%s/n%d.log", c->dir, i + 1);
	snprintf(ready, sizeof(ready), "%s/n%d.ready", c->dir, i + 1);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* The node must never outlive the bench, whatever kills it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	int nul = open("/dev/null", O_RDONLY);
	if (nul >= 0)
		dup2(nul, 0);
	execl(c->p.aegisd, "aegisd", "--config", cfg, "--ready-file", ready, (char *)NULL);
	_exit(127);
}

static void print_log_tail(const struct cluster *c, int i)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "tail -n 20 '%s/n%d.log' >&2", c->dir, i + 1);
	fprintf(stderr, "---- node %d log (last 20 lines)\n", i + 1);
	fflush(stderr);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

int cluster_start(struct cluster *c, const struct cluster_params *p, double timeout_s)
{
	memset(c, 0, sizeof(*c));
	c->p = *p;
	const char *tmp = getenv("AEGIS_BENCH_DIR");
	snprintf(c->dir, sizeof(c->dir), "%s/aegis-bench-node-XXXXXX", tmp != NULL ? tmp : "/var/tmp");
	if (mkdtemp(c->dir) == NULL)
		return -errno;
	char path[300];
	snprintf(path, sizeof(path), "%s/cluster.key", c->dir);
	uint8_t cluster_key[16];
	int r = write_key(path, cluster_key);
	snprintf(path, sizeof(path), "%s/client.key", c->dir);
	if (r == 0)
		r = write_key(path, c->client_key);
	if (r == 0)
		r = pick_ports(c);
	for (int i = 0; r == 0 && i < CLUSTER_NODES; i++) {
		r = write_config(c, i);
		snprintf(c->nodes_arg[i], sizeof(c->nodes_arg[i]), "%d=127.0.0.1:%u", i + 1, c->port[i]);
	}
	for (int i = 0; r == 0 && i < CLUSTER_NODES; i++)
		if ((c->pid[i] = spawn(c, i)) < 0)
			r = -errno;
	uint64_t deadline = bench_now_ns() + (uint64_t)(timeout_s * 1e9);
	for (int i = 0; r == 0 && i < CLUSTER_NODES; i++) {
		snprintf(path, sizeof(path), "%s/n%d.ready", c->dir, i + 1);
		struct stat st;
		while (r == 0 && (stat(path, &st) != 0 || st.st_size == 0)) {
			int status;
			if (waitpid(c->pid[i], &status, WNOHANG) == c->pid[i]) {
				fprintf(stderr, "aegis-bench-node: node %d exited at start (status 0x%x)\n", i + 1,
					status);
				c->pid[i] = 0;
				print_log_tail(c, i);
				r = -ECHILD;
			} else if (bench_now_ns() > deadline) {
				fprintf(stderr, "aegis-bench-node: node %d not ready after %.0f s\n", i + 1, timeout_s);
				print_log_tail(c, i);
				r = -ETIMEDOUT;
			} else {
				usleep(20000);
			}
		}
	}
	if (r != 0) {
		c->p.keep = true; /* for the logs */
		cluster_stop(c);
	}
	return r;
}

/* A node that exited 0 may still have failed its last flush (it logs
 * it): that is not a clean stop, whatever the exit code says. */
static bool log_says_flush_failed(const struct cluster *c, int i)
{
	char path[300], line[1024];
	snprintf(path, sizeof(path), "%s/n%d.log", c->dir, i + 1);
	FILE *f = fopen(path, "r");
	bool bad = false;
	while (f != NULL && !bad && fgets(line, sizeof(line), f) != NULL)
		bad = strstr(line, "final log flush:") != NULL || strstr(line, "the log stops") != NULL;
	if (f != NULL)
		fclose(f);
	return bad;
}

int cluster_stop(struct cluster *c)
{
	int failed = 0;
	for (int i = 0; i < CLUSTER_NODES; i++)
		if (c->pid[i] > 0 && kill(c->pid[i], SIGTERM) != 0)
			failed++;
	uint64_t deadline = bench_now_ns() + 30000000000ull;
	for (int i = 0; i < CLUSTER_NODES; i++) {
		if (c->pid[i] <= 0)
			continue;
		int status = 0;
		pid_t w;
		while ((w = waitpid(c->pid[i], &status, WNOHANG)) == 0 && bench_now_ns() < deadline)
			usleep(10000);
		if (w == 0) {
			fprintf(stderr, "aegis-bench-node: node %d still running 30 s after SIGTERM: killed\n", i + 1);
			kill(c->pid[i], SIGKILL);
			waitpid(c->pid[i], &status, 0);
			failed++;
		} else if (w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "aegis-bench-node: node %d did not exit 0 after SIGTERM (status 0x%x)\n",
				i + 1, status);
			print_log_tail(c, i);
			failed++;
		} else if (log_says_flush_failed(c, i)) {
			fprintf(stderr, "aegis-bench-node: node %d exited 0 but its log says the final flush failed\n",
				i + 1);
			print_log_tail(c, i);
			failed++;
		}
		c->pid[i] = 0;
	}
	if (failed == 0 && !c->p.keep && c->dir[0] != '\0') {
		char cmd[400];
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", c->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "aegis-bench-node: could not remove %s\n", c->dir);
	} else if (c->dir[0] != '\0') {
		fprintf(stderr, "aegis-bench-node: run dir kept: %s\n", c->dir);
	}
	return failed ? -ECHILD : 0;
}

int cluster_dead(struct cluster *c)
{
	int dead = 0;
	for (int i = 0; i < CLUSTER_NODES; i++) {
		int status;
		if (c->pid[i] > 0 && waitpid(c->pid[i], &status, WNOHANG) == c->pid[i]) {
			fprintf(stderr, "aegis-bench-node: node %d exited during the case (status 0x%x)\n", i + 1,
				status);
			print_log_tail(c, i);
			c->pid[i] = 0;
			c->p.keep = true;
		}
		dead += c->pid[i] <= 0;
	}
	return dead;
}

void cluster_socket_path(const struct cluster *c, int i, char *out, size_t cap)
{
	snprintf(out, cap, "%s/n%d/aegisd.sock", c->dir, i + 1);
}

/* Sends {"cmd":"status"} and reads one line into a malloc'ed buffer. */
static int ask_status(const char *path, double timeout_s, char **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	static const char req[] = "{\"cmd\":\"status\"}\n";
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		int e = errno;
		close(fd);
		return -e;
	}
	size_t cap = 1 << 16, got = 0;
	char *buf = malloc(cap);
	uint64_t deadline = bench_now_ns() + (uint64_t)(timeout_s * 1e9);
	int r = buf != NULL ? 0 : -ENOMEM;
	while (r == 0 && (got == 0 || memchr(buf, '\n', got) == NULL)) {
		int64_t left_ms = ((int64_t)deadline - (int64_t)bench_now_ns()) / 1000000;
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (left_ms <= 0 || poll(&pf, 1, (int)left_ms) <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (got + 1 >= cap) {
			char *b = cap < STATUS_BYTES_MAX ? realloc(buf, cap * 2) : NULL;
			if (b == NULL) {
				r = -EMSGSIZE;
				break;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t n = recv(fd, buf + got, cap - got - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n == 0 ? -ECONNRESET : -errno;
		else
			got += (size_t)n;
	}
	close(fd);
	if (r != 0) {
		free(buf);
		return r;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

static uint32_t count_of(const char *s, const char *needle)
{
	uint32_t n = 0;
	for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

static uint64_t u64_after(const char *s, const char *key)
{
	const char *p = strstr(s, key);
	return p != NULL ? strtoull(p + strlen(key), NULL, 10) : 0;
}

int cluster_status(const char *socket_path, double timeout_s, struct node_view *out)
{
	char *s = NULL;
	int r = ask_status(socket_path, timeout_s, &s);
	if (r != 0)
		return r;
	memset(out, 0, sizeof(*out));
	if (strncmp(s, "{\"ok\":true", 10) != 0) {
		free(s);
		return -EPROTO;
	}
	/* The reply's shape is control/node_status.c's: one object per shard. */
	out->groups = count_of(s, "{\"shard\":");
	out->leaders = count_of(s, "\"role\":\"leader\"");
	out->quiet = count_of(s, "\"quiet\":true");
	const char *mem = strstr(s, "\"memory\":{");
	if (mem != NULL) {
		out->bytes_per_group = u64_after(mem, "\"bytes_per_group\":");
		out->total_bytes = u64_after(mem, "\"total_bytes\":");
	}
	for (const char *p = strstr(s, "\"writes_ok\":"); p != NULL; p = strstr(p + 1, "\"writes_ok\":"))
		out->writes_ok += strtoull(p + 12, NULL, 10);
	free(s);
	return 0;
}

uint64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* Fields after "(comm)": state is field 3; utime 14, stime 15. */
	const char *p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	unsigned long long ut = 0, st = 0;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return 0;
	long hz = sysconf(_SC_CLK_TCK);
	return (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
}

uint64_t proc_rss_bytes(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	uint64_t kib = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtoull(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kib * 1024;
}
