/* A node's workers at run time (dp_runtime.h). */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "dp_clock.h"
#include "ctl_ring.h"
#include "dp_runtime.h"

#define DP_CTL_RING_SLOTS 1024u

int aeg_dp_runtime_init(struct aeg_dp_runtime *rt, const struct aeg_dp_config *args,
			struct aeg_port *port, aeg_worker_msg_fn on_msg, aeg_worker_tick_fn on_tick,
			void *const *arg)
{
	struct aeg_dp_callbacks cb = { .on_msg = on_msg, .on_tick = on_tick };
	return aeg_dp_runtime_init_cb(rt, args, port, &cb, arg);
}

int aeg_dp_runtime_init_cb(struct aeg_dp_runtime *rt, const struct aeg_dp_config *args,
			   struct aeg_port *port, const struct aeg_dp_callbacks *cb, void *const *arg)
{
	if (port->queue_count != args->workers || args->workers > AEG_DP_WORKERS_MAX)
		return -EINVAL;
	*rt = (struct aeg_dp_runtime){
		.port = port, .workers = args->workers, .self_node = args->node,
	};
	rt->peers[rt->peer_count++] = (struct aeg_worker_peer){
		.node = args->node, .ipv4 = args->ipv4, .udp_base_port = args->base_port,
	};
	for (uint32_t i = 0; i < args->peer_count; i++) {
		if (args->peers[i].node == args->node)
			continue; /* a peer list may name this node too */
		rt->peers[rt->peer_count++] = (struct aeg_worker_peer){
			.node = args->peers[i].node, .ipv4 = args->peers[i].ipv4,
			.udp_base_port = aeg_dp_config_peer_port(args, &args->peers[i]),
		};
	}
	rt->peer_cap = rt->peer_count + AEG_DP_JOIN_ROOM;
	if (rt->peer_cap > AEG_DP_PEERS_MAX + 1)
		rt->peer_cap = AEG_DP_PEERS_MAX + 1;
	uint64_t wall = aeg_dp_wall_ns();
	for (uint16_t q = 0; q < rt->workers; q++) {
		/* The control plane's channel to the worker (one way for now). */
		if (cb->on_ctl != NULL && aeg_ctl_ring_init(&rt->ctl_in[q], DP_CTL_RING_SLOTS) != 0) {
			aeg_dp_runtime_fini(rt);
			return -ENOMEM;
		}
		struct aeg_worker_config wc = {
			.ctl_in = rt->ctl_in[q], .on_ctl = cb->on_ctl,
			.port = port, .queue = q, .cluster = args->cluster, .key = &args->key,
			.key_id = args->key_id, .accept_key = args->has_accept_key ? &args->accept_key : NULL,
			.accept_key_id = args->accept_key_id,
			.self_node = args->node, .peers = rt->peers, .peer_count = rt->peer_count,
			.peer_cap = rt->ctl_in[q] != NULL ? rt->peer_cap : 0,
			.workers_per_node = args->workers, .frame_bytes_max = args->frame_bytes,
			.replay_floor = aeg_wire_replay_floor(wall, AEG_DP_REPLAY_SKEW_NS),
			.on_msg = cb->on_msg, .on_tick = cb->on_tick, .on_raw = cb->on_raw,
			.on_rx_done = cb->on_rx_done, .on_exit = cb->on_exit, .wake_fd = cb->wake_fd, .arg = arg == NULL ? NULL : arg[q],
		};
		int r = aeg_worker_init(&rt->w[q], &wc);
		if (r != 0) {
			aeg_dp_runtime_fini(rt);
			return r;
		}
	}
	return 0;
}

int aeg_dp_runtime_peer_add(struct aeg_dp_runtime *rt, const struct aeg_worker_peer *p)
{
	uint32_t i = 0;
	while (i < rt->peer_count && rt->peers[i].node != p->node)
		i++;
	if (i == rt->peer_count) {
		if (rt->peer_count >= rt->peer_cap || rt->ctl_in[0] == NULL)
			return -ENOSPC;
		rt->peers[rt->peer_count++] = *p;  /* beyond every worker's count: nobody reads it yet */
	}
	struct aeg_ctl_msg m = { .type = AEG_CTL_WORKER_PEERS, .len = 8, .arg = { rt->peer_count } };
	int rc = 0;
	for (uint16_t q = 0; q < rt->workers; q++)
		if (aeg_dp_runtime_ctl_send(rt, q, &m) != 0)
			rc = -ENOBUFS;
	return rc;
}

static void *thread_main(void *arg)
{
	aeg_worker_run(arg);
	return NULL;
}

static void run_worker(void *arg)
{
	aeg_worker_run(arg);
}

int aeg_dp_runtime_start(struct aeg_dp_runtime *rt, const struct aeg_dp_launcher *launcher)
{
	rt->launcher = launcher;
	for (uint16_t q = 0; q < rt->workers; q++) {
		int r = launcher != NULL ? launcher->launch(launcher->ctx, q, run_worker, rt->w[q]) :
			-pthread_create(&rt->threads[q], NULL, thread_main, rt->w[q]);
		if (r != 0) {
			aeg_dp_runtime_stop(rt);
			return r;
		}
		rt->running[q] = true;
	}
	return 0;
}

void aeg_dp_runtime_stop(struct aeg_dp_runtime *rt)
{
	for (uint16_t q = 0; q < rt->workers; q++)
		if (rt->running[q])
			aeg_worker_stop(rt->w[q]);
	for (uint16_t q = 0; q < rt->workers; q++) {
		if (!rt->running[q])
			continue;
		if (rt->launcher != NULL) {
			rt->launcher->wait(rt->launcher->ctx, q);
		} else {
			int r = pthread_join(rt->threads[q], NULL);
			assert(r == 0);
			(void)r;
		}
		rt->running[q] = false;
	}
}

void aeg_dp_runtime_fini(struct aeg_dp_runtime *rt)
{
	aeg_dp_runtime_stop(rt);
	for (uint16_t q = 0; q < rt->workers; q++) {
		aeg_worker_fini(rt->w[q]);
		rt->w[q] = NULL;
		if (rt->ctl_in[q] != NULL)
			aeg_ctl_ring_fini(rt->ctl_in[q]);
		rt->ctl_in[q] = NULL;
	}
}

int aeg_dp_runtime_ctl_send(struct aeg_dp_runtime *rt, uint16_t worker, const struct aeg_ctl_msg *m)
{
	if (worker >= rt->workers || rt->ctl_in[worker] == NULL)
		return -ENOTCONN;
	return aeg_ctl_ring_push(rt->ctl_in[worker], m) ? 0 : -ENOBUFS;
}

void aeg_dp_runtime_totals(const struct aeg_dp_runtime *rt, struct aeg_worker_stats *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t *sum = (uint64_t *)out;
	for (uint16_t q = 0; q < rt->workers; q++) {
		struct aeg_worker_stats s;
		aeg_worker_stats_read(rt->w[q], &s);
		const uint64_t *v = (const uint64_t *)&s;
		for (size_t i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
			sum[i] += v[i];
	}
}
