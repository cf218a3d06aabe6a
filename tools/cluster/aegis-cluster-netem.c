/* aegis-cluster-netem: a learning Ethernet switch in user space that impairs
 * what it forwards like the kernel's netem qdisc, for tools/aegis-cluster on
 * kernels built without sch_netem. It runs in the cluster's bridge
 * namespace on the bridge ports (taken out of br0 while it runs) and
 * applies, to each frame on its way out of each port (as netem on every
 * bridge port's egress would):
 *   loss P%            dropped with probability P
 *   delay T [J]        held T (+- J, uniform) before it leaves
 *   reorder P%         with delay: P% leave at once, overtaking held ones
 *   duplicate P%       sent twice
 *   corrupt P%         one random bit flipped
 *   limit N            at most N frames held (default 8192); more are dropped
 * plus the cluster's partitions (--faults FILE, reread on SIGHUP): "in I"
 * drops frames to port p<I>, "out I" frames from it. Times take us, ms or s
 * (a bare number is us, as in tc).
 *
 *   aegis-cluster-netem --port IF [--port IF ...] [--faults FILE] [--seed N]
 *                       [--check] -- NETEM ARGS
 * --check only parses the arguments. Counters go to stderr on SIGUSR1 and
 * at exit (SIGTERM, SIGINT). Exit: 0, 1 (socket or run failure), 2 usage.
 *
 * Test tool, not a hot path: AF_PACKET sockets, one send per frame, a heap
 * of held frames in a pool sized at start (nothing allocated after). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netem_args.h"

#define PORTS_MAX 70
#define FRAME_BYTES_MAX 2048 /* veth MTU 1500 + header; larger frames are dropped */
#define MACS_MAX 256
#define BATCH 32

struct port {
	char name[IF_NAMESIZE];
	int fd;
	int node;     /* I of a port named p<I>, else 0 */
	bool drop_in; /* frames to this port dropped (partition) */
	bool drop_out;
};

struct held {
	uint64_t due_ns, seq;
	uint16_t len;
	uint8_t out;
	uint8_t data[FRAME_BYTES_MAX];
};

struct counters {
	uint64_t rx, tx, lost, duplicated, corrupted, immediate, partitioned, overflow, tx_fail, too_big;
};

static volatile sig_atomic_t g_stop, g_reload, g_report;

static struct port g_ports[PORTS_MAX];
static unsigned g_nports;
static struct { uint8_t mac[6]; uint8_t port; bool used; } g_macs[MACS_MAX];
static struct held *g_pool;
static uint32_t *g_heap, *g_free;
static uint32_t g_heap_n, g_free_n;
static struct counters g_c;
static uint64_t g_rng;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		g_reload = 1;
	else if (sig == SIGUSR1)
		g_report = 1;
	else
		g_stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: uniform in [0, 1). */
static double rnd(void)
{
	g_rng ^= g_rng >> 12;
	g_rng ^= g_rng << 25;
	g_rng ^= g_rng >> 27;
	return (double)((g_rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* ---- partitions ------------------------------------------------------------ */

static void load_faults(const char *path)
{
	for (unsigned p = 0; p < g_nports; p++)
		g_ports[p].drop_in = g_ports[p].drop_out = false;
	FILE *f = path != NULL ? fopen(path, "r") : NULL;
	if (f == NULL)
		return;
	char kind[16];
	int node;
	char line[256];
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%15s %d", kind, &node) != 2)
			continue;
		for (unsigned p = 0; p < g_nports; p++) {
			if (g_ports[p].node != node || node == 0)
				continue;
			if (strcmp(kind, "in") == 0)
				g_ports[p].drop_in = true;
			else if (strcmp(kind, "out") == 0)
				g_ports[p].drop_out = true;
		}
	}
	(void)fclose(f);
}

/* ---- held frames: a min-heap on (due, seq) ----------------------------------- */

static bool before(uint32_t a, uint32_t b)
{
	const struct held *x = &g_pool[a], *y = &g_pool[b];
	return x->due_ns != y->due_ns ? x->due_ns < y->due_ns : x->seq < y->seq;
}

static void heap_push(uint32_t slot)
{
	uint32_t i = g_heap_n++;
	g_heap[i] = slot;
	while (i > 0 && before(g_heap[i], g_heap[(i - 1) / 2])) {
		uint32_t p = (i - 1) / 2, t = g_heap[p];
		g_heap[p] = g_heap[i];
		g_heap[i] = t;
		i = p;
	}
}

static uint32_t heap_pop(void)
{
	uint32_t top = g_heap[0];
	g_heap[0] = g_heap[--g_heap_n];
	for (uint32_t i = 0;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < g_heap_n && before(g_heap[l], g_heap[m]))
			m = l;
		if (r < g_heap_n && before(g_heap[r], g_heap[m]))
			m = r;
		if (m == i)
			break;
		uint32_t t = g_heap[m];
		g_heap[m] = g_heap[i];
		g_heap[i] = t;
		i = m;
	}
	return top;
}

/* ---- forwarding ------------------------------------------------------------ */

static int mac_port(const uint8_t *mac)
{
	for (unsigned i = 0; i < MACS_MAX && g_macs[i].used; i++)
		if (memcmp(g_macs[i].mac, mac, 6) == 0)
			return g_macs[i].port;
	return -1;
}

static void mac_learn(const uint8_t *mac, unsigned port)
{
	if (mac[0] & 1)
		return; /* a group address is never a source */
	unsigned i = 0;
	while (i < MACS_MAX && g_macs[i].used && memcmp(g_macs[i].mac, mac, 6) != 0)
		i++;
	if (i == MACS_MAX)
		i = MACS_MAX - 1; /* full (never with a cluster's few hosts): reuse the last */
	memcpy(g_macs[i].mac, mac, 6);
	g_macs[i].port = (uint8_t)port;
	g_macs[i].used = true;
}

static void send_now(const uint8_t *data, uint16_t len, unsigned out)
{
	if (send(g_ports[out].fd, data, len, MSG_DONTWAIT) == (ssize_t)len)
		g_c.tx++;
	else
		g_c.tx_fail++;
}

/* One copy of a frame toward port out, through the impairments. */
static void impair(const struct aeg_netem *m, const uint8_t *data, uint16_t len, unsigned in,
		   unsigned out, uint64_t now)
{
	static uint64_t seq;
	if (g_ports[in].drop_out || g_ports[out].drop_in) {
		g_c.partitioned++;
		return;
	}
	if (m->loss > 0 && rnd() < m->loss) {
		g_c.lost++;
		return;
	}
	int copies = m->duplicate > 0 && rnd() < m->duplicate ? 2 : 1;
	g_c.duplicated += (uint64_t)(copies - 1);
	for (int c = 0; c < copies; c++) {
		uint64_t delay = m->delay_ns;
		if (m->jitter_ns > 0) {
			double j = (2 * rnd() - 1) * (double)m->jitter_ns;
			delay = (double)delay + j > 0 ? (uint64_t)((double)delay + j) : 0;
		}
		if (m->reorder > 0 && rnd() < m->reorder) {
			delay = 0;
			g_c.immediate++;
		}
		if (g_free_n == 0) {
			g_c.overflow++;
			continue;
		}
		uint32_t slot = g_free[--g_free_n];
		struct held *h = &g_pool[slot];
		*h = (struct held){ .due_ns = now + delay, .seq = seq++, .len = len, .out = (uint8_t)out };
		memcpy(h->data, data, len);
		if (m->corrupt > 0 && rnd() < m->corrupt) {
			unsigned bit = (unsigned)(rnd() * len * 8);
			h->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			g_c.corrupted++;
		}
		heap_push(slot);
	}
}

static void forward(const struct aeg_netem *m, const uint8_t *data, uint16_t len, unsigned in,
		    uint64_t now)
{
	g_c.rx++;
	if (len < ETH_HLEN)
		return;
	mac_learn(data + 6, in);
	int to = data[0] & 1 ? -1 : mac_port(data);
	for (unsigned p = 0; p < g_nports; p++)
		if (p != in && (to < 0 || (unsigned)to == p))
			impair(m, data, len, in, p, now);
}

static void drain(uint64_t now)
{
	while (g_heap_n > 0 && g_pool[g_heap[0]].due_ns <= now) {
		uint32_t slot = heap_pop();
		send_now(g_pool[slot].data, g_pool[slot].len, g_pool[slot].out);
		g_free[g_free_n++] = slot;
	}
}

static void report(void)
{
	fprintf(stderr, "aegis-cluster-netem: rx %lu tx %lu lost %lu duplicated %lu corrupted %lu sent-at-once "
			"(reorder) %lu partitioned %lu overflow %lu tx-fail %lu too-big %lu held %u\n",
		g_c.rx, g_c.tx, g_c.lost, g_c.duplicated, g_c.corrupted, g_c.immediate, g_c.partitioned,
		g_c.overflow, g_c.tx_fail, g_c.too_big, g_heap_n);
}

static int open_port(struct port *p)
{
	unsigned idx = if_nametoindex(p->name);
	if (idx == 0)
		return -errno;
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (p->fd < 0)
		return -errno;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)idx };
	int one = 1, buf = 4 << 20;
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) != 0 ||
	    setsockopt(p->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) != 0 ||
	    setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)) != 0 ||
	    setsockopt(p->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)) != 0)
		return -errno;
	if (sscanf(p->name, "p%d", &p->node) != 1)
		p->node = 0;
	return 0;
}

static int run(const struct aeg_netem *m, const char *faults)
{
	static uint8_t bufs[BATCH][FRAME_BYTES_MAX + 1];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct pollfd pfd[PORTS_MAX];
	for (unsigned p = 0; p < g_nports; p++)
		pfd[p] = (struct pollfd){ .fd = g_ports[p].fd, .events = POLLIN };
	load_faults(faults);
	while (!g_stop) {
		if (g_reload) {
			g_reload = 0;
			load_faults(faults);
			fprintf(stderr, "aegis-cluster-netem: partitions reread from %s\n", faults);
		}
		if (g_report) {
			g_report = 0;
			report();
		}
		uint64_t now = now_ns();
		struct timespec ts = { .tv_sec = 1 }, *tmo = &ts;
		if (g_heap_n > 0) {
			uint64_t due = g_pool[g_heap[0]].due_ns, wait = due > now ? due - now : 0;
			ts = (struct timespec){ .tv_sec = (time_t)(wait / 1000000000u),
						.tv_nsec = (long)(wait % 1000000000u) };
		}
		int n = ppoll(pfd, g_nports, tmo, NULL);
		if (n < 0 && errno != EINTR) {
			perror("aegis-cluster-netem: ppoll");
			return 1;
		}
		now = now_ns();
		for (unsigned p = 0; n > 0 && p < g_nports; p++) {
			if (!(pfd[p].revents & POLLIN))
				continue;
			for (int k = 0; k < BATCH; k++) {
				iov[k] = (struct iovec){ .iov_base = bufs[k], .iov_len = sizeof(bufs[k]) };
				msgs[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
			}
			int got = recvmmsg(g_ports[p].fd, msgs, BATCH, MSG_DONTWAIT, NULL);
			for (int k = 0; k < got; k++) {
				if (msgs[k].msg_len > FRAME_BYTES_MAX || (msgs[k].msg_hdr.msg_flags & MSG_TRUNC)) {
					g_c.too_big++;
					continue;
				}
				forward(m, bufs[k], (uint16_t)msgs[k].msg_len, p, now);
			}
		}
		drain(now_ns());
	}
	report();
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' }, { "faults", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' }, { "check", no_argument, NULL, 'c' },
		{ "nodes", required_argument, NULL, 'n' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *faults = NULL;
	bool check = false;
	g_rng = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+p:f:s:cn:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (g_nports == PORTS_MAX || strlen(optarg) >= IF_NAMESIZE)
				return 2;
			snprintf(g_ports[g_nports++].name, IF_NAMESIZE, "%s", optarg);
			break;
		case 'f': faults = optarg; break;
		case 's': g_rng = strtoull(optarg, NULL, 10); break;
		case 'c': check = true; break;
		case 'n': break; /* informational (the ports name the nodes) */
		case 'h':
			printf("usage: aegis-cluster-netem --port IF [--port IF ...] [--faults FILE] [--seed N] "
			       "[--check] -- NETEM ARGS\n");
			return 0;
		default: return 2;
		}
	}
	struct aeg_netem m;
	if (g_nports < 2 || aeg_netem_parse(argc - optind, argv + optind, &m) != 0)
		return 2;
	if (check)
		return 0;
	if (g_rng == 0 && getrandom(&g_rng, sizeof(g_rng), 0) != sizeof(g_rng))
		g_rng = (uint64_t)now_ns();
	g_rng |= 1;
	g_pool = calloc(m.limit, sizeof(*g_pool));
	g_heap = calloc(m.limit, sizeof(*g_heap));
	g_free = calloc(m.limit, sizeof(*g_free));
	if (g_pool == NULL || g_heap == NULL || g_free == NULL) {
		fprintf(stderr, "aegis-cluster-netem: no memory for %u held frames\n", m.limit);
		return 1;
	}
	for (uint32_t i = 0; i < m.limit; i++)
		g_free[g_free_n++] = m.limit - 1 - i;
	for (unsigned p = 0; p < g_nports; p++) {
		int rc = open_port(&g_ports[p]);
		if (rc != 0) {
			fprintf(stderr, "aegis-cluster-netem: port %s: %s\n", g_ports[p].name, strerror(-rc));
			return 1;
		}
	}
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: ppoll returns */
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
		return 1;
	fprintf(stderr, "aegis-cluster-netem: %u ports, loss %.2f%% delay %.3f ms +- %.3f reorder %.2f%% "
			"duplicate %.2f%% corrupt %.2f%% limit %u\n",
		g_nports, m.loss * 100, (double)m.delay_ns / 1e6, (double)m.jitter_ns / 1e6, m.reorder * 100,
		m.duplicate * 100, m.corrupt * 100, m.limit);
	int rc = run(&m, faults);
	free(g_pool);
	free(g_heap);
	free(g_free);
	return rc;
}
