/* Dataplane counters as JSON and as a log line (stats_json.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "stats_json.h"

#define U64(x) ((unsigned long long)(x))

static void worker_json(FILE *f, const struct aeg_worker_stats *s)
{
	fprintf(f, "\"rx_pkts\":%llu,\"rx_bytes\":%llu,\"rx_batches\":%llu,\"rx_msgs\":%llu,"
		"\"tx_pkts\":%llu,\"tx_bytes\":%llu,\"tx_batches\":%llu,\"tx_msgs\":%llu,"
		"\"tx_dropped\":%llu,\"tx_no_buf\":%llu,\"port_errors\":%llu,\"idle_sleeps\":%llu,"
		"\"ctl_msgs\":%llu,\"wire_drops\":{",
		U64(s->rx_pkts), U64(s->rx_bytes), U64(s->rx_batches), U64(s->rx_msgs),
		U64(s->tx_pkts), U64(s->tx_bytes), U64(s->tx_batches), U64(s->tx_msgs),
		U64(s->tx_dropped), U64(s->tx_no_buf), U64(s->port_errors), U64(s->idle_sleeps),
		U64(s->ctl_msgs));
	for (int d = 1; d < AEG_WIRE_DROP_NR; d++)
		fprintf(f, "%s\"%s\":%llu", d == 1 ? "" : ",", aeg_wire_drop_name(d),
			U64(s->drops[d]));
	fputc('}', f);
	const struct aeg_frag_stats *g = &s->frag;
	fprintf(f, ",\"rx_raw\":%llu,\"tx_raw\":%llu,\"frag\":{\"tx_msgs\":%llu,\"tx_done\":%llu,"
		"\"tx_failed\":%llu,\"tx_busy\":%llu,\"tx_frags\":%llu,\"tx_rtx\":%llu,"
		"\"tx_rto\":%llu,\"tx_acks\":%llu,\"rx_frags\":%llu,\"rx_msgs\":%llu,"
		"\"rx_acks\":%llu,\"rx_timeout\":%llu,\"rx_abandoned\":%llu,\"drops\":{",
		U64(s->rx_raw), U64(s->tx_raw), U64(g->tx_msgs), U64(g->tx_done), U64(g->tx_failed),
		U64(g->tx_busy), U64(g->tx_frags), U64(g->tx_rtx), U64(g->tx_rto), U64(g->tx_acks),
		U64(g->rx_frags), U64(g->rx_msgs), U64(g->rx_acks), U64(g->rx_timeout),
		U64(g->rx_abandoned));
	for (int d = 1; d < AEG_FRAG_DROP_NR; d++)
		fprintf(f, "%s\"%s\":%llu", d == 1 ? "" : ",", aeg_frag_drop_name(d),
			U64(g->drops[d]));
	fputs("}}", f);
}

static void port_json(FILE *f, const struct aeg_port_stats *p, const struct aeg_port *port)
{
	fprintf(f, "\"kind\":\"%s\",\"driver\":\"%s\",\"steering\":\"%s\",\"queues\":%u,"
		"\"rx_frames\":%llu,\"not_ours\":%llu,\"other\":%llu,"
		"\"arp_requests_rx\":%llu,\"arp_replies_rx\":%llu,"
		"\"arp_requests_tx\":%llu,\"arp_replies_tx\":%llu,\"no_neigh\":%llu,"
		"\"steered\":%llu,\"steer_drops\":%llu,\"slow_drops\":%llu,\"link_restarts\":%llu,"
		"\"dev_imissed\":%llu,\"dev_ierrors\":%llu,\"dev_oerrors\":%llu,"
		"\"dev_rx_nombuf\":%llu,\"l2l3_drops\":{",
		port->kind, p->driver, p->steering, port->queue_count,
		U64(p->c.rx_frames), U64(p->c.not_ours), U64(p->c.other),
		U64(p->c.arp_requests_rx), U64(p->c.arp_replies_rx),
		U64(p->c.arp_requests_tx), U64(p->c.arp_replies_tx), U64(p->c.no_neigh),
		U64(p->c.steered), U64(p->c.steer_drops), U64(p->c.slow_drops), U64(p->c.link_restarts),
		U64(p->dev_imissed), U64(p->dev_ierrors), U64(p->dev_oerrors),
		U64(p->dev_rx_nombuf));
	for (int d = 1; d < AEG_NET_DROP_NR; d++)
		fprintf(f, "%s\"%s\":%llu", d == 1 ? "" : ",", aeg_net_drop_name(d),
			U64(p->c.net_drops[d]));
	fputc('}', f);
}

int aeg_stats_json_write(FILE *f, const struct aeg_dp_runtime *rt, bool ok,
			 aeg_stats_json_extra_fn extra, void *arg)
{
	struct aeg_port_stats ps;
	aeg_port_stats_read(rt->port, &ps);
	fprintf(f, "{\"node\":%u,\"ok\":%s", rt->self_node, ok ? "true" : "false");
	if (extra != NULL)
		extra(f, arg, -1);
	fputs(",\"port\":{", f);
	port_json(f, &ps, rt->port);
	fputs("},\"workers\":[", f);
	for (uint16_t q = 0; q < rt->workers; q++) {
		struct aeg_worker_stats s;
		aeg_worker_stats_read(rt->w[q], &s);
		fprintf(f, "%s{\"worker\":%u,", q == 0 ? "" : ",", q);
		worker_json(f, &s);
		if (extra != NULL)
			extra(f, arg, q);
		fputc('}', f);
	}
	struct aeg_worker_stats t;
	aeg_dp_runtime_totals(rt, &t);
	fputs("],\"totals\":{", f);
	worker_json(f, &t);
	fputs("}}\n", f);
	return ferror(f) ? -EIO : 0;
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
