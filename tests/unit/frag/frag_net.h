/* A simulated datagram network for lib/frag tests: two endpoints, every
 * message a fragment or ack written through aeg_frag_out, then lost,
 * duplicated, truncated or delayed (reordered) with seeded probabilities,
 * delivered in time order from a heap. Sizes fixed at setup. */
#ifndef AEGIS_TEST_FRAG_NET_H
#define AEGIS_TEST_FRAG_NET_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/frag.h"
#include "test_prng.h"

#define NET_PKTS 16384u

struct net_pkt {
	uint64_t at;
	uint32_t to;      /* endpoint 0 or 1 */
	uint32_t stream;
	uint32_t group;
	uint32_t len;
	uint8_t type;
	uint8_t *body;    /* body_max bytes */
};

struct net {
	struct prng *rng;
	uint32_t loss_pm, dup_pm, trunc_pm; /* per mille */
	uint64_t delay_ns, jitter_ns;       /* jitter > 0 reorders */
	uint32_t body_max;
	struct net_pkt pkts[NET_PKTS];
	uint32_t free_[NET_PKTS], nfree;
	uint32_t heap[NET_PKTS], nheap;
	uint32_t pending[NET_PKTS], npending; /* written by the current poll */
	uint32_t from;                       /* endpoint polling now */
	uint64_t now;
	uint64_t sent, lost, dups, truncs, full;
	uint8_t *mem;
};

static inline int net_init(struct net *n, struct prng *rng, uint32_t body_max)
{
	memset(n, 0, sizeof(*n));
	n->rng = rng;
	n->body_max = body_max;
	n->mem = malloc((size_t)NET_PKTS * body_max);
	if (n->mem == NULL)
		return -1;
	for (uint32_t i = 0; i < NET_PKTS; i++) {
		n->pkts[i].body = n->mem + (size_t)i * body_max;
		n->free_[i] = NET_PKTS - 1 - i;
	}
	n->nfree = NET_PKTS;
	return 0;
}

static inline void net_fini(struct net *n)
{
	free(n->mem);
}

static inline uint8_t *net_reserve(void *arg, uint32_t stream, uint8_t type, uint32_t group,
				   uint32_t len)
{
	struct net *n = arg;
	if (n->nfree < 2 || len > n->body_max) { /* keep one for a duplicate */
		n->full++;
		return NULL;
	}
	uint32_t i = n->free_[--n->nfree];
	n->pkts[i] = (struct net_pkt){ .to = 1 - n->from, .stream = stream, .group = group,
				       .len = len, .type = type, .body = n->pkts[i].body };
	n->pending[n->npending++] = i;
	return n->pkts[i].body;
}

static inline int net_before(const struct net *n, uint32_t a, uint32_t b)
{
	return n->pkts[a].at < n->pkts[b].at || (n->pkts[a].at == n->pkts[b].at && a < b);
}

static inline void net_push(struct net *n, uint32_t i)
{
	uint32_t k = n->nheap++;
	n->heap[k] = i;
	while (k > 0 && net_before(n, n->heap[k], n->heap[(k - 1) / 2])) {
		uint32_t p = (k - 1) / 2, t = n->heap[p];
		n->heap[p] = n->heap[k];
		n->heap[k] = t;
		k = p;
	}
}

static inline uint32_t net_pop(struct net *n)
{
	uint32_t top = n->heap[0], k = 0;
	n->heap[0] = n->heap[--n->nheap];
	for (;;) {
		uint32_t l = 2 * k + 1, r = l + 1, m = k;
		if (l < n->nheap && net_before(n, n->heap[l], n->heap[m]))
			m = l;
		if (r < n->nheap && net_before(n, n->heap[r], n->heap[m]))
			m = r;
		if (m == k)
			break;
		uint32_t t = n->heap[m];
		n->heap[m] = n->heap[k];
		n->heap[k] = t;
		k = m;
	}
	return top;
}

static inline uint64_t net_delay(struct net *n)
{
	return n->delay_ns + (n->jitter_ns ? prng_below(n->rng, n->jitter_ns) : 0);
}

/* Faults on what the last poll wrote, then into the heap. */
static inline void net_commit(struct net *n)
{
	for (uint32_t k = 0; k < n->npending; k++) {
		uint32_t i = n->pending[k];
		struct net_pkt *p = &n->pkts[i];
		n->sent++;
		if (prng_below(n->rng, 1000) < n->loss_pm) {
			n->lost++;
			n->free_[n->nfree++] = i;
			continue;
		}
		if (prng_below(n->rng, 1000) < n->trunc_pm && p->len > 1) {
			p->len = (uint32_t)prng_below(n->rng, p->len);
			n->truncs++;
		}
		p->at = n->now + net_delay(n);
		if (prng_below(n->rng, 1000) < n->dup_pm && n->nfree > 0) {
			uint32_t j = n->free_[--n->nfree];
			uint8_t *b = n->pkts[j].body;
			n->pkts[j] = *p;
			n->pkts[j].body = b;
			memcpy(b, p->body, p->len);
			n->pkts[j].at = n->now + net_delay(n);
			net_push(n, j);
			n->dups++;
		}
		net_push(n, i);
	}
	n->npending = 0;
}

#endif
