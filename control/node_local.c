/* Embedded clients (aeg_node_client): a client claims channel k of every
 * worker (local_chan.h) and gets an aeg_client_local whose send and
 * receive move its sealed datagrams through those rings; the worker side
 * is dataplane/replica/replica_local.c. */
#define _GNU_SOURCE
#include "node_int.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

static int local_send(void *ctx, uint16_t worker, const void *dgram, uint32_t len)
{
	struct node_client_slot *s = ctx;
	assert(worker < s->node->cfg.workers);
	return aeg_dgram_ring_push(s->node->chans[worker].chan[s->k].req, dgram, len);
}

static uint32_t local_receive(void *ctx, void (*fn)(void *arg, uint16_t worker, const uint8_t *dgram, uint32_t len),
			      void *arg, uint32_t max)
{
	struct node_client_slot *s = ctx;
	uint32_t n = 0;
	for (uint16_t w = 0; w < s->node->cfg.workers; w++) {
		struct aeg_dgram_ring *rep = s->node->chans[w].chan[s->k].rep;
		const uint8_t *d;
		uint32_t len;
		while (n < max && aeg_dgram_ring_peek(rep, &d, &len)) {
			fn(arg, w, d, len);
			aeg_dgram_ring_pop(rep);
			n++;
		}
	}
	return n;
}

/* Idempotent: aeg_client_open calls it on its own failure too. */
static void local_release(void *ctx)
{
	struct node_client_slot *s = ctx;
	if (!__atomic_load_n(&s->claimed, __ATOMIC_ACQUIRE))
		return;
	for (uint16_t w = 0; w < s->node->cfg.workers; w++)
		__atomic_store_n(&s->node->chans[w].chan[s->k].active, false, __ATOMIC_RELEASE);
	__atomic_store_n(&s->claimed, false, __ATOMIC_RELEASE);
}

void node_local_init(struct aeg_node *n)
{
	for (uint16_t k = 0; k < AEG_NODE_CLIENTS_MAX; k++) {
		struct node_client_slot *s = &n->clients[k];
		*s = (struct node_client_slot){
			.node = n, .k = k,
			.local = { .ipv4 = n->cfg.ipv4, .port_base = n->cfg.base_port,
				   .workers = (uint16_t)n->cfg.workers, .send = local_send,
				   .receive = local_receive, .release = local_release, .ctx = s },
		};
	}
}

void node_local_fini(struct aeg_node *n)
{
	for (uint32_t w = 0; w < AEG_DP_WORKERS_MAX; w++)
		for (uint32_t k = 0; k < AEG_LOCAL_CHANS_MAX; k++) {
			aeg_dgram_ring_fini(n->chans[w].chan[k].req);
			aeg_dgram_ring_fini(n->chans[w].chan[k].rep);
		}
}

/* The rings of channel k on every worker, made on first use and kept. */
static int rings_make(struct aeg_node *n, uint16_t k)
{
	for (uint32_t w = 0; w < n->cfg.workers; w++) {
		struct aeg_local_chan *ch = &n->chans[w].chan[k];
		int rc = 0;
		if (ch->req == NULL)
			rc = aeg_dgram_ring_init(&ch->req, AEG_LOCAL_RING_BYTES);
		if (rc == 0 && ch->rep == NULL)
			rc = aeg_dgram_ring_init(&ch->rep, AEG_LOCAL_RING_BYTES);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int aeg_node_client(struct aeg_node *n, const struct aeg_client_cfg *base, struct aeg_client **out)
{
	_Static_assert(AEG_NODE_CLIENTS_MAX <= AEG_LOCAL_CHANS_MAX, "a channel per embedded client");
	*out = NULL;
	struct node_client_slot *s = NULL;
	for (uint16_t k = 0; k < AEG_NODE_CLIENTS_MAX && s == NULL; k++) {
		bool expected = false;
		if (__atomic_compare_exchange_n(&n->clients[k].claimed, &expected, true, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			s = &n->clients[k];
	}
	if (s == NULL)
		return -EBUSY;
	int rc = rings_make(n, s->k);
	if (rc != 0) {
		local_release(s);
		return rc;
	}
	/* The worker reads the rings only after it sees active. */
	for (uint16_t w = 0; w < n->cfg.workers; w++)
		__atomic_store_n(&n->chans[w].chan[s->k].active, true, __ATOMIC_RELEASE);
	struct aeg_client_cfg cfg;
	if (base != NULL)
		cfg = *base;
	else
		memset(&cfg, 0, sizeof(cfg));
	struct aeg_client_addr self = { .id = n->cfg.node_id, .ipv4 = n->cfg.ipv4, .port = n->cfg.base_port };
	cfg.nodes = NULL;
	cfg.node_count = 0;
	cfg.addrs = &self;
	cfg.addr_count = 1;
	cfg.key = n->client_key;
	cfg.local = &s->local;
	rc = aeg_client_open(out, &cfg);
	if (rc != 0)
		local_release(s);
	return rc;
}
