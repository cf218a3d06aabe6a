/* The shard map: built from the nodes with weighted rendezvous, then
 * read-only lookups (key -> shard, shard -> replicas and addresses).
 * See aegis/shard.h for the rules every replica and client share. */
#include "aegis/shard.h"
#include "aegis/hash.h"
#include "shard/shard_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct aeg_shard_map *shard_map_alloc(uint32_t node_count, uint32_t shard_count, uint32_t rf)
{
	struct aeg_shard_map *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->nodes = calloc(node_count, sizeof(*m->nodes));
	m->replicas = calloc((size_t)shard_count * rf, sizeof(*m->replicas));
	if (m->nodes == NULL || m->replicas == NULL) {
		aeg_shard_map_free(m);
		return NULL;
	}
	m->node_count = node_count;
	m->shard_count = shard_count;
	m->rf = rf;
	return m;
}

void aeg_shard_map_free(struct aeg_shard_map *m)
{
	if (m == NULL)
		return;
	free(m->nodes);
	free(m->replicas);
	shard_ranges_free(m);
	shard_assign_free(m);
	free(m);
}

bool shard_params_ok(uint32_t node_count, uint32_t shard_count, uint32_t rf, uint32_t workers,
		     uint32_t strategy)
{
	return node_count >= 1 && node_count <= AEG_SHARD_NODES_MAX && shard_count >= 1 &&
	       shard_count <= AEG_SHARD_COUNT_MAX && rf >= 1 && rf <= AEG_SHARD_RF_MAX &&
	       rf <= node_count && workers >= 1 && workers <= AEG_SHARD_WORKERS_MAX &&
	       strategy <= AEG_SHARD_STRATEGY_MAX;
}

bool shard_node_ok(const struct aeg_shard_node *n, uint32_t workers)
{
	return n->id != 0 && n->weight != 0 && n->udp_port_base != 0 &&
	       (uint32_t)n->udp_port_base + workers - 1 <= UINT16_MAX;
}

int shard_node_index(const struct aeg_shard_map *m, uint32_t id)
{
	uint32_t lo = 0, hi = m->node_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->node_count && m->nodes[lo].id == id ? (int)lo : -1;
}

static void sort_nodes(struct aeg_shard_node *v, uint32_t n)
{
	/* Insertion sort: control plane, at most AEG_SHARD_NODES_MAX. */
	for (uint32_t i = 1; i < n; i++) {
		struct aeg_shard_node x = v[i];
		uint32_t j = i;
		for (; j > 0 && v[j - 1].id > x.id; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Range maps from params: range k on shard k for k < range_count (0: all
 * shards), bounded below by split k - 1; the other shards are spare. */
static int ranges_from_params(struct aeg_shard_map *m, const struct aeg_shard_map_params *p)
{
	uint32_t n = p->range_count ? p->range_count : p->shard_count;
	if (n > p->shard_count || (n > 1 && p->splits == NULL))
		return -EINVAL;
	struct aeg_shard_range *r = malloc(n * sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < n; k++)
		r[k] = (struct aeg_shard_range){ .shard = k, .lo = k ? p->splits[k - 1].key : NULL,
						 .lo_len = k ? p->splits[k - 1].len : 0 };
	/* An empty split would read as bound 0's -inf: refused here. */
	int rc = 0;
	for (uint32_t k = 1; k < n && rc == 0; k++)
		rc = r[k].lo_len == 0 ? -EINVAL : 0;
	if (rc == 0)
		rc = shard_ranges_set(m, r, n);
	free(r);
	return rc;
}

/* Moves, shard by shard, the replica with the fewest preferred leaderships
 * per weight to the front (ties: the better rendezvous score). */
static void spread_leaders(struct aeg_shard_map *m, uint32_t *leads)
{
	for (uint32_t s = 0; s < m->shard_count; s++) {
		uint32_t *r = &m->replicas[(size_t)s * m->rf];
		uint32_t best = 0;
		int bi = shard_node_index(m, r[0]);
		assert(bi >= 0);
		for (uint32_t j = 1; j < m->rf; j++) {
			int ji = shard_node_index(m, r[j]);
			assert(ji >= 0);
			/* (leads_j + 1) / w_j < (leads_b + 1) / w_b */
			uint64_t lhs = (uint64_t)(leads[ji] + 1) * m->nodes[bi].weight;
			uint64_t rhs = (uint64_t)(leads[bi] + 1) * m->nodes[ji].weight;
			if (lhs < rhs) {
				best = j;
				bi = ji;
			}
		}
		leads[bi]++;
		uint32_t leader = r[best];
		memmove(&r[1], &r[0], best * sizeof(*r));
		r[0] = leader;
	}
}

static int place_replicas(struct aeg_shard_map *m)
{
	struct aeg_hrw h;
	int rc = aeg_hrw_init(&h, m->node_count);
	if (rc != 0)
		return rc;
	for (uint32_t i = 0; i < m->node_count && rc == 0; i++)
		rc = aeg_hrw_add(&h, m->nodes[i].id, m->nodes[i].weight);
	for (uint32_t s = 0; s < m->shard_count && rc == 0; s++) {
		uint8_t le[4] = { (uint8_t)s, (uint8_t)(s >> 8), (uint8_t)(s >> 16),
				  (uint8_t)(s >> 24) };
		uint64_t hash = aeg_hash_key(le, sizeof(le), AEG_SHARD_PLACE_SEED);
		rc = aeg_hrw_get_nodes(&h, hash, &m->replicas[(size_t)s * m->rf], m->rf);
	}
	aeg_hrw_fini(&h);
	if (rc != 0)
		return rc;
	uint32_t *leads = calloc(m->node_count, sizeof(*leads));
	if (leads == NULL)
		return -ENOMEM;
	spread_leaders(m, leads);
	free(leads);
	return 0;
}

int aeg_shard_map_build(struct aeg_shard_map **out, const struct aeg_shard_map_params *p)
{
	if (!shard_params_ok(p->node_count, p->shard_count, p->replication_factor, p->workers,
			     (uint32_t)p->strategy) ||
	    p->nodes == NULL || (p->strategy == AEG_SHARD_TIME) != (p->time_bucket != 0) ||
	    (p->strategy != AEG_SHARD_LIST && p->assign_count != 0) ||
	    (p->strategy != AEG_SHARD_RANGE && p->range_count != 0))
		return -EINVAL;
	for (uint32_t i = 0; i < p->node_count; i++) {
		if (!shard_node_ok(&p->nodes[i], p->workers))
			return -EINVAL;
	}
	struct aeg_shard_map *m = shard_map_alloc(p->node_count, p->shard_count, p->replication_factor);
	if (m == NULL)
		return -ENOMEM;
	m->epoch = p->epoch;
	m->workers = p->workers;
	m->strategy = p->strategy;
	memcpy(m->nodes, p->nodes, p->node_count * sizeof(*m->nodes));
	sort_nodes(m->nodes, m->node_count);
	for (uint32_t i = 1; i < m->node_count; i++) {
		if (m->nodes[i].id == m->nodes[i - 1].id) {
			aeg_shard_map_free(m);
			return -EINVAL;
		}
	}
	m->time_bucket = p->time_bucket;
	int rc = p->strategy == AEG_SHARD_LIST ? shard_assign_set(m, p->assign, p->assign_count)
		 : p->strategy == AEG_SHARD_RANGE ? ranges_from_params(m, p) : 0;
	if (rc != 0) {
		aeg_shard_map_free(m);
		return rc;
	}
	shard_meta_voters_set(m);
	rc = place_replicas(m);
	if (rc != 0) {
		aeg_shard_map_free(m);
		return rc == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	*out = m;
	return 0;
}

int aeg_shard_map_placed(struct aeg_shard_map **out, const struct aeg_shard_map *m, uint64_t epoch,
			 const uint32_t *replicas, const struct aeg_shard_node *joined, uint32_t n_joined)
{
	*out = NULL;
	if (n_joined > AEG_SHARD_NODES_MAX - m->node_count)
		return -EINVAL;
	struct aeg_shard_map *c = shard_map_alloc(m->node_count + n_joined, m->shard_count, m->rf);
	if (c == NULL)
		return -ENOMEM;
	memcpy(c->nodes, m->nodes, m->node_count * sizeof(*m->nodes));
	for (uint32_t i = 0; i < n_joined; i++) {
		if (!shard_node_ok(&joined[i], m->workers)) {
			aeg_shard_map_free(c);
			return -EINVAL;
		}
		c->nodes[m->node_count + i] = joined[i];
	}
	sort_nodes(c->nodes, c->node_count);
	size_t cells = (size_t)m->shard_count * m->rf;
	bool ok = true;
	for (uint32_t i = 1; i < c->node_count; i++)
		ok = ok && c->nodes[i].id != c->nodes[i - 1].id;
	for (uint32_t s = 0; ok && s < m->shard_count; s++)
		for (uint32_t k = 0; ok && k < m->rf; k++) {
			uint32_t id = replicas[(size_t)s * m->rf + k];
			ok = shard_node_index(c, id) >= 0;
			for (uint32_t j = 0; ok && j < k; j++)
				ok = replicas[(size_t)s * m->rf + j] != id;
		}
	if (!ok) {
		aeg_shard_map_free(c);
		return -EINVAL;
	}
	c->epoch = epoch;
	c->workers = m->workers;
	c->strategy = m->strategy;
	memcpy(c->meta, m->meta, sizeof(c->meta));
	c->meta_n = m->meta_n;
	memcpy(c->replicas, replicas, cells * sizeof(*replicas));
	if (shard_assign_copy(c, m) != 0 || shard_ranges_copy(c, m) != 0) {
		aeg_shard_map_free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

const char *aeg_shard_state_name(uint8_t state)
{
	static const char *const names[] = { "creating", "active", "migrating", "splitting", "merging", "inactive" };
	_Static_assert(sizeof(names) / sizeof(names[0]) == AEG_SHARD_STATE_MAX + 1, "a name per state");
	return state <= AEG_SHARD_STATE_MAX ? names[state] : "?";
}

uint64_t aeg_shard_map_epoch(const struct aeg_shard_map *m) { return m->epoch; }
uint32_t aeg_shard_map_shard_count(const struct aeg_shard_map *m) { return m->shard_count; }
uint32_t aeg_shard_map_replication_factor(const struct aeg_shard_map *m) { return m->rf; }
uint32_t aeg_shard_map_workers(const struct aeg_shard_map *m) { return m->workers; }
enum aeg_shard_strategy aeg_shard_map_strategy(const struct aeg_shard_map *m) { return m->strategy; }

const struct aeg_shard_node *aeg_shard_map_nodes(const struct aeg_shard_map *m, uint32_t *n)
{
	*n = m->node_count;
	return m->nodes;
}

void shard_meta_voters_set(struct aeg_shard_map *m)
{
	uint32_t n = m->node_count >= 5 ? 5 : (m->node_count < 3 ? m->node_count : 3);
	assert(n <= AEG_SHARD_META_VOTERS_MAX);
	for (uint32_t i = 0; i < n; i++)
		m->meta[i] = m->nodes[i].id;  /* sorted by id */
	m->meta_n = n;
}

uint32_t aeg_shard_map_meta_voters(const struct aeg_shard_map *m, uint32_t *ids, uint32_t max)
{
	for (uint32_t i = 0; i < m->meta_n && i < max; i++)
		ids[i] = m->meta[i];
	return m->meta_n;
}

const struct aeg_shard_node *aeg_shard_map_node(const struct aeg_shard_map *m, uint32_t id)
{
	int i = shard_node_index(m, id);
	return i < 0 ? NULL : &m->nodes[i];
}


const uint32_t *aeg_shard_replicas(const struct aeg_shard_map *m, uint32_t shard, uint32_t *n)
{
	if (shard >= m->shard_count) {
		*n = 0;
		return NULL;
	}
	*n = m->rf;
	return &m->replicas[(size_t)shard * m->rf];
}

bool aeg_shard_has_replica(const struct aeg_shard_map *m, uint32_t shard, uint32_t node)
{
	uint32_t n;
	const uint32_t *r = aeg_shard_replicas(m, shard, &n);
	for (uint32_t i = 0; i < n; i++) {
		if (r[i] == node)
			return true;
	}
	return false;
}

int aeg_shard_addr(const struct aeg_shard_map *m, uint32_t shard, uint32_t node,
		   uint32_t *ipv4, uint16_t *udp_port)
{
	if (shard >= m->shard_count)
		return -EINVAL;
	const struct aeg_shard_node *nd = aeg_shard_map_node(m, node);
	if (nd == NULL)
		return -ENOENT;
	*ipv4 = nd->ipv4;
	*udp_port = (uint16_t)(nd->udp_port_base + aeg_shard_worker(shard, m->workers));
	return 0;
}
