/* The port side of a dataplane node (dp_node.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "aegis/port_ethdev.h"
#include "cores.h"
#include "dp_node.h"

#define UDP_SOCK_BUF_BYTES (4u << 20)
#define UDP_BUF_BYTES 2048u       /* a 1500-MTU frame and room */
#define EAL_ARGS_MAX 128
/* Before a memif port closes, its peer's workers get this long without
 * traffic to back off into sleeps: a memif peer that is inside rx_burst
 * while our disconnect unmaps the shared rings crashes (DPDK 22.11). */
#define MEMIF_QUIET_MS 50

/* Where worker w runs: a worker lcore, else a pthread that shares the
 * main lcore's CPUs (e.g. with -l 0). */
struct worker_slot {
	unsigned lcore;          /* RTE_MAX_LCORE: pthread */
	pthread_t thread;
	void (*fn)(void *);
	void *arg;
};

struct aeg_dp_node {
	struct aeg_port *port;
	const struct aeg_dp_config *args;
	bool eal;                /* rte_eal_init succeeded */
	struct aeg_dp_launcher launcher;
	struct worker_slot slots[AEG_DP_WORKERS_MAX];
	uint32_t resolve[AEG_DP_PEERS_MAX];
	struct aeg_port_ethdev_neigh statics[AEG_DP_PEERS_MAX];
};

static int udp_open(struct aeg_dp_node *dn, aeg_dp_log_fn log)
{
	const struct aeg_dp_config *a = dn->args;
	struct aeg_port_udp_config pc = {
		.ipv4 = a->ipv4, .base_port = a->base_port, .queue_count = a->workers,
		.sock_buf_bytes = UDP_SOCK_BUF_BYTES,
		/* Room for the largest frame (jumbo frames: node.frame_bytes). */
		.buf_bytes = a->frame_bytes > UDP_BUF_BYTES ? (a->frame_bytes + 63) / 64 * 64 : UDP_BUF_BYTES,
	};
	char ip[16];
	aeg_net_ipv4_format(a->ipv4, ip);
	int r = aeg_port_udp_open(&pc, &dn->port);
	if (r != 0) {
		log("kernel UDP port on %s:%u..%u: %s", ip, a->base_port,
		    a->base_port + a->workers - 1, strerror(-r));
		return r == -EINVAL ? -EIO : r; /* the arguments were checked: a setup failure */
	}
	log("layout: port udp (kernel sockets, recvmmsg/sendmmsg) on %s:%u..%u, %u queue(s), "
	    "steering kernel (one socket per worker port), workers on pthreads (not pinned), "
	    "pools %u x 512 x %u B, frames up to %u B", ip, a->base_port, a->base_port + a->workers - 1,
	    a->workers, a->workers, pc.buf_bytes, a->frame_bytes ? a->frame_bytes : 1472u);
	return 0;
}

/* ---- ethdev ------------------------------------------------------------ */

/* The PCI address of the first device allowed with -a/--allow (before its
 * ",devargs"), "" if none: its NUMA node is where workers should be. */
static void eal_pci_addr(const struct aeg_dp_config *a, char *out, size_t n)
{
	out[0] = '\0';
	for (int i = 1; i < a->eal_argc; i++) {
		const char *v = NULL, *s = a->eal_argv[i];
		if (strcmp(s, "-a") == 0 || strcmp(s, "--allow") == 0)
			v = i + 1 < a->eal_argc ? a->eal_argv[i + 1] : NULL;
		else if (strncmp(s, "--allow=", 8) == 0)
			v = s + 8;
		else if (strncmp(s, "-a", 2) == 0 && s[2] != '\0')
			v = s + 2;
		if (v != NULL) {
			snprintf(out, n, "%.*s", (int)strcspn(v, ","), v);
			return;
		}
	}
}

int aeg_dp_cores_pick(const struct aeg_dp_config *args, aeg_dp_log_fn log, char *buf, size_t n)
{
	static const char opt[] = "--lcores=";
	hwloc_topology_t topo;
	int r = aeg_cores_topology_load(&topo);
	if (r != 0) {
		log("cores: hwloc topology: %s; EAL picks its defaults", strerror(-r));
		return r;
	}
	/* EAL has not probed yet: the NIC's node comes from its PCI address
	 * (-1, none favoured, for vdevs). */
	char pci[64];
	eal_pci_addr(args, pci, sizeof(pci));
	int numa = pci[0] != '\0' ? aeg_cores_nic_numa(topo, pci) : -1;
	struct aeg_core_layout l;
	char desc[2048];
	r = aeg_cores_pick(topo, NULL, numa, args->workers, &l);
	if (r == 0 && n > sizeof(opt)) {
		memcpy(buf, opt, sizeof(opt) - 1);
		int len = aeg_cores_eal_lcores(&l, buf + sizeof(opt) - 1, n - (sizeof(opt) - 1));
		r = len < 0 ? len : 0;
	}
	if (r == 0 && aeg_cores_describe(topo, &l, desc, sizeof(desc)) > 0) {
		/* One log line per line of the description. */
		for (char *line = strtok(desc, "\n"); line != NULL; line = strtok(NULL, "\n"))
			log("cores (hwloc): %s", line);
		log("cores: EAL %s", buf);
	}
	if (r != 0)
		log("cores: hwloc placement for %u worker(s): %s; EAL picks its defaults",
		    args->workers, strerror(-r));
	hwloc_topology_destroy(topo);
	return r;
}

static int lcore_main(void *arg)
{
	struct worker_slot *s = arg;
	s->fn(s->arg);
	return 0;
}

static void *thread_main(void *arg)
{
	/* An lcore id of its own gives the thread mempool caches; without one
	 * (all ids taken) it still works, through the pools' rings. */
	bool registered = rte_thread_register() == 0;
	lcore_main(arg);
	if (registered)
		rte_thread_unregister();
	return NULL;
}

static int slot_launch(void *ctx, uint16_t w, void (*fn)(void *), void *arg)
{
	struct worker_slot *s = &((struct aeg_dp_node *)ctx)->slots[w];
	s->fn = fn;
	s->arg = arg;
	if (s->lcore < RTE_MAX_LCORE)
		return rte_eal_remote_launch(lcore_main, s, s->lcore);
	return -pthread_create(&s->thread, NULL, thread_main, s);
}

static void slot_wait(void *ctx, uint16_t w)
{
	struct worker_slot *s = &((struct aeg_dp_node *)ctx)->slots[w];
	if (s->lcore < RTE_MAX_LCORE)
		(void)rte_eal_wait_lcore(s->lcore);
	else
		(void)pthread_join(s->thread, NULL);
}

static int eal_init(struct aeg_dp_node *dn, aeg_dp_log_fn log)
{
	const struct aeg_dp_config *a = dn->args;
	char *argv[EAL_ARGS_MAX + 2];
	char lcores[256] = "";
	int argc = 0;
	if (a->eal_argc > EAL_ARGS_MAX) {
		log("too many EAL arguments");
		return -EINVAL;
	}
	for (int i = 0; i < a->eal_argc; i++)
		argv[argc++] = a->eal_argv[i];
	if (!a->eal_cores_given && aeg_dp_cores_pick(a, log, lcores, sizeof(lcores)) == 0)
		argv[argc++] = lcores;
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		log("rte_eal_init: %s", rte_strerror(rte_errno));
		return -EIO;
	}
	dn->eal = true;
	return 0;
}

/* The first CPU an lcore may run on (rte_lcore_to_cpu_id gives the lcore
 * index when --lcores maps lcores to other CPUs). */
static int lcore_cpu(unsigned lcore)
{
	rte_cpuset_t set = rte_lcore_cpuset(lcore);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

/* Worker w on the w-th worker lcore, or on a pthread next to the main lcore. */
static void slots_assign(struct aeg_dp_node *dn, aeg_dp_log_fn log)
{
	unsigned lcore = rte_get_next_lcore(-1, 1, 0);
	char line[512];
	int len = snprintf(line, sizeof(line), "layout: main lcore %u on CPU %d; workers:",
			   rte_get_main_lcore(), lcore_cpu(rte_get_main_lcore()));
	for (uint16_t w = 0; w < dn->args->workers; w++) {
		dn->slots[w].lcore = lcore < RTE_MAX_LCORE ? lcore : RTE_MAX_LCORE;
		if (len < (int)sizeof(line) && lcore < RTE_MAX_LCORE)
			len += snprintf(line + len, sizeof(line) - (size_t)len, "%s %u on lcore %u (CPU %d)",
					w == 0 ? "" : ",", w, lcore, lcore_cpu(lcore));
		else if (len < (int)sizeof(line))
			len += snprintf(line + len, sizeof(line) - (size_t)len,
					"%s %u on a thread sharing the main lcore's CPU",
					w == 0 ? "" : ",", w);
		if (lcore < RTE_MAX_LCORE)
			lcore = rte_get_next_lcore(lcore, 1, 0);
	}
	log("%s", line);
	dn->launcher = (struct aeg_dp_launcher){ .launch = slot_launch, .wait = slot_wait, .ctx = dn };
}

static int ethdev_open(struct aeg_dp_node *dn, aeg_dp_log_fn log)
{
	const struct aeg_dp_config *a = dn->args;
	int r = eal_init(dn, log);
	if (r != 0)
		return r;
	if (!rte_eth_dev_is_valid_port(a->eth_port)) {
		log("--eth-port %u: no such DPDK port (%u available; a --vdev missing?)",
		    a->eth_port, rte_eth_dev_count_avail());
		return -ENODEV;
	}
	struct aeg_port_ethdev_config pc = {
		.port_id = a->eth_port, .queue_count = a->workers, .ipv4 = a->ipv4,
		.base_port = a->base_port, .statics = dn->statics, .resolve = dn->resolve,
		.static_only = a->static_arp,
	};
	for (uint32_t i = 0; i < a->peer_count; i++) {
		const struct aeg_dp_peer *p = &a->peers[i];
		if (p->node == a->node)
			continue;
		dn->resolve[pc.resolve_count++] = p->ipv4;
		if (p->has_mac)
			dn->statics[pc.static_count++] = (struct aeg_port_ethdev_neigh){ p->ipv4, p->mac };
	}
	char info[512];
	r = aeg_port_ethdev_open(&pc, &dn->port, info, sizeof(info));
	if (r != 0) {
		log("ethdev port %u: %s", a->eth_port, strerror(-r));
		return r == -EINVAL ? -EIO : r;
	}
	log("layout: %s", info);
	slots_assign(dn, log);
	return 0;
}

/* ---- the node's port ---------------------------------------------------- */

int aeg_dp_node_open(const struct aeg_dp_config *args, aeg_dp_log_fn log, struct aeg_dp_node **out)
{
	struct aeg_dp_node *dn = calloc(1, sizeof(*dn));
	if (dn == NULL)
		return -ENOMEM;
	dn->args = args;
	int r = args->port == AEG_DP_PORT_UDP ? udp_open(dn, log) : ethdev_open(dn, log);
	if (r != 0) {
		aeg_dp_node_close(dn);
		return r;
	}
	*out = dn;
	return 0;
}

void aeg_dp_node_close(struct aeg_dp_node *dn)
{
	if (dn == NULL)
		return;
	if (dn->port != NULL && dn->eal && strcmp(aeg_dp_node_driver(dn), "net_memif") == 0) {
		struct timespec ts = { .tv_nsec = MEMIF_QUIET_MS * 1000000L };
		(void)nanosleep(&ts, NULL);
	}
	aeg_port_close(dn->port);
	if (dn->eal)
		(void)rte_eal_cleanup();
	free(dn);
}

struct aeg_port *aeg_dp_node_port(struct aeg_dp_node *dn)
{
	return dn->port;
}

const char *aeg_dp_node_driver(struct aeg_dp_node *dn)
{
	struct aeg_port_stats s;
	aeg_port_stats_read(dn->port, &s);
	return s.driver;
}

const struct aeg_dp_launcher *aeg_dp_node_launcher(struct aeg_dp_node *dn)
{
	return dn->eal ? &dn->launcher : NULL;
}

void aeg_dp_node_poll(struct aeg_dp_node *dn, uint64_t now_ns)
{
	if (dn->eal)
		aeg_port_ethdev_slow_poll(dn->port, now_ns);
}

int aeg_dp_node_peer_add(struct aeg_dp_node *dn, uint32_t ipv4)
{
	return dn->eal ? aeg_port_ethdev_resolve_add(dn->port, ipv4) : 0;
}

bool aeg_dp_node_reachable(struct aeg_dp_node *dn, uint32_t ipv4)
{
	/* The kernel resolves neighbours for the UDP port. */
	return !dn->eal || aeg_port_ethdev_reachable(dn->port, ipv4);
}
