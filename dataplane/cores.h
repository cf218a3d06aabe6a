/* Core placement: which CPUs the main lcore and the workers run on, chosen
 * with hwloc, and how to hand that choice to DPDK's EAL or to pthreads.
 *
 * Policy (aeg_cores_pick):
 *   - workers take one PU per physical core first, cores on the NIC's NUMA
 *     node first, then the other nodes by hwloc NUMA distance (when the
 *     topology has a latency matrix) or else by core index; only when every
 *     physical core has a worker do they take SMT siblings, round by round;
 *   - the main lcore (slow path: control plane, ARP, statistics) gets a PU
 *     of its own when there are more allowed PUs than workers: a PU of the
 *     last core in that order if a core is left without a worker (the core
 *     workers would want least), else the last SMT sibling in that order;
 *   - with as many PUs as workers, the main lcore shares the last worker's
 *     PU and main_shared is set (the slow path mostly sleeps).
 *
 * EAL lcore ids: the main lcore is lcore 0 and worker w is lcore w + 1, so
 * "--lcores <aeg_cores_eal_lcores> --main-lcore 0" makes DPDK launch worker
 * w on lcore w + 1 (rte_eal_mp_remote_launch walks the workers in lcore id
 * order). Shared CPUs are legal in --lcores ("0@3,1@3").
 *
 * Sizes: struct aeg_core_layout is ~1 KiB (AEG_CORES_MAX ints), no
 * allocation kept; aeg_cores_pick allocates scratch hwloc bitmaps and an
 * array of one entry per allowed PU, freed before it returns. Init-time
 * code only: nothing here is for the hot path. */
#ifndef AEGIS_DATAPLANE_CORES_H
#define AEGIS_DATAPLANE_CORES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hwloc.h>

#define AEG_CORES_MAX 256
/* The EAL lcore id of the main lcore; worker w is aeg_cores_worker_lcore(w). */
#define AEG_CORES_MAIN_LCORE 0

struct aeg_core_layout {
	int main_cpu;                   /* OS index of the PU for the main lcore (slow path) */
	uint32_t worker_count;
	int worker_cpus[AEG_CORES_MAX]; /* OS PU index of worker w */
	int nic_numa;                   /* NUMA node used for the choice, -1 unknown */
	bool main_shared;               /* main lcore shares a PU with a worker (too few PUs) */
	bool smt_used;                  /* some worker sits on an SMT sibling of another */
};

static inline uint32_t aeg_cores_worker_lcore(uint32_t worker)
{
	return worker + 1;
}

/* Loads the machine's topology with PCI devices (so that
 * aeg_cores_nic_numa can find a NIC). Returns 0 or -errno; on success
 * release it with hwloc_topology_destroy. */
int aeg_cores_topology_load(hwloc_topology_t *topo);

/* Chooses PUs for `workers` workers (1..AEG_CORES_MAX) and the main lcore.
 * allowed: PUs we may use (NULL = the process's current binding,
 * hwloc_get_cpubind, or the topology's allowed set where binding cannot
 * be queried); always restricted to PUs the topology has. nic_numa: OS
 * index of the NUMA node to favour, -1 for none. Returns 0, -EINVAL (bad
 * arguments), -ENOSPC (fewer allowed PUs than workers) or -ENOMEM. */
int aeg_cores_pick(hwloc_topology_t topo, hwloc_const_bitmap_t allowed, int nic_numa,
		   uint32_t workers, struct aeg_core_layout *out);

/* OS index of the NUMA node of the PCI device with bus id pci_busid
 * ("0000:03:00.0"), or -1 when unknown: NULL (a vdev), no such device in
 * the topology (loaded without I/O objects, e.g. synthetic), or a device
 * not local to exactly one node. */
int aeg_cores_nic_numa(hwloc_topology_t topo, const char *pci_busid);

/* Writes a summary line and one line per lcore (role, lcore id, OS cpu,
 * core, NUMA node, whether the PU is an SMT sibling of another lcore's
 * PU) into buf. Returns the length written, -EINVAL, or -ENOSPC when buf
 * is too small (buf then holds a NUL-terminated prefix). */
int aeg_cores_describe(hwloc_topology_t topo, const struct aeg_core_layout *l, char *buf,
		       size_t n);

/* The EAL --lcores value: "0@<main>,1@<worker 0>,...", e.g. "0@3,1@1,2@2".
 * Returns the length, -EINVAL, or -ENOSPC when buf is too small. */
int aeg_cores_eal_lcores(const struct aeg_core_layout *l, char *buf, size_t n);

/* Binds the calling thread to PU cpu (OS index); for pthread workers in
 * kernel-UDP mode. Returns 0, -EINVAL (no such PU) or -errno of hwloc. */
int aeg_cores_pin_self(hwloc_topology_t topo, int cpu);

#endif
