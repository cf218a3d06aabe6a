/* Core placement with hwloc: see cores.h for the policy. */
#include "cores.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* One allowed PU and the keys that order it. */
struct pu_slot {
	int os;            /* OS index of the PU */
	int numa;          /* OS index of its NUMA node, -1 unknown */
	unsigned core;     /* logical index of its core (its own if no Core level) */
	unsigned pu;       /* logical index of the PU */
	unsigned rank;     /* 0 = first allowed PU of its core, 1 = first SMT sibling, ... */
	uint64_t distance; /* from the NIC's node: 0 = on it, then hwloc distance + 1 */
};

int aeg_cores_topology_load(hwloc_topology_t *topo)
{
	if (topo == NULL)
		return -EINVAL;
	if (hwloc_topology_init(topo) < 0)
		return -errno;
	/* PCI devices are filtered out by default; the NIC lookup needs them.
	 * Linux's own sysfs scan finds them: skip the libpciaccess plugin
	 * (it leaks its device-name table, which fails ASan) and the OpenCL
	 * and OpenGL probes (GPUs are not wanted, and they are slow). */
	/* These plugins come with libhwloc-plugins, which a minimal install
	 * lacks: hwloc then refuses to blacklist an unknown name, and there is
	 * nothing to skip anyway, so those calls may fail. */
	static const char *const skip[] = { "opencl", "pci", "gl" };
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		(void)hwloc_topology_set_components(*topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
						    skip[i]);
	if (hwloc_topology_set_io_types_filter(*topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT) < 0 ||
	    hwloc_topology_load(*topo) < 0) {
		int err = -errno;
		hwloc_topology_destroy(*topo);
		return err;
	}
	return 0;
}

static int numa_of(hwloc_obj_t obj)
{
	if (obj->nodeset == NULL || hwloc_bitmap_iszero(obj->nodeset))
		return -1;
	return hwloc_bitmap_first(obj->nodeset);
}

static hwloc_obj_t core_of(hwloc_topology_t topo, hwloc_obj_t pu)
{
	hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu);
	return core != NULL ? core : pu;
}

/* 0 for the NIC's node (or when there is no NIC node), else 1 + the
 * latency hwloc reports between the nodes, or 1 when it has none: then
 * the core index alone orders the remote nodes. */
static uint64_t numa_distance(hwloc_topology_t topo, struct hwloc_distances_s *dist,
			      int nic_numa, int numa)
{
	if (nic_numa < 0 || numa == nic_numa)
		return 0;
	if (dist == NULL || numa < 0)
		return 1;
	hwloc_obj_t from = hwloc_get_numanode_obj_by_os_index(topo, (unsigned)nic_numa);
	hwloc_obj_t to = hwloc_get_numanode_obj_by_os_index(topo, (unsigned)numa);
	hwloc_uint64_t there, back;
	if (from == NULL || to == NULL || hwloc_distances_obj_pair_values(dist, from, to, &there, &back) < 0)
		return 1;
	return 1 + there;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct pu_slot *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->distance != y->distance)
		return x->distance < y->distance ? -1 : 1;
	if (x->core != y->core)
		return x->core < y->core ? -1 : 1;
	return x->pu < y->pu ? -1 : x->pu > y->pu;
}

/* The PUs we may use: allowed (or our binding) within the topology. */
static int usable_set(hwloc_topology_t topo, hwloc_const_bitmap_t allowed, hwloc_bitmap_t set)
{
	int rc;
	if (allowed != NULL)
		rc = hwloc_bitmap_copy(set, allowed);
	else if (hwloc_get_cpubind(topo, set, 0) < 0 || hwloc_bitmap_iszero(set))
		/* Not this system (synthetic, XML) or no binding support. */
		rc = hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(topo));
	else
		rc = 0;
	if (rc < 0 || hwloc_bitmap_and(set, set, hwloc_topology_get_topology_cpuset(topo)) < 0)
		return -ENOMEM;
	return hwloc_bitmap_weight(set);
}

/* Fills slots[] (one per PU of set) in the order workers take them. */
static void order_slots(hwloc_topology_t topo, hwloc_const_bitmap_t set, int nic_numa,
			struct pu_slot *slots, unsigned n)
{
	struct hwloc_distances_s *dist = NULL;
	unsigned nr = 1;
	if (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &nr, &dist,
					HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0) < 0 || nr == 0)
		dist = NULL;
	unsigned i = 0;
	int os;
	hwloc_bitmap_foreach_begin(os, set) {
		hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, (unsigned)os);
		assert(pu != NULL && i < n);
		struct pu_slot *s = &slots[i];
		*s = (struct pu_slot){ .os = os, .numa = numa_of(pu), .pu = pu->logical_index,
				       .core = core_of(topo, pu)->logical_index };
		s->distance = numa_distance(topo, dist, nic_numa, s->numa);
		for (unsigned j = 0; j < i; j++)
			s->rank += slots[j].core == s->core;
		i++;
	}
	hwloc_bitmap_foreach_end();
	assert(i == n);
	if (dist != NULL)
		hwloc_distances_release(topo, dist);
	qsort(slots, n, sizeof(*slots), slot_cmp);
}

/* Takes the main lcore's PU out of slots[] (or shares the last worker's)
 * and gives the workers the first of the rest. */
static void assign(const struct pu_slot *slots, unsigned n, uint32_t workers,
		   struct aeg_core_layout *out)
{
	unsigned cores = 0;
	while (cores < n && slots[cores].rank == 0)
		cores++;
	unsigned main_at;
	if (workers < n && cores > workers)
		main_at = cores - 1;  /* the last core, which no worker gets */
	else
		main_at = n - 1;      /* the last SMT sibling, or shared */
	out->main_cpu = slots[main_at].os;
	out->main_shared = workers == n;
	out->worker_count = workers;
	out->smt_used = false;
	for (unsigned w = 0, i = 0; w < workers; i++) {
		assert(i < n);
		if (i == main_at && !out->main_shared)
			continue;
		out->worker_cpus[w++] = slots[i].os;
		out->smt_used |= slots[i].rank > 0;
	}
}

int aeg_cores_pick(hwloc_topology_t topo, hwloc_const_bitmap_t allowed, int nic_numa,
		   uint32_t workers, struct aeg_core_layout *out)
{
	if (topo == NULL || out == NULL || workers == 0 || workers > AEG_CORES_MAX)
		return -EINVAL;
	if (nic_numa >= 0 && hwloc_get_numanode_obj_by_os_index(topo, (unsigned)nic_numa) == NULL)
		nic_numa = -1; /* a node this topology does not have: no preference */
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	if (set == NULL)
		return -ENOMEM;
	int weight = usable_set(topo, allowed, set);
	int rc = 0;
	if (weight < 0)
		rc = weight == -ENOMEM ? -ENOMEM : -EINVAL; /* -1: an infinite set */
	else if ((unsigned)weight < workers)
		rc = -ENOSPC;
	struct pu_slot *slots = NULL;
	if (rc == 0 && (slots = calloc((size_t)weight, sizeof(*slots))) == NULL)
		rc = -ENOMEM;
	if (rc == 0) {
		order_slots(topo, set, nic_numa, slots, (unsigned)weight);
		*out = (struct aeg_core_layout){ .nic_numa = nic_numa };
		assign(slots, (unsigned)weight, workers, out);
	}
	free(slots);
	hwloc_bitmap_free(set);
	return rc;
}

int aeg_cores_nic_numa(hwloc_topology_t topo, const char *pci_busid)
{
	if (topo == NULL || pci_busid == NULL)
		return -1;
	hwloc_obj_t dev = hwloc_get_pcidev_by_busidstring(topo, pci_busid);
	if (dev == NULL)
		return -1;
	hwloc_obj_t near = hwloc_get_non_io_ancestor_obj(topo, dev);
	if (near == NULL || near->nodeset == NULL || hwloc_bitmap_weight(near->nodeset) != 1)
		return -1;
	return hwloc_bitmap_first(near->nodeset);
}

/* A bounded string builder: appends until a piece does not fit, then
 * keeps what came before and only remembers that it was full. */
struct out_buf {
	char *buf;
	size_t n, len;
	bool over;
};

__attribute__((format(printf, 2, 3))) static void out_add(struct out_buf *o, const char *fmt, ...)
{
	if (o->over)
		return;
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= o->n - o->len) {
		o->over = true;
		o->buf[o->len] = '\0'; /* keep only whole pieces */
	} else
		o->len += (size_t)k;
}

static int out_end(const struct out_buf *o)
{
	return o->over ? -ENOSPC : (int)o->len;
}

static bool layout_ok(const struct aeg_core_layout *l)
{
	return l != NULL && l->worker_count >= 1 && l->worker_count <= AEG_CORES_MAX;
}

/* The cpu of lcore id i (0 = main). */
static int lcore_cpu(const struct aeg_core_layout *l, uint32_t i)
{
	return i == AEG_CORES_MAIN_LCORE ? l->main_cpu : l->worker_cpus[i - 1];
}

int aeg_cores_eal_lcores(const struct aeg_core_layout *l, char *buf, size_t n)
{
	if (!layout_ok(l) || buf == NULL || n == 0)
		return -EINVAL;
	struct out_buf o = { .buf = buf, .n = n };
	buf[0] = '\0';
	for (uint32_t i = 0; i <= l->worker_count; i++)
		out_add(&o, "%s%u@%d", i == 0 ? "" : ",", i, lcore_cpu(l, i));
	return out_end(&o);
}

/* The first other lcore whose PU is lcore i's PU (same_pu) or on the same
 * core, or -1. */
static int lcore_near(hwloc_topology_t topo, const struct aeg_core_layout *l, uint32_t i,
		      bool same_pu)
{
	hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, (unsigned)lcore_cpu(l, i));
	for (uint32_t j = 0; j <= l->worker_count; j++) {
		hwloc_obj_t other = hwloc_get_pu_obj_by_os_index(topo, (unsigned)lcore_cpu(l, j));
		if (j != i && (same_pu ? other == pu : core_of(topo, other) == core_of(topo, pu)))
			return (int)j;
	}
	return -1;
}

/* How lcore i's PU relates to the other lcores': shared, SMT sibling, or
 * a core of its own. */
static void describe_sharing(hwloc_topology_t topo, const struct aeg_core_layout *l, uint32_t i,
			     struct out_buf *o)
{
	int j = lcore_near(topo, l, i, true);
	if (j >= 0) {
		out_add(o, "shares its cpu with lcore %d\n", j);
		return;
	}
	j = lcore_near(topo, l, i, false);
	if (j >= 0)
		out_add(o, "smt sibling of lcore %d\n", j);
	else
		out_add(o, "own core\n");
}

int aeg_cores_describe(hwloc_topology_t topo, const struct aeg_core_layout *l, char *buf,
		       size_t n)
{
	if (topo == NULL || !layout_ok(l) || buf == NULL || n == 0)
		return -EINVAL;
	for (uint32_t i = 0; i <= l->worker_count; i++)
		if (lcore_cpu(l, i) < 0 ||
		    hwloc_get_pu_obj_by_os_index(topo, (unsigned)lcore_cpu(l, i)) == NULL)
			return -EINVAL;
	struct out_buf o = { .buf = buf, .n = n };
	buf[0] = '\0';
	out_add(&o, "cores: %u workers, NIC NUMA node %d, main lcore %s, %s\n", l->worker_count,
		l->nic_numa, l->main_shared ? "shares a worker's cpu" : "on its own cpu",
		l->smt_used ? "workers on SMT siblings" : "one worker per physical core");
	for (uint32_t i = 0; i <= l->worker_count; i++) {
		hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, (unsigned)lcore_cpu(l, i));
		out_add(&o, "  %-6s lcore %3u cpu %3d core L#%-3u numa %2d  ",
			i == AEG_CORES_MAIN_LCORE ? "main" : "worker", i, lcore_cpu(l, i),
			core_of(topo, pu)->logical_index, numa_of(pu));
		describe_sharing(topo, l, i, &o);
	}
	return out_end(&o);
}

int aeg_cores_pin_self(hwloc_topology_t topo, int cpu)
{
	if (topo == NULL || cpu < 0 || hwloc_get_pu_obj_by_os_index(topo, (unsigned)cpu) == NULL)
		return -EINVAL;
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	if (set == NULL)
		return -ENOMEM;
	int rc = hwloc_bitmap_only(set, (unsigned)cpu) < 0 ? -ENOMEM : 0;
	if (rc == 0 && hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) < 0)
		rc = errno != 0 ? -errno : -EINVAL;
	hwloc_bitmap_free(set);
	return rc;
}
