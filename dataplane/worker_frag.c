/* Messages larger than a frame (worker.h): aeg_worker_send hands them to
 * lib/frag, whose fragments and acks are written straight into the
 * stream's open frame (aeg_wire_builder_reserve) by aeg_frag_poll, once
 * per iteration after the rx callbacks; received FRAG/FRAG_ACK messages go
 * to aeg_frag_rx and a whole message to on_msg. Streams are the worker's
 * own (peer index x workers_per_node + worker), so lib/frag's stream
 * index is the worker's stream index. */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>

#include "dp_clock.h"
#include "worker_int.h"

#define MSG_BYTES_DEFAULT ((1u << 20) + (64u << 10))

static uint32_t stream_index(const struct aeg_worker *w, const struct stream *s)
{
	return (uint32_t)(s - w->streams);
}

/* aeg_frag_out: a place for one message in the stream's open frame. */
static uint8_t *frag_reserve(void *arg, uint32_t si, uint8_t type, uint32_t group, uint32_t len)
{
	struct aeg_worker *w = arg;
	struct stream *s = &w->streams[si];
	uint32_t node = w->cfg.peers[si / w->cfg.workers_per_node].node;
	uint32_t worker = si % w->cfg.workers_per_node;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->pkt == NULL && aeg_wk_frame_open(w, s, node, worker) != 0)
			return NULL; /* no buffer: lib/frag tries again next poll */
		uint8_t *body;
		int r = aeg_wire_builder_reserve(&s->b, type, group, len, &body);
		if (r == 0)
			return body; /* counted in tx_msgs when the frame is sealed */
		if (r != -ENOSPC)
			break;
		aeg_wk_frame_close(w, s);
	}
	assert(!"a fragment that fits an empty frame did not fit one");
	return NULL;
}

/* The frame capacity frame_open will use: min(buffer room, frame size). */
static uint32_t frame_cap(struct aeg_worker *w)
{
	uint32_t cap = w->cfg.frame_bytes_max;
	struct aeg_pkt *p = aeg_port_pkt_alloc(w->cfg.port, w->cfg.queue);
	if (p != NULL) {
		cap = p->cap < cap ? p->cap : cap;
		aeg_port_pkt_free(w->cfg.port, p);
	}
	return cap;
}

int aeg_wk_frag_init(struct aeg_worker *w)
{
	uint32_t cap = frame_cap(w);
	size_t body_max = aeg_wire_msg_body_max(cap);
	if (w->cfg.msg_bytes_max == 0)
		w->cfg.msg_bytes_max = MSG_BYTES_DEFAULT;
	if (w->cfg.msg_bytes_max <= aeg_wire_msg_body_max(w->cfg.frame_bytes_max))
		return 0; /* everything fits a frame: no fragmentation */
	if (body_max <= AEG_FRAG_HDR_BYTES + 64)
		return 0; /* frames too small to carry fragments: no fragmentation */
	struct aeg_frag_config fc = {
		.streams = w->cfg.peer_cap * w->cfg.workers_per_node,
		.msg_bytes_max = w->cfg.msg_bytes_max,
		.frag_bytes = (uint32_t)body_max - AEG_FRAG_HDR_BYTES,
		.tx_slots = w->cfg.frag_slots, .rx_slots = w->cfg.frag_slots,
		.window_frags = w->cfg.frag_window,
		/* ids above anything sent before a restart (aegis/frag.h) */
		.msg_id_first = aeg_dp_wall_ns(),
	};
	return aeg_frag_init(&w->frag, &fc);
}

void aeg_wk_frag_fini(struct aeg_worker *w)
{
	aeg_frag_fini(w->frag);
	w->frag = NULL;
}

size_t aeg_worker_frag_mem_bytes(const struct aeg_worker *w, size_t *per_stream)
{
	if (w->frag == NULL) {
		if (per_stream != NULL)
			*per_stream = 0;
		return 0;
	}
	return aeg_frag_mem_bytes(aeg_frag_config(w->frag), per_stream);
}

int aeg_wk_frag_send(struct aeg_worker *w, struct stream *s, uint8_t type, uint32_t group,
		     const void *body, uint32_t body_len)
{
	assert(w->frag != NULL);
	w->frag_dirty = true;
	return aeg_frag_send(w->frag, stream_index(w, s), type, group, body, body_len, w->now_ns);
}

void aeg_wk_frag_rx(struct aeg_worker *w, uint32_t node, uint32_t worker,
		    const struct aeg_wire_msg *m)
{
	struct stream *s = stream_of(w, node, worker);
	assert(s != NULL); /* aeg_wire_parse found its replay window */
	struct aeg_frag_msg whole;
	w->frag_dirty = true;
	int r = aeg_frag_rx(w->frag, stream_index(w, s), m->type, m->group, m->body, m->body_len,
			    w->now_ns, &whole);
	if (r != 1)
		return; /* taken, or dropped and counted */
	struct aeg_wire_msg wm = { .type = whole.type, .group = whole.group, .body = whole.body,
				   .body_len = whole.len };
	w->cfg.on_msg(w->cfg.arg, w, node, worker, &wm);
}

uint32_t aeg_wk_frag_poll(struct aeg_worker *w, uint64_t now_ns)
{
	const struct aeg_frag_out out = { .reserve = frag_reserve, .arg = w };
	w->frag_dirty = true;
	return aeg_frag_poll(w->frag, now_ns, &out);
}

void aeg_wk_frag_stats_sync(struct aeg_worker *w)
{
	const uint64_t *src = (const uint64_t *)aeg_frag_stats(w->frag);
	uint64_t *dst = (uint64_t *)&w->stats.frag;
	for (size_t i = 0; i < sizeof(w->stats.frag) / sizeof(uint64_t); i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
	w->frag_dirty = false;
}
