/* Reassembly of multi-part client values in fixed slots (rules and limits:
 * aegis/client_reasm.h). The uniform part layout makes every check O(1):
 * once L is known, a part's offset and length are determined by its index,
 * so an overlap is simply a part that is not where its index says. */
#include "aegis/client_reasm.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

struct client_reasm_slot {
	uint64_t a, b, meta;
	uint64_t last_ms; /* when the last part was accepted */
	uint32_t total, count, part_len;
	uint32_t received; /* distinct parts */
	bool used;
};

static size_t round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static bool cfg_ok(const struct aeg_client_reasm_cfg *c)
{
	return c->slots >= 1 && c->slots <= (1u << 16) && c->value_bytes_max >= 2 &&
	       c->value_bytes_max <= AEG_CLIENT_VALUE_BYTES_MAX && c->parts_max >= 2 &&
	       c->parts_max <= c->value_bytes_max;
}

size_t aeg_client_reasm_mem_bytes(const struct aeg_client_reasm_cfg *cfg)
{
	if (!cfg_ok(cfg))
		return 0;
	size_t words = (cfg->parts_max + 63) / 64;
	return cfg->slots * (round8(sizeof(struct client_reasm_slot)) + words * 8 +
			     round8(cfg->value_bytes_max));
}

int aeg_client_reasm_init(struct aeg_client_reasm *r, const struct aeg_client_reasm_cfg *cfg,
			  void *mem, size_t mem_len)
{
	size_t need = aeg_client_reasm_mem_bytes(cfg);
	if (need == 0 || mem == NULL || mem_len < need || ((uintptr_t)mem & 7) != 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	r->words_per_slot = (cfg->parts_max + 63) / 64;
	uint8_t *p = mem;
	r->slots = (struct client_reasm_slot *)p;
	p += cfg->slots * round8(sizeof(struct client_reasm_slot));
	r->bits = (uint64_t *)p;
	p += (size_t)cfg->slots * r->words_per_slot * 8;
	r->data = p;
	memset(r->slots, 0, cfg->slots * sizeof(struct client_reasm_slot));
	assert((size_t)(p - (uint8_t *)mem) + cfg->slots * round8(cfg->value_bytes_max) == need);
	return 0;
}

static uint64_t *slot_bits(struct aeg_client_reasm *r, const struct client_reasm_slot *s)
{
	return r->bits + (size_t)(s - r->slots) * r->words_per_slot;
}

static uint8_t *slot_data(struct aeg_client_reasm *r, const struct client_reasm_slot *s)
{
	return r->data + (size_t)(s - r->slots) * round8(r->cfg.value_bytes_max);
}

static void slot_free(struct aeg_client_reasm *r, struct client_reasm_slot *s)
{
	assert(s->used && r->used > 0);
	s->used = false;
	r->used--;
}

/* True if part index of len bytes at offset sits where the uniform layout
 * with part length L puts it. */
static bool on_layout(uint32_t total, uint32_t count, uint32_t L, uint32_t index,
		      uint32_t offset, uint32_t len)
{
	uint64_t want_off = (uint64_t)index * L;
	if (L == 0 || (uint64_t)(count - 1) * L >= total || (uint64_t)count * L < total)
		return false;
	uint64_t want_len = index == count - 1 ? total - want_off : L;
	return offset == want_off && len == want_len;
}

/* The part length a first part implies (0 if it implies none). */
static uint32_t layout_of(const struct aeg_client_part *p, uint32_t len)
{
	if (p->index < p->count - 1)
		return len;
	/* The last part: L from its offset (index >= 1 since count >= 2). */
	return p->offset % p->index == 0 ? p->offset / p->index : 0;
}

static struct client_reasm_slot *slot_find(struct aeg_client_reasm *r, uint64_t a, uint64_t b)
{
	for (uint32_t i = 0; i < r->cfg.slots; i++) {
		struct client_reasm_slot *s = &r->slots[i];
		if (s->used && s->a == a && s->b == b)
			return s;
	}
	return NULL;
}

/* A free slot, evicting the one with the oldest activity if none is. */
static struct client_reasm_slot *slot_take(struct aeg_client_reasm *r)
{
	struct client_reasm_slot *oldest = NULL;
	for (uint32_t i = 0; i < r->cfg.slots; i++) {
		struct client_reasm_slot *s = &r->slots[i];
		if (!s->used)
			return s;
		if (oldest == NULL || s->last_ms < oldest->last_ms)
			oldest = s;
	}
	assert(oldest != NULL && r->used == r->cfg.slots);
	slot_free(r, oldest);
	r->stats.evicted++;
	return oldest;
}

/* Checks a part that would open a new slot. 0 or a refusal. */
static int check_first(struct aeg_client_reasm *r, const struct aeg_client_part *p,
		       uint32_t len, uint32_t *L)
{
	if (p->total > r->cfg.value_bytes_max) {
		r->stats.too_large++;
		return -EMSGSIZE;
	}
	if (p->count > r->cfg.parts_max) {
		r->stats.too_many_parts++;
		return -E2BIG;
	}
	*L = layout_of(p, len);
	if (!on_layout(p->total, p->count, *L, p->index, p->offset, len)) {
		r->stats.overlaps++;
		return -EBADMSG;
	}
	return 0;
}

int aeg_client_reasm_add(struct aeg_client_reasm *r, uint64_t a, uint64_t b, uint64_t meta,
			 const struct aeg_client_part *p, const uint8_t *data, uint32_t value_len,
			 uint64_t now_ms, struct aeg_client_reasm_done *done)
{
	if (p->count < 2 || p->index >= p->count || p->offset > p->total ||
	    value_len > p->total - p->offset || (data == NULL && value_len != 0))
		return -EINVAL;
	struct client_reasm_slot *s = slot_find(r, a, b);
	if (s == NULL) {
		uint32_t L;
		int rc = check_first(r, p, value_len, &L);
		if (rc != 0)
			return rc;
		s = slot_take(r);
		*s = (struct client_reasm_slot){.a = a, .b = b, .meta = meta, .total = p->total,
			.count = p->count, .part_len = L, .used = true};
		memset(slot_bits(r, s), 0, r->words_per_slot * 8);
		r->used++;
	} else if (s->meta != meta || s->total != p->total || s->count != p->count) {
		r->stats.inconsistent++;
		return -EPROTO;
	} else if (!on_layout(s->total, s->count, s->part_len, p->index, p->offset, value_len)) {
		r->stats.overlaps++;
		return -EBADMSG;
	}
	uint64_t *bits = slot_bits(r, s);
	uint64_t bit = 1ull << (p->index % 64);
	if (bits[p->index / 64] & bit) {
		r->stats.duplicates++;
		return -EEXIST;
	}
	bits[p->index / 64] |= bit;
	assert((uint64_t)p->offset + value_len <= r->cfg.value_bytes_max);
	memcpy(slot_data(r, s) + p->offset, data, value_len);
	s->received++;
	s->last_ms = now_ms;
	r->stats.parts++;
	if (s->received < s->count)
		return 0;
	*done = (struct aeg_client_reasm_done){.a = s->a, .b = s->b, .meta = s->meta,
		.value = slot_data(r, s), .len = s->total};
	slot_free(r, s);
	r->stats.completed++;
	return 1;
}

uint32_t aeg_client_reasm_expire(struct aeg_client_reasm *r, uint64_t now_ms)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->cfg.slots && r->used > 0; i++) {
		struct client_reasm_slot *s = &r->slots[i];
		/* A clock that went back (now < last) is not an expiry. */
		if (s->used && now_ms >= s->last_ms && now_ms - s->last_ms >= r->cfg.timeout_ms) {
			slot_free(r, s);
			n++;
		}
	}
	r->stats.timed_out += n;
	return n;
}

int aeg_client_reasm_drop(struct aeg_client_reasm *r, uint64_t a, uint64_t b)
{
	struct client_reasm_slot *s = slot_find(r, a, b);
	if (s == NULL)
		return 0;
	slot_free(r, s);
	r->stats.dropped++;
	return 1;
}

uint32_t aeg_client_part_count(uint32_t total, uint32_t part_len)
{
	assert(part_len >= 1);
	if (total <= part_len)
		return 1;
	return (uint32_t)(((uint64_t)total + part_len - 1) / part_len);
}

struct aeg_client_part aeg_client_part_nth(uint32_t total, uint32_t part_len, uint32_t index,
					   uint32_t *len)
{
	uint32_t count = aeg_client_part_count(total, part_len);
	assert(index < count);
	uint64_t off = (uint64_t)index * part_len;
	uint64_t end = off + part_len < total ? off + part_len : total;
	*len = (uint32_t)(end - off);
	return (struct aeg_client_part){.index = index, .count = count, .total = total,
					.offset = (uint32_t)off};
}
