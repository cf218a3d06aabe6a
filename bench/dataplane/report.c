/* Tables and JSON lines of the dataplane benchmark (report.h). */
#include <stdio.h>
#include <string.h>

#include "alloc_count.h"
#include "common.h"
#include "report.h"

#define BENCH_NAME "aegis-bench-dataplane"

const char *report_batching(int i)
{
	return i == 0 ? "unbatched" : i == 1 ? "batched" : "large";
}

int report_peer_of(int i)
{
	return i == 0 ? 0 : 1;
}

const char *report_mode(int mode)
{
	return mode == 0 ? "stream" : "bounce";
}

static double per(uint64_t n, uint64_t d)
{
	return d ? (double)n / (double)d : 0;
}

/* Our frames/s over testpmd's per core: wall clock (cpu false) or per
 * CPU second of the polling threads (cpu true). Only on testpmd's vdev. */
static double ratio_of(const struct transport_res *t, int mode, int i, const struct peer_res *peer,
		       bool cpu)
{
	const struct stream_res *r = &t->st[mode][i];
	peer += report_peer_of(i);
	if (strcmp(t->name, "memif") != 0 || !peer->ok || !r->ok)
		return 0;
	double ours = cpu ? r->pps_per_cpu_s : r->pps;
	double theirs = cpu ? peer->t.pps_per_cpu_s : peer->t.pps_per_core;
	return theirs > 0 ? ours / theirs : 0;
}

/* The keys every line starts with. */
static void json_head(struct bench_json *j, const char *name, const char *transport)
{
	bench_json_begin(j, BENCH_NAME);
	bench_json_str(j, "case", name);
	bench_json_str(j, "transport", transport);
	bench_json_u64(j, "polling_cores_per_side", 1);
}

static void json_allocs(struct bench_json *j, uint64_t a, uint64_t b, const char *b_name,
			uint64_t per_what, const char *per_key)
{
	if (!alloc_count_enabled())
		return;
	bench_json_u64(j, "allocs_sender", a);
	bench_json_u64(j, b_name, b);
	bench_json_f64(j, per_key, per(a + b, per_what));
}

static void pingpong_row(const char *tr, const struct pp_res *r, bool json)
{
	const char *name = r->msgs == 1 ? "pingpong_unbatched" : "pingpong_batched";
	if (!json) {
		if (!r->ok) {
			printf("%-6s %-19s FAILED\n", tr, name);
			return;
		}
		printf("%-6s %-19s %5u %6u %8llu %5llu %8.2f %8.2f %8.2f %8.2f %9.2f  %s%.3g (A %llu, B %llu)\n",
		       tr, name, r->msgs, r->frame_bytes, (unsigned long long)r->n,
		       (unsigned long long)r->lost, r->p50 / 1e3,
		       r->p99 / 1e3, r->p999 / 1e3, r->mean / 1e3, r->max / 1e3,
		       alloc_count_enabled() ? "" : "n/a ", per(r->allocs_a + r->allocs_b, r->n),
		       (unsigned long long)r->allocs_a, (unsigned long long)r->allocs_b);
		return;
	}
	if (!r->ok)
		return;
	struct bench_json j;
	json_head(&j, name, tr);
	bench_json_u64(&j, "msgs_per_frame", r->msgs);
	bench_json_u64(&j, "frame_bytes", r->frame_bytes);
	bench_json_u64(&j, "round_trips", r->n);
	bench_json_u64(&j, "lost_round_trips", r->lost);
	bench_json_f64(&j, "rtt_p50_us", (double)r->p50 / 1e3);
	bench_json_f64(&j, "rtt_p99_us", (double)r->p99 / 1e3);
	bench_json_f64(&j, "rtt_p999_us", (double)r->p999 / 1e3);
	bench_json_f64(&j, "rtt_mean_us", (double)r->mean / 1e3);
	bench_json_f64(&j, "rtt_max_us", (double)r->max / 1e3);
	json_allocs(&j, r->allocs_a, r->allocs_b, "allocs_echoer", r->n, "allocs_per_round_trip");
	bench_json_end(&j);
}

static void stream_row(const struct transport_res *t, int mode, int i, const struct peer_res *peer,
		       bool json)
{
	const struct stream_res *r = &t->st[mode][i];
	char name[32];
	snprintf(name, sizeof(name), "%s_%s", report_mode(mode), report_batching(i));
	double ratio = ratio_of(t, mode, i, peer, false), ratio_cpu = ratio_of(t, mode, i, peer, true);
	if (!json) {
		if (!r->ok) {
			printf("%-6s %-16s FAILED\n", t->name, name);
			return;
		}
		char rs[16] = "-", rc[16] = "-", ps[16] = "-", pc[16] = "-";
		if (ratio > 0) {
			snprintf(rs, sizeof(rs), "%.2f", ratio);
			snprintf(ps, sizeof(ps), "%.3f", peer[report_peer_of(i)].t.pps_per_core / 1e6);
		}
		if (ratio_cpu > 0) {
			snprintf(rc, sizeof(rc), "%.2f", ratio_cpu);
			snprintf(pc, sizeof(pc), "%.3f", peer[report_peer_of(i)].t.pps_per_cpu_s / 1e6);
		}
		printf("%-6s %-16s %5u %5u %6.1f %7.3f %7.3f %7.2f %7.2f %7.2f %s%-6.3g %6.3g %7s %7s %5s %5s\n",
		       t->name, name, r->frame_bytes, r->frame_bytes + REPORT_L2L3_BYTES,
		       r->msgs_per_frame, r->pps / 1e6, r->pps_per_cpu_s / 1e6, r->gbps_payload,
		       r->gbps_wire, r->msgs_ps / 1e6, alloc_count_enabled() ? "" : "n/a ",
		       per(r->allocs_a + r->allocs_b, r->pkts), per(r->gets_a, r->tx_pkts), ps, pc, rs,
		       rc);
		return;
	}
	if (!r->ok)
		return;
	struct bench_json j;
	json_head(&j, name, t->name);
	bench_json_u64(&j, "frame_bytes", r->frame_bytes);
	bench_json_u64(&j, "wire_frame_bytes", r->frame_bytes + REPORT_L2L3_BYTES);
	bench_json_f64(&j, "seconds", r->seconds);
	bench_json_f64(&j, "mpps", r->pps / 1e6);
	bench_json_f64(&j, "sent_mpps", r->sent_pps / 1e6);
	bench_json_f64(&j, "mpps_per_cpu_s", r->pps_per_cpu_s / 1e6);
	bench_json_f64(&j, "receiver_cpu_share", r->seconds > 0 ? r->cpu_s_b / r->seconds : 0);
	bench_json_f64(&j, "sender_cpu_share", r->seconds > 0 ? r->cpu_s_a / r->seconds : 0);
	bench_json_f64(&j, "gbps_payload", r->gbps_payload);
	bench_json_f64(&j, "gbps_wire", r->gbps_wire);
	bench_json_f64(&j, "msgs_per_sec", r->msgs_ps);
	bench_json_f64(&j, "msgs_per_frame", r->msgs_per_frame);
	bench_json_f64(&j, "frames_per_rx_burst", per(r->pkts, r->rx_batches));
	bench_json_u64(&j, "tx_dropped", r->tx_dropped);
	bench_json_u64(&j, "rx_drops", r->drops);
	json_allocs(&j, r->allocs_a, r->allocs_b, "allocs_receiver", r->pkts, "allocs_per_pkt");
	bench_json_f64(&j, "buf_gets_per_tx_pkt", per(r->gets_a, r->tx_pkts));
	if (ratio > 0) {
		bench_json_str(&j, "peer", "dpdk-testpmd");
		bench_json_f64(&j, "peer_mpps_per_core", peer[report_peer_of(i)].t.pps_per_core / 1e6);
		bench_json_f64(&j, "ratio", ratio);
		if (ratio_cpu > 0) {
			bench_json_f64(&j, "peer_mpps_per_cpu_s", peer[report_peer_of(i)].t.pps_per_cpu_s / 1e6);
			bench_json_f64(&j, "ratio_per_cpu_s", ratio_cpu);
		}
	}
	bench_json_end(&j);
}

static void testpmd_row(const struct peer_res *p, bool json)
{
	const struct testpmd_result *t = &p->t;
	if (!json) {
		printf("dpdk-testpmd io-fwd memif %5u %7.3f %7.3f %7.3f %7.3f %7.2f\n", p->wire_bytes,
		       t->pps_per_core / 1e6, t->pps_per_cpu_s / 1e6, t->rx_pps[0] / 1e6,
		       t->rx_pps[1] / 1e6, t->pps_per_core * p->wire_bytes * 8 / 1e9);
		return;
	}
	struct bench_json j;
	json_head(&j, "testpmd_io_fwd", "memif");
	bench_json_u64(&j, "wire_frame_bytes", p->wire_bytes);
	bench_json_f64(&j, "mpps_per_core", t->pps_per_core / 1e6);
	bench_json_f64(&j, "mpps_per_cpu_s", t->pps_per_cpu_s / 1e6);
	bench_json_f64(&j, "client_rx_mpps", t->rx_pps[0] / 1e6);
	bench_json_f64(&j, "server_rx_mpps", t->rx_pps[1] / 1e6);
	bench_json_end(&j);
}

static void all_rows(const struct transport_res *tr, int ntr, const struct peer_res *peer, bool json)
{
	if (!json)
		printf("\n%-6s %-19s %5s %6s %8s %5s %8s %8s %8s %8s %9s  %s\n", "tport", "case", "msgs",
		       "frameB", "rtrips", "lost", "p50_us", "p99_us", "p999_us", "mean_us", "max_us",
		       "allocs/rt");
	for (int k = 0; k < ntr; k++)
		for (int i = 0; tr[k].ran && i < 2; i++)
			pingpong_row(tr[k].name, &tr[k].pp[i], json);
	if (!json)
		printf("\n%-6s %-16s %5s %5s %6s %7s %7s %7s %7s %7s %-6s %6s %7s %7s %5s %5s\n", "tport",
		       "case", "frmB", "wireB", "msg/fr", "Mpps", "Mpps/cs", "Gb/s_pl", "Gb/s_wi",
		       "Mmsg/s", "alc/pk", "gets/p", "tpmd", "tpmd/cs", "ratio", "r/cs");
	for (int k = 0; k < ntr; k++)
		for (int m = 0; tr[k].ran && m < REPORT_MODES; m++)
			for (int i = 0; i < REPORT_STREAMS; i++)
				stream_row(&tr[k], m, i, peer, json);
	bool any = false;
	for (int i = 0; i < REPORT_PEERS; i++)
		any |= peer[i].ok;
	if (any && !json)
		printf("\n%-25s %5s %7s %7s %7s %7s %7s\n", "peer (1 fwd lcore/side)", "wireB", "Mpps",
		       "Mpps/cs", "cli_Rx", "srv_Rx", "Gb/s_wi");
	for (int i = 0; i < REPORT_PEERS; i++)
		if (peer[i].ok)
			testpmd_row(&peer[i], json);
}

void report_print(const struct transport_res *tr, int ntr, const struct peer_res *peer,
		  bool strict_allocs, bool *failed)
{
	all_rows(tr, ntr, peer, false);
	printf("\n# stream: A sends, B receives; bounce: A sends 32 frames, then each side sends "
	       "back every message it receives (testpmd's io forward with tx_first); "
	       "Mpps = frames/s B received (testpmd: Rx-pps of each side; in bounce and testpmd each "
	       "core also sends that many); Mpps/cs = the same per CPU second of the polling thread "
	       "(/proc or CLOCK_THREAD_CPUTIME_ID: what a core not shared with others would do); "
	       "Gb/s_pl = UDP payload, Gb/s_wi = Ethernet frame (payload + 42, no FCS/preamble); "
	       "alc/pk = allocations in both processes per frame in the measured phase; gets/p = tx "
	       "buffers taken per frame sent (frames the full tx ring refused count too); ratio = "
	       "Mpps / testpmd Mpps, r/cs = per CPU second\n");
	for (int k = 0; k < ntr; k++)
		for (int m = 0; tr[k].ran && m < REPORT_MODES; m++)
			for (int i = 0; i < REPORT_STREAMS; i++) {
				double r = ratio_of(&tr[k], m, i, peer, false);
				if (r > 0)
					printf("# ratio %s %s %s: %.2f, per CPU second %.2f (goal >= 0.5)\n",
					       tr[k].name, report_mode(m), report_batching(i), r,
					       ratio_of(&tr[k], m, i, peer, true));
			}
	all_rows(tr, ntr, peer, true);
	for (int k = 0; k < ntr; k++) {
		if (!tr[k].ran)
			continue;
		for (int i = 0; i < 2; i++)
			*failed |= !tr[k].pp[i].ok ||
				   (strict_allocs && tr[k].pp[i].allocs_a + tr[k].pp[i].allocs_b > 0);
		for (int m = 0; m < REPORT_MODES; m++)
			for (int i = 0; i < REPORT_STREAMS; i++) {
				const struct stream_res *r = &tr[k].st[m][i];
				*failed |= !r->ok || (strict_allocs && r->allocs_a + r->allocs_b > 0);
			}
	}
}
