/* Dataplane counters as JSON and as a log line (stats_json.h), written
 * with the slow path's JSON writer (control/json_out.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"
#include "stats_json.h"

#define U64(x) ((unsigned long long)(x))
#define JSON_BYTES_MAX (1u << 20) /* 16 workers of ~2 KB each: far below */

struct counter {
	const char *name;
	uint64_t v;
};

static void counters(struct aeg_json_out *j, const struct counter *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		aeg_json_kv_u64(j, c[i].name, c[i].v);
}

static void worker_json(struct aeg_json_out *j, const struct aeg_worker_stats *s)
{
	const struct counter c[] = {
		{ "rx_pkts", s->rx_pkts }, { "rx_bytes", s->rx_bytes },
		{ "rx_batches", s->rx_batches }, { "rx_msgs", s->rx_msgs },
		{ "tx_pkts", s->tx_pkts }, { "tx_bytes", s->tx_bytes },
		{ "tx_batches", s->tx_batches }, { "tx_msgs", s->tx_msgs },
		{ "tx_dropped", s->tx_dropped }, { "tx_no_buf", s->tx_no_buf },
		{ "port_errors", s->port_errors }, { "idle_sleeps", s->idle_sleeps },
		{ "ctl_msgs", s->ctl_msgs },
	};
	counters(j, c, sizeof(c) / sizeof(c[0]));
	aeg_json_key(j, "wire_drops");
	aeg_json_obj_begin(j);
	for (int d = 1; d < AEG_WIRE_DROP_NR; d++)
		aeg_json_kv_u64(j, aeg_wire_drop_name(d), s->drops[d]);
	aeg_json_obj_end(j);
	aeg_json_kv_u64(j, "rx_raw", s->rx_raw);
	aeg_json_kv_u64(j, "tx_raw", s->tx_raw);
	const struct aeg_frag_stats *g = &s->frag;
	const struct counter f[] = {
		{ "tx_msgs", g->tx_msgs }, { "tx_done", g->tx_done }, { "tx_failed", g->tx_failed },
		{ "tx_busy", g->tx_busy }, { "tx_frags", g->tx_frags }, { "tx_rtx", g->tx_rtx },
		{ "tx_rto", g->tx_rto }, { "tx_acks", g->tx_acks }, { "rx_frags", g->rx_frags },
		{ "rx_msgs", g->rx_msgs }, { "rx_acks", g->rx_acks }, { "rx_timeout", g->rx_timeout },
		{ "rx_abandoned", g->rx_abandoned },
	};
	aeg_json_key(j, "frag");
	aeg_json_obj_begin(j);
	counters(j, f, sizeof(f) / sizeof(f[0]));
	aeg_json_key(j, "drops");
	aeg_json_obj_begin(j);
	for (int d = 1; d < AEG_FRAG_DROP_NR; d++)
		aeg_json_kv_u64(j, aeg_frag_drop_name(d), g->drops[d]);
	aeg_json_obj_end(j);
	aeg_json_obj_end(j);
}

static void port_json(struct aeg_json_out *j, const struct aeg_port_stats *p,
		      const struct aeg_port *port)
{
	aeg_json_kv_str(j, "kind", port->kind);
	aeg_json_kv_str(j, "driver", p->driver);
	aeg_json_kv_str(j, "steering", p->steering);
	aeg_json_kv_u64(j, "queues", port->queue_count);
	const struct counter c[] = {
		{ "rx_frames", p->c.rx_frames }, { "not_ours", p->c.not_ours },
		{ "other", p->c.other }, { "arp_requests_rx", p->c.arp_requests_rx },
		{ "arp_replies_rx", p->c.arp_replies_rx }, { "arp_requests_tx", p->c.arp_requests_tx },
		{ "arp_replies_tx", p->c.arp_replies_tx }, { "no_neigh", p->c.no_neigh },
		{ "steered", p->c.steered }, { "steer_drops", p->c.steer_drops },
		{ "slow_drops", p->c.slow_drops }, { "link_restarts", p->c.link_restarts },
		{ "dev_imissed", p->dev_imissed }, { "dev_ierrors", p->dev_ierrors },
		{ "dev_oerrors", p->dev_oerrors }, { "dev_rx_nombuf", p->dev_rx_nombuf },
	};
	counters(j, c, sizeof(c) / sizeof(c[0]));
	aeg_json_key(j, "l2l3_drops");
	aeg_json_obj_begin(j);
	for (int d = 1; d < AEG_NET_DROP_NR; d++)
		aeg_json_kv_u64(j, aeg_net_drop_name(d), p->c.net_drops[d]);
	aeg_json_obj_end(j);
}

static void stats_json(struct aeg_json_out *j, const struct aeg_dp_runtime *rt, bool ok,
		       aeg_stats_json_extra_fn extra, void *arg)
{
	struct aeg_port_stats ps;
	aeg_port_stats_read(rt->port, &ps);
	aeg_json_obj_begin(j);
	aeg_json_kv_u64(j, "node", rt->self_node);
	aeg_json_kv_bool(j, "ok", ok);
	if (extra != NULL)
		extra(j, arg, -1);
	aeg_json_key(j, "port");
	aeg_json_obj_begin(j);
	port_json(j, &ps, rt->port);
	aeg_json_obj_end(j);
	aeg_json_key(j, "workers");
	aeg_json_arr_begin(j);
	for (uint16_t q = 0; q < rt->workers; q++) {
		struct aeg_worker_stats s;
		aeg_worker_stats_read(rt->w[q], &s);
		aeg_json_obj_begin(j);
		aeg_json_kv_u64(j, "worker", q);
		worker_json(j, &s);
		if (extra != NULL)
			extra(j, arg, q);
		aeg_json_obj_end(j);
	}
	aeg_json_arr_end(j);
	struct aeg_worker_stats t;
	aeg_dp_runtime_totals(rt, &t);
	aeg_json_key(j, "totals");
	aeg_json_obj_begin(j);
	worker_json(j, &t);
	aeg_json_obj_end(j);
	aeg_json_obj_end(j);
}

int aeg_stats_json_write(FILE *f, const struct aeg_dp_runtime *rt, bool ok,
			 aeg_stats_json_extra_fn extra, void *arg)
{
	struct aeg_json_out j;
	aeg_json_init(&j, JSON_BYTES_MAX);
	stats_json(&j, rt, ok, extra, arg);
	int r = j.overflow ? -ENOMEM : 0;
	if (r == 0 && (fwrite(j.buf, 1, j.len, f) != j.len || fputc('\n', f) == EOF || ferror(f)))
		r = -EIO;
	aeg_json_free(&j);
	return r;
}

int aeg_stats_json_save(const char *path, const struct aeg_dp_runtime *rt, bool ok,
			aeg_stats_json_extra_fn extra, void *arg)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	int r = aeg_stats_json_write(f, rt, ok, extra, arg);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, path) != 0)
		r = -errno;
	if (r != 0)
		(void)remove(tmp);
	return r;
}

void aeg_stats_line(FILE *f, const struct aeg_dp_runtime *rt)
{
	struct aeg_worker_stats t;
	struct aeg_port_stats p;
	aeg_dp_runtime_totals(rt, &t);
	aeg_port_stats_read(rt->port, &p);
	uint64_t wire_drops = 0, net_drops = 0;
	for (int d = 1; d < AEG_WIRE_DROP_NR; d++)
		wire_drops += t.drops[d];
	for (int d = 1; d < AEG_NET_DROP_NR; d++)
		net_drops += p.c.net_drops[d];
	fprintf(f, "rx %llu pkts %llu msgs, tx %llu pkts %llu msgs (%llu dropped, %llu no-buf), "
		"wire drops %llu, l2/l3 drops %llu, no-neigh %llu, arp rx %llu/%llu tx %llu/%llu",
		U64(t.rx_pkts), U64(t.rx_msgs), U64(t.tx_pkts), U64(t.tx_msgs),
		U64(t.tx_dropped), U64(t.tx_no_buf), U64(wire_drops), U64(net_drops),
		U64(p.c.no_neigh), U64(p.c.arp_requests_rx), U64(p.c.arp_replies_rx),
		U64(p.c.arp_requests_tx), U64(p.c.arp_replies_tx));
}
