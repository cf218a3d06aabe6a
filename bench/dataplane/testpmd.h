/* dpdk-testpmd as the peer of the dataplane benchmark: two interactive
 * testpmd processes joined by net_memif (server, then client), io forward
 * mode on one forwarding lcore each (on different CPUs), started with
 * tx_first on the client so that one burst of --txpkts frames bounces
 * between them. The recipe and its pitfalls: DPDK-ON-THIS-MACHINE.md
 * (start the server first, stop forwarding on both before either quits,
 * --no-huge -m 256, 16384 mbufs, one --file-prefix each, --no-shconf). */
#ifndef AEGIS_BENCH_TESTPMD_H
#define AEGIS_BENCH_TESTPMD_H

#include <stdbool.h>
#include <stdint.h>

struct testpmd_run {
	const char *testpmd;   /* path of dpdk-testpmd */
	const char *tmpdir;    /* logs go here */
	uint32_t frame_bytes;  /* Ethernet frame without FCS (--txpkts) */
	double warmup_s, measure_s;
};

struct testpmd_result {
	/* Rx-pps of each side over the measured interval, as testpmd prints
	 * it ("show port stats 0" twice): [0] client, [1] server. Each side's
	 * one forwarding lcore receives and sends this many frames/s. */
	double rx_pps[2];
	double pps_per_core;   /* mean of the two */
	/* Frames received per CPU second of the forwarding thread (/proc):
	 * what a core does when it is not shared with other work. */
	double rx_per_cpu_s[2];
	double pps_per_cpu_s;  /* mean of the two */
};

/* 0, or a negative errno after printing why (logs kept in tmpdir).
 * Both processes are gone when it returns, whatever happened. */
int testpmd_measure(const struct testpmd_run *run, struct testpmd_result *out);

/* The path of dpdk-testpmd, or NULL if it is not installed. */
const char *testpmd_find(void);

#endif
