/* Raft log window: the entries [first, last] kept in memory, in a ring of
 * log_entries_max slots, with payloads in a byte arena used as a FIFO
 * (appends at the tail, compaction frees at the head, truncation gives the
 * tail back). A payload never wraps: if it does not fit before the end of
 * the arena the gap is skipped. Positions are virtual (monotonic) so that
 * used bytes are simply tail - head. With cfg.payload_alloc the payloads
 * live in the caller's storage instead (one block per payload, given back
 * when its entry leaves the window) and log_bytes_max is a quota. */
#include "raft_int.h"


void log_init(struct aeg_raft *r)
{
	assert((r->arena == NULL) == (r->cfg.payload_alloc != NULL));
	r->first = 1;
	r->last = 0;
	r->snap_index = 0;
	r->snap_term = 0;
	r->arena_head = 0;
	r->arena_tail = 0;
	r->payload_bytes = 0;
}

/* Allocator mode: gives the payloads of entries [lo, hi] back. */
static void log_free_payloads(struct aeg_raft *r, uint64_t lo, uint64_t hi)
{
	if (r->arena != NULL)
		return;
	for (uint64_t i = lo; i <= hi && i >= r->first && i <= r->last; i++) {
		struct aeg_raft_entry *e = log_slot(r, i);
		if (e->len == 0)
			continue;
		assert(r->payload_bytes >= e->len);
		r->payload_bytes -= e->len;
		r->cfg.payload_free(r->cfg.payload_ctx, (void *)e->data, e->len);
		e->data = NULL;
	}
}

void log_fini(struct aeg_raft *r)
{
	log_free_payloads(r, r->first, r->last);
	assert(r->arena != NULL || r->payload_bytes == 0);
	r->first = r->last + 1;
}

struct aeg_raft_entry *log_slot(const struct aeg_raft *r, uint64_t index)
{
	assert(index >= r->first && index <= r->last);
	return &r->ring[index & (r->cfg.log_entries_max - 1)];
}

static uint64_t *log_pos(const struct aeg_raft *r, uint64_t index)
{
	return &r->ring_pos[index & (r->cfg.log_entries_max - 1)];
}

bool log_term(const struct aeg_raft *r, uint64_t index, uint64_t *term)
{
	if (index == r->snap_index) {
		*term = r->snap_term;
		return true;
	}
	if (index < r->first || index > r->last)
		return false;
	*term = log_slot(r, index)->term;
	return true;
}

uint64_t log_last_term(const struct aeg_raft *r)
{
	uint64_t t = 0;
	bool ok = log_term(r, r->last, &t);
	assert(ok);
	(void)ok;
	return t;
}

bool log_match_term(const struct aeg_raft *r, uint64_t index, uint64_t term)
{
	uint64_t t;
	return log_term(r, index, &t) && t == term;
}

/* Copies a payload into the arena; NULL (-ENOBUFS) when it is full. */
static uint8_t *arena_put(struct aeg_raft *r, uint64_t index, const void *data, uint32_t len)
{
	uint64_t cap = r->cfg.log_bytes_max;
	uint64_t pos = r->arena_tail;
	if (len > 0 && pos % cap + len > cap)
		pos += cap - pos % cap;  /* skip the gap: payloads never wrap */
	if (pos + len - r->arena_head > cap)
		return NULL;
	*log_pos(r, index) = pos;
	r->arena_tail = pos + len;
	if (len == 0)
		return r->arena;  /* not NULL: an empty payload always fits */
	memcpy(r->arena + pos % cap, data, len);
	return r->arena + pos % cap;
}

/* Allocator mode: the caller's storage, within the log_bytes_max quota. */
static uint8_t *payload_put(struct aeg_raft *r, const void *data, uint32_t len)
{
	if (r->payload_bytes + len > r->cfg.log_bytes_max)
		return NULL;
	uint8_t *p = r->cfg.payload_alloc(r->cfg.payload_ctx, len);
	if (p == NULL)
		return NULL;
	memcpy(p, data, len);
	r->payload_bytes += len;
	return p;
}

int log_append(struct aeg_raft *r, uint64_t term, uint32_t type,
	       const void *data, uint32_t len)
{
	if (len > r->cfg.log_bytes_max)
		return -EMSGSIZE;
	if (r->last - r->first + 1 >= r->cfg.log_entries_max)
		return -ENOBUFS;
	uint64_t index = r->last + 1;
	uint8_t *p = NULL;
	if (r->arena != NULL)
		p = arena_put(r, index, data, len);
	else if (len > 0)
		p = payload_put(r, data, len);
	if (p == NULL && (r->arena != NULL || len > 0))
		return -ENOBUFS;
	r->last = index;
	struct aeg_raft_entry *e = log_slot(r, index);
	e->term = term;
	e->index = index;
	e->type = type;
	e->len = len;
	e->data = len > 0 ? p : NULL;
	if (type == AEG_RAFT_ENTRY_CONF)
		membership_on_append(r, e);  /* in force once in the log */
	return 0;
}

void log_truncate(struct aeg_raft *r, uint64_t index)
{
	assert(index > r->commit && index >= r->first);
	if (index > r->last)
		return;
	outbox_drop_appends(r);
	log_free_payloads(r, index, r->last);
	if (r->arena != NULL)
		r->arena_tail = *log_pos(r, index);
	r->last = index - 1;
	if (r->unstable > index)
		r->unstable = index;
	if (r->persisted >= index)
		r->persisted = index - 1;
	if (r->conf_index >= index)
		membership_rescan(r);  /* its config entry is gone */
}

void log_compact(struct aeg_raft *r, uint64_t index)
{
	assert(index <= r->last && index >= r->first);
	outbox_drop_appends(r);
	membership_conf_at(r, index, &r->base_conf);
	r->snap_term = log_slot(r, index)->term;
	log_free_payloads(r, r->first, index);
	r->snap_index = index;
	r->first = index + 1;
	if (r->arena != NULL)
		r->arena_head = r->first <= r->last ? *log_pos(r, r->first) : r->arena_tail;
}

void log_reset(struct aeg_raft *r, uint64_t index, uint64_t term)
{
	outbox_drop_appends(r);
	log_free_payloads(r, r->first, r->last);
	r->snap_index = index;
	r->snap_term = term;
	r->first = index + 1;
	r->last = index;
	r->arena_head = r->arena_tail;
	r->unstable = index + 1;
	r->persisted = index;
}

uint64_t log_find_conflict_by_term(const struct aeg_raft *r, uint64_t index, uint64_t term)
{
	if (index > r->last)
		index = r->last;
	for (;;) {
		uint64_t t;
		if (!log_term(r, index, &t))
			return index;  /* compacted: cannot look further back */
		if (t <= term || index == 0)
			return index;
		index--;
	}
}

bool log_up_to_date(const struct aeg_raft *r, uint64_t last_index, uint64_t last_term)
{
	uint64_t t = log_last_term(r);
	return last_term > t || (last_term == t && last_index >= r->last);
}

uint32_t log_batch(const struct aeg_raft *r, uint64_t from)
{
	if (from > r->last || from < r->first)
		return 0;
	uint64_t n = r->last - from + 1;
	uint64_t to_wrap = r->cfg.log_entries_max - (from & (r->cfg.log_entries_max - 1));
	if (n > to_wrap)
		n = to_wrap;
	if (n > r->cfg.batch_entries_max)
		n = r->cfg.batch_entries_max;
	uint64_t bytes = 0;
	for (uint64_t i = 0; i < n; i++) {
		bytes += log_slot(r, from + i)->len;
		if (bytes > r->cfg.batch_bytes_max && i > 0)
			return (uint32_t)i;
	}
	return (uint32_t)n;
}

const struct aeg_raft_entry *aeg_raft_entry_at(const struct aeg_raft *r, uint64_t index)
{
	if (index < r->first || index > r->last)
		return NULL;
	return log_slot(r, index);
}
