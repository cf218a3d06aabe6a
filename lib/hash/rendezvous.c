/* Rendezvous hashing (highest random weight) with weights: every node
 * scores the key, the top n scores win (see aegis/hash.h). */
#include "aegis/hash.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "hash/hrw_score.h"

int aeg_hrw_init(struct aeg_hrw *h, uint32_t nodes_max)
{
	memset(h, 0, sizeof(*h));
	/* Slots are found as int indexes. */
	if (nodes_max == 0 || nodes_max > INT32_MAX)
		return -EINVAL;
	h->nodes = calloc(nodes_max, sizeof(*h->nodes));
	if (h->nodes == NULL)
		return -ENOMEM;
	h->nodes_max = nodes_max;
	h->uniform = 1;
	return 0;
}

void aeg_hrw_fini(struct aeg_hrw *h)
{
	free(h->nodes);
	memset(h, 0, sizeof(*h));
}

static int hrw_find(const struct aeg_hrw *h, uint32_t id)
{
	for (uint32_t i = 0; i < h->nodes_len; i++) {
		if (h->nodes[i].id == id)
			return (int)i;
	}
	return -ENOENT;
}

static void hrw_update_uniform(struct aeg_hrw *h)
{
	h->uniform = 1;
	for (uint32_t i = 1; i < h->nodes_len; i++) {
		if (h->nodes[i].weight != h->nodes[0].weight)
			h->uniform = 0;
	}
}

int aeg_hrw_add(struct aeg_hrw *h, uint32_t id, uint32_t weight)
{
	if (hrw_find(h, id) >= 0)
		return -EEXIST;
	if (weight == 0)
		return -EINVAL;
	if (h->nodes_len == h->nodes_max)
		return -ENOSPC;

	uint8_t buf[4];
	struct aeg_writer w;
	aeg_writer_init(&w, buf, sizeof(buf));
	aeg_put_u32(&w, id);
	assert(!w.error);
	h->nodes[h->nodes_len++] = (struct aeg_hrw_node){
		.hash = aeg_hash_key(buf, w.len, AEG_HRW_NODE_SEED),
		.id = id,
		.weight = weight,
	};
	hrw_update_uniform(h);
	return 0;
}

int aeg_hrw_remove(struct aeg_hrw *h, uint32_t id)
{
	int slot = hrw_find(h, id);
	if (slot < 0)
		return slot;
	/* Node order never matters: ties are broken by id, not by slot. */
	h->nodes[slot] = h->nodes[--h->nodes_len];
	hrw_update_uniform(h);
	return 0;
}

/* A candidate: higher score first, lower id on a tie. */
struct hrw_pick {
	uint64_t score;
	uint32_t id;
};

static bool pick_better(const struct hrw_pick *a, const struct hrw_pick *b)
{
	return a->score != b->score ? a->score > b->score : a->id < b->id;
}

int aeg_hrw_get_nodes(const struct aeg_hrw *h, uint64_t key_hash,
		      uint32_t *out, uint32_t n)
{
	if (n == 0 || n > AEG_HRW_N_MAX)
		return -EINVAL;
	if (h->nodes_len == 0)
		return -ENOENT;
	if (n > h->nodes_len)
		return -ERANGE;

	/* top[0..kept) sorted best first: insertion into a short array. */
	struct hrw_pick top[AEG_HRW_N_MAX];
	uint32_t kept = 0;
	for (uint32_t i = 0; i < h->nodes_len; i++) {
		const struct aeg_hrw_node *node = &h->nodes[i];
		struct hrw_pick c = {
			.score = aeg_hrw_score(key_hash, node->hash, node->weight,
					       h->uniform != 0),
			.id = node->id,
		};
		if (kept == n && !pick_better(&c, &top[n - 1]))
			continue;
		uint32_t pos = kept < n ? kept++ : n - 1;
		while (pos > 0 && pick_better(&c, &top[pos - 1])) {
			top[pos] = top[pos - 1];
			pos--;
		}
		top[pos] = c;
	}
	assert(kept == n);
	for (uint32_t i = 0; i < n; i++)
		out[i] = top[i].id;
	return 0;
}
