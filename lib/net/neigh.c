/* Neighbour table: IPv4 -> MAC with static entries, learning from ARP,
 * refresh after reachable_ns, at most one request per address per
 * retry_ns, and forgetting after probes_max unanswered refreshes.
 *
 * Open addressing with linear probing over slot_count >= 2 x capacity
 * slots (load <= 1/2), deletion by backward shift so that no tombstones
 * build up. A table full of live entries refuses new ones with -ENOSPC;
 * when it is full, one expired entry (see neigh_expired) is evicted to
 * make room, so addresses that were once seen cannot fill it for good.
 * now_ns must not go backwards. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/net.h"

enum neigh_state {
	NEIGH_FREE = 0,
	NEIGH_INCOMPLETE, /* being resolved: no MAC yet */
	NEIGH_LEARNED,
	NEIGH_STATIC,
};

struct aeg_net_neigh_entry {
	uint64_t confirmed_ns; /* last learned (created, for INCOMPLETE) */
	uint64_t request_ns;   /* last request asked for, if requested */
	uint32_t ipv4;
	struct aeg_net_mac mac;
	uint8_t state;
	uint8_t requested; /* request_ns is valid */
	uint32_t probes;   /* requests since the last confirmation */
};

_Static_assert(sizeof(struct aeg_net_neigh_entry) == 32, "entry size documented in net.h");

#define NEIGH_CAPACITY_DEFAULT 256u
#define NEIGH_CAPACITY_MAX (1u << 24)
#define NEIGH_REACHABLE_NS_DEFAULT 30000000000ull
#define NEIGH_RETRY_NS_DEFAULT 1000000000ull
#define NEIGH_PROBES_MAX_DEFAULT 3u

int aeg_net_neigh_init(struct aeg_net_neigh *t, const struct aeg_net_neigh_config *cfg)
{
	struct aeg_net_neigh_config c = {0};
	if (cfg != NULL)
		c = *cfg;
	if (c.capacity == 0)
		c.capacity = NEIGH_CAPACITY_DEFAULT;
	if (c.reachable_ns == 0)
		c.reachable_ns = NEIGH_REACHABLE_NS_DEFAULT;
	if (c.retry_ns == 0)
		c.retry_ns = NEIGH_RETRY_NS_DEFAULT;
	if (c.probes_max == 0)
		c.probes_max = NEIGH_PROBES_MAX_DEFAULT;
	if (c.capacity > NEIGH_CAPACITY_MAX || c.probes_max > UINT16_MAX ||
	    c.retry_ns > UINT64_MAX / 2 / UINT16_MAX || c.reachable_ns > UINT64_MAX / 2)
		return -EINVAL;
	uint32_t slots = 2;
	while (slots < 2 * c.capacity)
		slots *= 2;
	t->slots = calloc(slots, sizeof(*t->slots));
	if (t->slots == NULL)
		return -ENOMEM;
	t->cfg = c;
	t->slot_count = slots;
	t->used = 0;
	return 0;
}

void aeg_net_neigh_fini(struct aeg_net_neigh *t)
{
	free(t->slots);
	t->slots = NULL;
	t->slot_count = 0;
	t->used = 0;
}

/* Fibonacci hashing, reduced to [0, slot_count) by a multiply-shift. */
static uint32_t neigh_home(const struct aeg_net_neigh *t, uint32_t ipv4)
{
	uint32_t h = ipv4 * 0x9e3779b1u;
	return (uint32_t)(((uint64_t)h * t->slot_count) >> 32);
}

/* The slot holding ipv4, or the free slot where it would go. Ends because
 * at most half of the slots are used. */
static uint32_t neigh_find(const struct aeg_net_neigh *t, uint32_t ipv4)
{
	uint32_t mask = t->slot_count - 1;
	uint32_t i = neigh_home(t, ipv4);
	while (t->slots[i].state != NEIGH_FREE && t->slots[i].ipv4 != ipv4)
		i = (i + 1) & mask;
	return i;
}

/* Backward-shift deletion (Knuth 6.4 algorithm R): entries after the hole
 * whose home is not cyclically in (hole, j] move back into it. */
static void neigh_delete(struct aeg_net_neigh *t, uint32_t hole)
{
	uint32_t mask = t->slot_count - 1;
	for (uint32_t j = (hole + 1) & mask; t->slots[j].state != NEIGH_FREE; j = (j + 1) & mask) {
		uint32_t k = neigh_home(t, t->slots[j].ipv4);
		bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
		if (stays)
			continue;
		t->slots[hole] = t->slots[j];
		hole = j;
	}
	memset(&t->slots[hole], 0, sizeof(t->slots[hole]));
	t->used--;
}

/* Expired: not confirmed for reachable_ns plus the probes_max retries a
 * refresh would have taken; such an entry would be forgotten by the next
 * lookup anyway. */
static bool neigh_expired(const struct aeg_net_neigh *t, const struct aeg_net_neigh_entry *e,
			  uint64_t now_ns)
{
	uint64_t life = t->cfg.reachable_ns + (uint64_t)t->cfg.probes_max * t->cfg.retry_ns;
	return e->state != NEIGH_STATIC && now_ns - e->confirmed_ns >= life;
}

/* Makes room for one more entry: true if there already is, or if the
 * oldest expired entry (lowest address among equals) could be evicted.
 * A linear scan, only when the table is full. */
static bool neigh_make_room(struct aeg_net_neigh *t, uint64_t now_ns)
{
	if (t->used < t->cfg.capacity)
		return true;
	uint32_t victim = UINT32_MAX;
	for (uint32_t i = 0; i < t->slot_count; i++) {
		const struct aeg_net_neigh_entry *e = &t->slots[i];
		if (e->state == NEIGH_FREE || !neigh_expired(t, e, now_ns))
			continue;
		const struct aeg_net_neigh_entry *v = victim == UINT32_MAX ? NULL : &t->slots[victim];
		if (v == NULL || e->confirmed_ns < v->confirmed_ns ||
		    (e->confirmed_ns == v->confirmed_ns && e->ipv4 < v->ipv4))
			victim = i;
	}
	if (victim == UINT32_MAX)
		return false;
	neigh_delete(t, victim);
	return true;
}

/* A new entry for ipv4 (not in the table, room made); returns it. */
static struct aeg_net_neigh_entry *neigh_insert(struct aeg_net_neigh *t, uint32_t ipv4,
						 enum neigh_state state, uint64_t now_ns)
{
	assert(t->used < t->cfg.capacity);
	struct aeg_net_neigh_entry *e = &t->slots[neigh_find(t, ipv4)];
	assert(e->state == NEIGH_FREE);
	memset(e, 0, sizeof(*e));
	e->ipv4 = ipv4;
	e->state = (uint8_t)state;
	e->confirmed_ns = now_ns;
	t->used++;
	return e;
}

int aeg_net_neigh_add_static(struct aeg_net_neigh *t, uint32_t ipv4, const struct aeg_net_mac *mac)
{
	struct aeg_net_neigh_entry *e = &t->slots[neigh_find(t, ipv4)];
	if (e->state == NEIGH_FREE) {
		if (t->used >= t->cfg.capacity)
			return -ENOSPC;
		e = neigh_insert(t, ipv4, NEIGH_STATIC, 0);
	}
	e->state = NEIGH_STATIC;
	e->mac = *mac;
	return 0;
}

int aeg_net_neigh_learn(struct aeg_net_neigh *t, uint32_t ipv4, const struct aeg_net_mac *mac,
			uint64_t now_ns, bool create)
{
	struct aeg_net_neigh_entry *e = &t->slots[neigh_find(t, ipv4)];
	if (e->state == NEIGH_STATIC)
		return 0;
	if (e->state == NEIGH_FREE) {
		if (!create)
			return 0;
		if (!neigh_make_room(t, now_ns))
			return -ENOSPC;
		e = neigh_insert(t, ipv4, NEIGH_LEARNED, now_ns);
	}
	e->state = NEIGH_LEARNED;
	e->mac = *mac;
	e->confirmed_ns = now_ns;
	e->probes = 0;
	return 0;
}

/* Asks the caller for a request now if none was asked for in retry_ns. */
static bool neigh_request_due(const struct aeg_net_neigh *t, const struct aeg_net_neigh_entry *e,
			      uint64_t now_ns)
{
	return !e->requested || now_ns - e->request_ns >= t->cfg.retry_ns;
}

static void neigh_requested(struct aeg_net_neigh_entry *e, uint64_t now_ns, bool *send_request)
{
	e->requested = 1;
	e->request_ns = now_ns;
	e->probes++;
	*send_request = true;
}

int aeg_net_neigh_lookup(struct aeg_net_neigh *t, uint32_t ipv4, uint64_t now_ns,
			 struct aeg_net_mac *mac, bool *send_request)
{
	*send_request = false;
	struct aeg_net_neigh_entry *e = &t->slots[neigh_find(t, ipv4)];
	if (e->state == NEIGH_FREE) {
		if (!neigh_make_room(t, now_ns))
			return -ENOSPC;
		e = neigh_insert(t, ipv4, NEIGH_INCOMPLETE, now_ns);
		neigh_requested(e, now_ns, send_request);
		return -EAGAIN;
	}
	if (e->state == NEIGH_STATIC ||
	    (e->state == NEIGH_LEARNED && now_ns - e->confirmed_ns < t->cfg.reachable_ns)) {
		*mac = e->mac;
		return 0;
	}
	if (e->state == NEIGH_INCOMPLETE) {
		if (neigh_request_due(t, e, now_ns))
			neigh_requested(e, now_ns, send_request);
		return -EAGAIN;
	}
	/* Learned but stale: still used while it is refreshed. */
	if (neigh_request_due(t, e, now_ns)) {
		if (e->probes >= t->cfg.probes_max) {
			/* No answer to probes_max refreshes: forgotten, and
			 * resolved again from scratch. */
			e->state = NEIGH_INCOMPLETE;
			memset(&e->mac, 0, sizeof(e->mac));
			e->confirmed_ns = now_ns;
			e->probes = 0;
			neigh_requested(e, now_ns, send_request);
			return -EAGAIN;
		}
		neigh_requested(e, now_ns, send_request);
	}
	*mac = e->mac;
	return 0;
}
