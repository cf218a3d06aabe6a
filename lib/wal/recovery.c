/* Recovery stager: per group, the latest hard state, the latest snapshot
 * marker and the entries after it, from the log's records in log order
 * (rules in aegis/wal_recovery.h).
 *
 * Layout: payload copies go to an arena of chunks (an overwritten payload is
 * not reclaimed: memory stays bounded by what the log holds); each group
 * keeps its entries as one contiguous run [base + 1, base + n] in an array
 * with a movable head, so a snapshot drops a prefix in O(1) and an overwrite
 * cuts the tail in O(1); a hash index maps group ids to groups. */
#include "aegis/wal_recovery.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES (1u << 20)

struct chunk {
	struct chunk *next;
	size_t used, cap;
	uint8_t data[];
};

struct rent {
	uint64_t term;
	uint32_t type;
	uint32_t len;
	const uint8_t *data;
};

struct rgroup {
	uint64_t id;
	bool live;		/* false once removed (until a record starts it again) */
	bool started;		/* base is known */
	bool has_hs;
	uint64_t term, vote, commit;
	uint64_t snap_index, snap_term;
	uint64_t base;		/* entries are base + 1 .. base + n */
	uint64_t gap_from;	/* first index missing before the run restarted at a gap */
	struct rent *ents;	/* ents[head .. head + n) */
	size_t head, n, cap;
};

struct ord {
	uint64_t id;
	size_t slot;
};

struct aeg_wal_recovery {
	struct chunk *chunks;
	struct rgroup *groups;
	size_t groups_n, groups_cap;
	uint32_t *index;	/* open addressing: group slot + 1, 0 = empty */
	size_t index_cap;	/* power of two, at most half full */
	struct ord *order;	/* live groups sorted by id (after finish) */
	size_t order_n;
	bool finished;
	size_t bytes;
	uint64_t err_group, err_index;
	char err[160];
};

int aeg_wal_recovery_new(struct aeg_wal_recovery **out)
{
	struct aeg_wal_recovery *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	*out = r;
	return 0;
}

void aeg_wal_recovery_free(struct aeg_wal_recovery *r)
{
	if (r == NULL)
		return;
	for (struct chunk *c = r->chunks, *next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	for (size_t i = 0; i < r->groups_n; i++)
		free(r->groups[i].ents);
	free(r->groups);
	free(r->index);
	free(r->order);
	free(r);
}

static const uint8_t *copy_payload(struct aeg_wal_recovery *r, const uint8_t *p, uint32_t len)
{
	if (len == 0)
		return NULL;
	struct chunk *c = r->chunks;
	if (c == NULL || c->cap - c->used < len) {
		size_t cap = len > CHUNK_BYTES ? len : CHUNK_BYTES;
		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		*c = (struct chunk){ .next = r->chunks, .cap = cap };
		r->chunks = c;
		r->bytes += sizeof(*c) + cap;
	}
	uint8_t *dst = c->data + c->used;
	memcpy(dst, p, len);
	c->used += (len + 7u) & ~(size_t)7u; /* keep copies 8-byte aligned */
	if (c->used > c->cap)
		c->used = c->cap;
	return dst;
}

static size_t hash_slot(uint64_t id, size_t mask)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static int index_grow(struct aeg_wal_recovery *r)
{
	size_t cap = r->index_cap != 0 ? r->index_cap * 2 : 64;
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (idx == NULL)
		return -ENOMEM;
	for (size_t g = 0; g < r->groups_n; g++) {
		size_t h = hash_slot(r->groups[g].id, cap - 1);
		while (idx[h] != 0)
			h = (h + 1) & (cap - 1);
		idx[h] = (uint32_t)g + 1;
	}
	r->bytes += (cap - r->index_cap) * sizeof(*idx);
	free(r->index);
	r->index = idx;
	r->index_cap = cap;
	return 0;
}

/* Slot of group id, or -ENOENT (create false) / -ENOMEM. */
static long group_slot(const struct aeg_wal_recovery *r, uint64_t id)
{
	if (r->index_cap == 0)
		return -ENOENT;
	size_t mask = r->index_cap - 1;
	/* Bounded: the index is at most half full, so an empty slot comes. */
	for (size_t h = hash_slot(id, mask);; h = (h + 1) & mask) {
		uint32_t v = r->index[h];
		if (v == 0)
			return -ENOENT;
		if (r->groups[v - 1].id == id)
			return (long)(v - 1);
	}
}

static long group_get(struct aeg_wal_recovery *r, uint64_t id)
{
	long s = group_slot(r, id);
	if (s >= 0 || s != -ENOENT)
		return s;
	if ((r->groups_n + 1) * 2 > r->index_cap && index_grow(r) < 0)
		return -ENOMEM;
	if (r->groups_n == r->groups_cap) {
		size_t cap = r->groups_cap != 0 ? r->groups_cap * 2 : 16;
		struct rgroup *g = realloc(r->groups, cap * sizeof(*g));
		if (g == NULL)
			return -ENOMEM;
		r->bytes += (cap - r->groups_cap) * sizeof(*g);
		r->groups = g;
		r->groups_cap = cap;
	}
	size_t slot = r->groups_n++;
	r->groups[slot] = (struct rgroup){ .id = id };
	size_t h = hash_slot(id, r->index_cap - 1);
	while (r->index[h] != 0)
		h = (h + 1) & (r->index_cap - 1);
	r->index[h] = (uint32_t)slot + 1;
	return (long)slot;
}

static int hole(struct aeg_wal_recovery *r, uint64_t group, uint64_t index, const char *why)
{
	r->err_group = group;
	r->err_index = index;
	snprintf(r->err, sizeof(r->err), "group %llu: entry %llu missing (%s)", (unsigned long long)group,
		 (unsigned long long)index, why);
	return -EBADMSG;
}

static int ents_push(struct aeg_wal_recovery *r, struct rgroup *g, const struct rent *e)
{
	if (g->head + g->n == g->cap) {
		if (g->head != 0 && g->head >= g->cap / 2) {
			memmove(g->ents, g->ents + g->head, g->n * sizeof(*g->ents));
			g->head = 0;
		} else {
			size_t cap = g->cap != 0 ? g->cap * 2 : 8;
			struct rent *ents = realloc(g->ents, cap * sizeof(*ents));
			if (ents == NULL)
				return -ENOMEM;
			r->bytes += (cap - g->cap) * sizeof(*ents);
			g->ents = ents;
			g->cap = cap;
		}
	}
	g->ents[g->head + g->n++] = *e;
	return 0;
}

/* Keeps the entries <= last (last >= snap_index). */
static void ents_cut(struct rgroup *g, uint64_t last)
{
	assert(last >= g->snap_index || !g->started);
	if (last >= g->base + g->n)
		return;
	if (last <= g->base) {
		g->n = 0;
		g->head = 0;
		g->base = last;
	} else {
		g->n = last - g->base;
	}
}

static int add_entry(struct aeg_wal_recovery *r, struct rgroup *g, const struct aeg_wal_rec *rec)
{
	if (rec->index == 0)
		return -EINVAL;
	if (rec->index <= g->snap_index)
		return 0; /* covered by the snapshot */
	if (!g->started) {
		g->started = true;
		g->base = rec->index - 1;
	} else if (rec->index > g->base + g->n + 1) {
		/* A gap: the entries before it were in segments released after a
		 * snapshot whose marker comes later (a checkpoint copied an older
		 * one forward). The run starts again here; finish checks that a
		 * snapshot covers what is missing. */
		g->gap_from = g->base + g->n + 1;
		ents_cut(g, g->base);
		g->base = rec->index - 1;
	}
	ents_cut(g, rec->index - 1);
	struct rent e = { .term = rec->term, .type = rec->entry_type, .len = rec->len };
	e.data = copy_payload(r, rec->payload, rec->len);
	if (e.data == NULL && rec->len != 0)
		return -ENOMEM;
	return ents_push(r, g, &e);
}

static void add_snapshot(struct rgroup *g, const struct aeg_wal_rec *rec)
{
	if (rec->index <= g->snap_index)
		return; /* an older marker, or a copy of this one */
	g->snap_index = rec->index;
	g->snap_term = rec->term;
	if (!g->started || rec->index >= g->base + g->n) {
		g->started = true;
		g->n = 0;
		g->head = 0;
		g->base = rec->index;
	} else if (rec->index > g->base) {
		size_t drop = (size_t)(rec->index - g->base);
		g->head += drop;
		g->n -= drop;
		g->base = rec->index;
	}
}

int aeg_wal_recovery_add(struct aeg_wal_recovery *r, const struct aeg_wal_rec *rec)
{
	assert(r != NULL && rec != NULL);
	if (r->finished)
		return -EALREADY;
	if (rec->type == AEG_WAL_PAD || rec->type == AEG_WAL_SEAL)
		return 0;
	if (rec->type == 0 || rec->type > AEG_WAL_REMOVE)
		return -EINVAL;
	long slot = group_get(r, rec->group);
	if (slot < 0)
		return (int)slot;
	struct rgroup *g = &r->groups[slot];
	if (rec->type == AEG_WAL_REMOVE) {
		*g = (struct rgroup){ .id = g->id, .ents = g->ents, .cap = g->cap };
		return 0;
	}
	g->live = true;
	switch (rec->type) {
	case AEG_WAL_ENTRY:
		return add_entry(r, g, rec);
	case AEG_WAL_TRUNCATE:
		if (rec->index == 0)
			return -EINVAL;
		if (g->started)
			ents_cut(g, rec->index - 1 > g->snap_index ? rec->index - 1 : g->snap_index);
		return 0;
	case AEG_WAL_SNAPSHOT:
		if (rec->index == 0)
			return -EINVAL;
		add_snapshot(g, rec);
		return 0;
	case AEG_WAL_HARD_STATE:
		if (aeg_wal_hard_state_decode(rec, &g->vote, &g->commit) != 0)
			return -EBADMSG;
		g->has_hs = true;
		g->term = rec->term;
		return 0;
	}
	return -EINVAL;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct ord *)a)->id, y = ((const struct ord *)b)->id;
	return x < y ? -1 : x > y;
}

int aeg_wal_recovery_finish(struct aeg_wal_recovery *r)
{
	if (r->finished)
		return 0;
	for (size_t i = 0; i < r->groups_n; i++) {
		struct rgroup *g = &r->groups[i];
		if (g->live && !g->started)
			g->base = g->snap_index;
		/* base >= snap_index always: a snapshot moves base up to it. */
		assert(!g->live || g->base >= g->snap_index);
		if (g->live && g->base > g->snap_index) {
			bool gap = g->gap_from > g->snap_index;
			return hole(r, g->id, gap ? g->gap_from : g->snap_index + 1,
				    gap ? "entries follow a gap no snapshot covers"
					: g->snap_index == 0 ? "the log starts after it, with no snapshot"
							     : "the log starts after it, past the snapshot");
		}
	}
	r->order = malloc((r->groups_n + 1) * sizeof(*r->order));
	if (r->order == NULL)
		return -ENOMEM;
	r->bytes += (r->groups_n + 1) * sizeof(*r->order);
	for (size_t i = 0; i < r->groups_n; i++)
		if (r->groups[i].live)
			r->order[r->order_n++] = (struct ord){ .id = r->groups[i].id, .slot = i };
	qsort(r->order, r->order_n, sizeof(*r->order), by_id);
	r->finished = true;
	return 0;
}

const char *aeg_wal_recovery_error(const struct aeg_wal_recovery *r, uint64_t *group, uint64_t *index)
{
	if (group != NULL)
		*group = r->err_group;
	if (index != NULL)
		*index = r->err_index;
	return r->err;
}

size_t aeg_wal_recovery_group_count(const struct aeg_wal_recovery *r)
{
	return r->order_n;
}

static void fill_state(const struct rgroup *g, struct aeg_wal_group_state *st)
{
	assert(g->live && g->base == g->snap_index);
	*st = (struct aeg_wal_group_state){
		.group = g->id, .has_hard_state = g->has_hs, .term = g->term, .vote = g->vote,
		.commit = g->commit, .snap_index = g->snap_index, .snap_term = g->snap_term,
		.first_index = g->snap_index + 1, .last_index = g->snap_index + g->n,
		.last_term = g->n != 0 ? g->ents[g->head + g->n - 1].term : g->snap_term,
	};
}

int aeg_wal_recovery_group_at(const struct aeg_wal_recovery *r, size_t i, struct aeg_wal_group_state *st)
{
	if (!r->finished)
		return -EINVAL;
	if (i >= r->order_n)
		return -ERANGE;
	fill_state(&r->groups[r->order[i].slot], st);
	return 0;
}

int aeg_wal_recovery_find(const struct aeg_wal_recovery *r, uint64_t group, struct aeg_wal_group_state *st)
{
	if (!r->finished)
		return -EINVAL;
	long s = group_slot(r, group);
	if (s < 0 || !r->groups[s].live)
		return -ENOENT;
	fill_state(&r->groups[s], st);
	return 0;
}

int aeg_wal_recovery_entry(const struct aeg_wal_recovery *r, uint64_t group, uint64_t index,
			   struct aeg_wal_entry_view *e)
{
	if (!r->finished)
		return -EINVAL;
	long s = group_slot(r, group);
	if (s < 0 || !r->groups[s].live)
		return -ENOENT;
	const struct rgroup *g = &r->groups[s];
	if (index <= g->base || index > g->base + g->n)
		return -ENOENT;
	const struct rent *x = &g->ents[g->head + (index - g->base - 1)];
	*e = (struct aeg_wal_entry_view){ .index = index, .term = x->term, .type = x->type, .len = x->len,
					  .data = x->data };
	return 0;
}

size_t aeg_wal_recovery_bytes(const struct aeg_wal_recovery *r)
{
	return sizeof(*r) + r->bytes;
}
