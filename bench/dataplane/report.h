/* Results of the dataplane benchmark and how they are printed: one table
 * per kind (ping-pong, streaming, testpmd), then one JSON line each
 * (bench/common.h) with "peer":"dpdk-testpmd" and "ratio" on the memif
 * streaming rows. */
#ifndef AEGIS_BENCH_DP_REPORT_H
#define AEGIS_BENCH_DP_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "testpmd.h"

#define REPORT_L2L3_BYTES 42u /* Ethernet 14 + IPv4 20 + UDP 8 */
#define REPORT_STREAMS 3      /* unbatched, batched, large */
#define REPORT_PEERS 2        /* testpmd runs: small frames, full frames */
#define REPORT_MODES 2        /* stream (A -> B), bounce (A <-> B, like io forward) */

struct pp_res {
	bool ok;
	uint32_t msgs, frame_bytes;
	uint64_t n, lost, p50, p99, p999, mean, max; /* ns */
	uint64_t allocs_a, allocs_b;
};

struct stream_res {
	bool ok;
	uint32_t frame_bytes;                 /* UDP payload */
	double seconds, pps, sent_pps, msgs_per_frame, msgs_ps;
	double gbps_payload, gbps_wire;
	double cpu_s_a, cpu_s_b;              /* polling threads' CPU time */
	double pps_per_cpu_s;                 /* frames B received per CPU second of B */
	uint64_t pkts, rx_batches, tx_pkts, tx_dropped, drops;
	uint64_t allocs_a, allocs_b, gets_a;
};

struct transport_res {
	const char *name;  /* "udp", "memif" */
	bool ran;
	struct pp_res pp[2];
	struct stream_res st[REPORT_MODES][REPORT_STREAMS];
};

struct peer_res {
	bool ok;
	uint32_t wire_bytes;
	struct testpmd_result t;
};

const char *report_batching(int i);
/* The testpmd run (frame size) stream kind i is compared with. */
int report_peer_of(int i);
const char *report_mode(int mode);

/* Prints the tables and the JSON lines; *failed is set if a case failed
 * or (strict_allocs) an allocation was counted in a measured phase. */
void report_print(const struct transport_res *tr, int ntr, const struct peer_res *peer,
		  bool strict_allocs, bool *failed);

#endif
