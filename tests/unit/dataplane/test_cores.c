/* Core placement over hwloc synthetic topologies (and this machine's):
 * physical cores before SMT siblings, the NIC's NUMA node first (and the
 * others by distance), where the main lcore goes and when it shares a
 * worker's PU, restricted allowed sets, -ENOSPC / -EINVAL, the EAL
 * --lcores string and the printed layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "cores.h"

static hwloc_topology_t synthetic(const char *desc)
{
	hwloc_topology_t topo;
	assert_int_equal(hwloc_topology_init(&topo), 0);
	assert_int_equal(hwloc_topology_set_synthetic(topo, desc), 0);
	assert_int_equal(hwloc_topology_load(topo), 0);
	return topo;
}

/* Picks with allowed given as a hwloc list ("1,2,5-7"; NULL = all). */
static int pick(hwloc_topology_t topo, const char *allowed, int nic_numa, uint32_t workers,
		struct aeg_core_layout *l)
{
	hwloc_bitmap_t set = NULL;
	if (allowed != NULL) {
		set = hwloc_bitmap_alloc();
		assert_non_null(set);
		assert_int_equal(hwloc_bitmap_list_sscanf(set, allowed), 0);
	}
	memset(l, 0xa5, sizeof(*l)); /* no field may be left from before */
	int rc = aeg_cores_pick(topo, set, nic_numa, workers, l);
	hwloc_bitmap_free(set);
	return rc;
}

/* Checks the layout against main cpu, flags and the worker cpus in order. */
static void expect(const struct aeg_core_layout *l, int main_cpu, bool shared, bool smt,
		   uint32_t n, const int *cpus)
{
	assert_int_equal(l->main_cpu, main_cpu);
	assert_int_equal(l->main_shared, shared);
	assert_int_equal(l->smt_used, smt);
	assert_int_equal(l->worker_count, n);
	for (uint32_t w = 0; w < n; w++)
		assert_int_equal(l->worker_cpus[w], cpus[w]);
}

/* 4 cores x 2 PUs: core k holds PUs 2k and 2k+1. */
static void test_physical_before_smt(void **state)
{
	(void)state;
	hwloc_topology_t topo = synthetic("package:1 core:4 pu:2");
	struct aeg_core_layout l;
	assert_int_equal(pick(topo, NULL, -1, 3, &l), 0);
	expect(&l, 6, false, false, 3, (int[]){ 0, 2, 4 }); /* main alone on core 3 */
	assert_int_equal(l.nic_numa, -1);
	assert_int_equal(pick(topo, NULL, -1, 4, &l), 0);
	expect(&l, 7, false, false, 4, (int[]){ 0, 2, 4, 6 }); /* main on an SMT sibling */
	assert_int_equal(pick(topo, NULL, -1, 5, &l), 0);
	expect(&l, 7, false, true, 5, (int[]){ 0, 2, 4, 6, 1 });
	assert_int_equal(pick(topo, NULL, -1, 8, &l), 0);
	expect(&l, 7, true, true, 8, (int[]){ 0, 2, 4, 6, 1, 3, 5, 7 });
	assert_int_equal(pick(topo, NULL, -1, 9, &l), -ENOSPC);
	hwloc_topology_destroy(topo);
}

/* 2 packages x (1 NUMA node, 4 cores x 2 PUs): node 0 has PUs 0-7,
 * node 1 PUs 8-15. */
static void test_nic_numa_first(void **state)
{
	(void)state;
	hwloc_topology_t topo = synthetic("package:2 numa:1 core:4 pu:2");
	struct aeg_core_layout l;
	assert_int_equal(pick(topo, NULL, 1, 3, &l), 0);
	assert_int_equal(l.nic_numa, 1);
	/* Workers on node 1; main on the last core in order: node 0's last. */
	expect(&l, 6, false, false, 3, (int[]){ 8, 10, 12 });
	assert_int_equal(pick(topo, NULL, 1, 6, &l), 0);
	expect(&l, 6, false, false, 6, (int[]){ 8, 10, 12, 14, 0, 2 });
	/* Every physical core before any sibling, even a sibling on node 1. */
	assert_int_equal(pick(topo, NULL, 1, 9, &l), 0);
	expect(&l, 7, false, true, 9, (int[]){ 8, 10, 12, 14, 0, 2, 4, 6, 9 });
	assert_int_equal(pick(topo, NULL, 0, 3, &l), 0);
	expect(&l, 14, false, false, 3, (int[]){ 0, 2, 4 });
	/* No NIC node, or one the machine does not have: index order. */
	assert_int_equal(pick(topo, NULL, -1, 3, &l), 0);
	expect(&l, 14, false, false, 3, (int[]){ 0, 2, 4 });
	assert_int_equal(pick(topo, NULL, 5, 3, &l), 0);
	assert_int_equal(l.nic_numa, -1);
	expect(&l, 14, false, false, 3, (int[]){ 0, 2, 4 });
	/* The NIC's node is not allowed at all: the others still work. */
	assert_int_equal(pick(topo, "0-5", 1, 2, &l), 0);
	expect(&l, 4, false, false, 2, (int[]){ 0, 2 });
	hwloc_topology_destroy(topo);
}

/* 4 nodes of one PU each; latency from node 0: node 3 nearest, then 2,
 * then 1, so the order is not the index order. */
static void test_numa_distance_order(void **state)
{
	(void)state;
	hwloc_topology_t topo = synthetic("package:4 numa:1 core:1 pu:1");
	hwloc_obj_t nodes[4];
	for (unsigned i = 0; i < 4; i++)
		assert_non_null(nodes[i] = hwloc_get_numanode_obj_by_os_index(topo, i));
	hwloc_uint64_t lat[16] = {
		10, 40, 20, 12, /* from 0 */
		40, 10, 12, 20, /* from 1 */
		20, 12, 10, 40, /* from 2 */
		12, 20, 40, 10, /* from 3 */
	};
	hwloc_distances_add_handle_t h = hwloc_distances_add_create(
		topo, "test", HWLOC_DISTANCES_KIND_FROM_USER | HWLOC_DISTANCES_KIND_MEANS_LATENCY, 0);
	assert_non_null(h);
	assert_int_equal(hwloc_distances_add_values(topo, h, 4, nodes, lat, 0), 0);
	assert_int_equal(hwloc_distances_add_commit(topo, h, 0), 0);
	struct aeg_core_layout l;
	assert_int_equal(pick(topo, NULL, 0, 3, &l), 0);
	expect(&l, 1, false, false, 3, (int[]){ 0, 3, 2 });
	assert_int_equal(pick(topo, NULL, 1, 3, &l), 0);
	expect(&l, 0, false, false, 3, (int[]){ 1, 2, 3 });
	hwloc_topology_destroy(topo);
}

/* Cores with some PUs not allowed: c0 {1}, c1 {2, 3}, c2 {5}. */
static void test_restricted_allowed(void **state)
{
	(void)state;
	hwloc_topology_t topo = synthetic("package:1 core:4 pu:2");
	struct aeg_core_layout l;
	assert_int_equal(pick(topo, "1,2,3,5", -1, 2, &l), 0);
	expect(&l, 5, false, false, 2, (int[]){ 1, 2 });
	assert_int_equal(pick(topo, "1,2,3,5", -1, 3, &l), 0);
	expect(&l, 3, false, false, 3, (int[]){ 1, 2, 5 }); /* main beside worker 1 */
	assert_int_equal(pick(topo, "1,2,3,5", -1, 4, &l), 0);
	expect(&l, 3, true, true, 4, (int[]){ 1, 2, 5, 3 });
	assert_int_equal(pick(topo, "1,2,3,5", -1, 5, &l), -ENOSPC);
	assert_int_equal(pick(topo, "", -1, 1, &l), -ENOSPC);
	assert_int_equal(pick(topo, "100-101", -1, 1, &l), -ENOSPC); /* not in the topology */
	assert_int_equal(pick(topo, "7,100", -1, 1, &l), 0);
	expect(&l, 7, true, false, 1, (int[]){ 7 });
	hwloc_topology_destroy(topo);
}

static void test_small_machines(void **state)
{
	(void)state;
	struct aeg_core_layout l;
	hwloc_topology_t smt = synthetic("core:1 pu:2");
	assert_int_equal(pick(smt, NULL, -1, 1, &l), 0);
	expect(&l, 1, false, false, 1, (int[]){ 0 });
	assert_int_equal(pick(smt, NULL, -1, 2, &l), 0);
	expect(&l, 1, true, true, 2, (int[]){ 0, 1 });
	hwloc_topology_destroy(smt);
	hwloc_topology_t two = synthetic("package:1 core:2 pu:1"); /* like this machine */
	assert_int_equal(pick(two, NULL, -1, 1, &l), 0);
	expect(&l, 1, false, false, 1, (int[]){ 0 });
	assert_int_equal(pick(two, NULL, -1, 2, &l), 0);
	expect(&l, 1, true, false, 2, (int[]){ 0, 1 });
	assert_int_equal(pick(two, NULL, -1, 3, &l), -ENOSPC);
	hwloc_topology_destroy(two);
}

static void test_bad_args(void **state)
{
	(void)state;
	hwloc_topology_t topo = synthetic("package:1 core:2 pu:1");
	struct aeg_core_layout l;
	assert_int_equal(aeg_cores_pick(topo, NULL, -1, 0, &l), -EINVAL);
	assert_int_equal(aeg_cores_pick(topo, NULL, -1, AEG_CORES_MAX + 1, &l), -EINVAL);
	assert_int_equal(aeg_cores_pick(NULL, NULL, -1, 1, &l), -EINVAL);
	assert_int_equal(aeg_cores_pick(topo, NULL, -1, 1, NULL), -EINVAL);
	assert_int_equal(aeg_cores_nic_numa(topo, NULL), -1);
	assert_int_equal(aeg_cores_nic_numa(topo, "0000:03:00.0"), -1); /* no I/O objects */
	assert_int_equal(aeg_cores_nic_numa(NULL, "0000:03:00.0"), -1);
	assert_int_equal(aeg_cores_pin_self(topo, -1), -EINVAL);
	assert_int_equal(aeg_cores_pin_self(topo, 2), -EINVAL);
	assert_int_equal(aeg_cores_topology_load(NULL), -EINVAL);
	hwloc_topology_destroy(topo);
}

static void test_eal_lcores(void **state)
{
	(void)state;
	hwloc_topology_t topo = synthetic("package:1 core:4 pu:2");
	struct aeg_core_layout l;
	char buf[64];
	assert_int_equal(pick(topo, NULL, -1, 2, &l), 0);
	assert_int_equal(aeg_cores_eal_lcores(&l, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "0@6,1@0,2@2");
	assert_int_equal(pick(topo, "1,2", -1, 2, &l), 0);
	assert_int_equal(aeg_cores_eal_lcores(&l, buf, sizeof(buf)), 11);
	assert_string_equal(buf, "0@2,1@1,2@2"); /* main shares worker 1's cpu */
	assert_int_equal(aeg_cores_eal_lcores(&l, buf, 11), -ENOSPC); /* no room for the NUL */
	assert_int_equal(strlen(buf), 7);
	assert_string_equal(buf, "0@2,1@1");
	assert_int_equal(aeg_cores_eal_lcores(&l, buf, 0), -EINVAL);
	assert_int_equal(aeg_cores_eal_lcores(NULL, buf, sizeof(buf)), -EINVAL);
	l.worker_count = 0;
	assert_int_equal(aeg_cores_eal_lcores(&l, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(aeg_cores_worker_lcore(0), 1);
	hwloc_topology_destroy(topo);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void test_describe(void **state)
{
	(void)state;
	hwloc_topology_t topo = synthetic("package:2 numa:1 core:4 pu:2");
	struct aeg_core_layout l;
	char buf[1024];
	assert_int_equal(pick(topo, "8,9,10", 1, 3, &l), 0);
	int len = aeg_cores_describe(topo, &l, buf, sizeof(buf));
	printf("%s", buf);
	assert_int_equal(len, (int)strlen(buf));
	assert_int_equal(count_lines(buf), 1 + 1 + 3);
	assert_non_null(strstr(buf, "3 workers, NIC NUMA node 1, main lcore shares a worker's cpu"));
	/* Workers 8, 10, then 9 (sibling of 8); main shares 9. */
	assert_non_null(strstr(buf, "main   lcore   0 cpu   9 core L#4   numa  1  shares its cpu with lcore 3\n"));
	assert_non_null(strstr(buf, "worker lcore   1 cpu   8 core L#4   numa  1  smt sibling of lcore 0\n"));
	assert_non_null(strstr(buf, "worker lcore   2 cpu  10 core L#5   numa  1  own core\n"));
	assert_non_null(strstr(buf, "worker lcore   3 cpu   9 core L#4   numa  1  shares its cpu with lcore 0\n"));
	assert_int_equal(pick(topo, NULL, -1, 1, &l), 0);
	assert_true(aeg_cores_describe(topo, &l, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "worker lcore   1 cpu   0 core L#0   numa  0  own core\n"));
	assert_int_equal(aeg_cores_describe(topo, &l, buf, 20), -ENOSPC);
	assert_int_equal(strlen(buf), 0); /* the first line did not fit */
	l.worker_cpus[0] = 16; /* not in the topology */
	assert_int_equal(aeg_cores_describe(topo, &l, buf, sizeof(buf)), -EINVAL);
	hwloc_topology_destroy(topo);
}

/* This machine: a valid layout for one worker within our binding, printed;
 * pinning the calling thread takes effect. */
static void test_this_machine(void **state)
{
	(void)state;
	hwloc_topology_t topo;
	assert_int_equal(aeg_cores_topology_load(&topo), 0);
	hwloc_bitmap_t bound = hwloc_bitmap_alloc(), now = hwloc_bitmap_alloc();
	assert_int_equal(hwloc_get_cpubind(topo, bound, HWLOC_CPUBIND_THREAD), 0);
	struct aeg_core_layout l;
	assert_int_equal(aeg_cores_pick(topo, NULL, -1, 1, &l), 0);
	assert_int_equal(l.worker_count, 1);
	assert_true(hwloc_bitmap_isset(bound, (unsigned)l.worker_cpus[0]));
	assert_true(hwloc_bitmap_isset(bound, (unsigned)l.main_cpu));
	assert_int_equal(l.main_shared, hwloc_bitmap_weight(bound) == 1);
	char buf[1024];
	assert_true(aeg_cores_describe(topo, &l, buf, sizeof(buf)) > 0);
	printf("%s", buf);
	assert_true(aeg_cores_eal_lcores(&l, buf, sizeof(buf)) > 0);
	printf("--lcores %s --main-lcore %d\n", buf, AEG_CORES_MAIN_LCORE);
	assert_int_equal(aeg_cores_nic_numa(topo, "ffff:ff:1f.7"), -1);
	/* Some PCI device of this machine (a VM has a few): on a single-node
	 * machine it is local to that node. */
	hwloc_obj_t dev = hwloc_get_next_pcidev(topo, NULL);
	if (dev != NULL) {
		snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%01x", dev->attr->pcidev.domain,
			 dev->attr->pcidev.bus, dev->attr->pcidev.dev, dev->attr->pcidev.func);
		int numa = aeg_cores_nic_numa(topo, buf);
		printf("PCI %s: NUMA node %d\n", buf, numa);
		if (hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE) == 1)
			assert_int_equal(numa, (int)hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, 0)->os_index);
	}
	assert_int_equal(aeg_cores_pin_self(topo, l.worker_cpus[0]), 0);
	assert_int_equal(hwloc_get_cpubind(topo, now, HWLOC_CPUBIND_THREAD), 0);
	assert_int_equal(hwloc_bitmap_weight(now), 1);
	assert_true(hwloc_bitmap_isset(now, (unsigned)l.worker_cpus[0]));
	assert_int_equal(hwloc_set_cpubind(topo, bound, HWLOC_CPUBIND_THREAD), 0);
	hwloc_bitmap_free(now);
	hwloc_bitmap_free(bound);
	hwloc_topology_destroy(topo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_physical_before_smt),
		cmocka_unit_test(test_nic_numa_first),
		cmocka_unit_test(test_numa_distance_order),
		cmocka_unit_test(test_restricted_allowed),
		cmocka_unit_test(test_small_machines),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_eal_lcores),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_this_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
