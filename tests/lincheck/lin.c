/* Linearizability checker: Wing & Gong's search with Lowe's memoization
 * (the algorithm behind Knossos' "wgl" and Porcupine), on one key at a time
 * (a register: put(v) sets it, get must return the current value; absent
 * keys read 0). Operations without an answer may have happened at any time
 * after their call, or never: their return is at +infinity. Gets without
 * an answer tell nothing and are left out. Used by the simulator and by
 * aegis-lincheck on histories recorded against a real cluster. */
#include "lin.h"

#include <stdlib.h>
#include <string.h>

#define LIN_WORDS (LIN_OPS_MAX / 64)
#define LIN_CACHE_BITS 20  /* at most 2^20 (set, value) pairs remembered */

struct lin_ev {
	uint32_t op;       /* local op index */
	bool call;
	uint64_t t;
	struct lin_ev *prev, *next, *match;
};

struct lin_cache_slot {
	uint64_t bits[LIN_WORDS];
	uint64_t state;
	bool used;
};

struct lin_frame {
	struct lin_ev *ev;
	uint64_t state;
};

static int ev_cmp(const void *a, const void *b)
{
	const struct lin_ev *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->call != y->call)
		return x->call ? -1 : 1;  /* touching intervals overlap */
	return x->op < y->op ? -1 : x->op > y->op;
}

static uint64_t slot_hash(const uint64_t *bits, uint64_t state)
{
	uint64_t h = state * 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < LIN_WORDS; i++)
		h = (h ^ bits[i]) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

struct lin_cache {
	struct lin_cache_slot *slots;
	uint64_t mask, used;
};

static int cache_insert(struct lin_cache *c, const uint64_t *bits, uint64_t state);

/* Doubles the table (up to 2^LIN_CACHE_BITS slots); -1 when at the cap. */
static int cache_grow(struct lin_cache *c)
{
	uint64_t n = (c->mask + 1) * 2;
	if (n > (1u << LIN_CACHE_BITS))
		return -1;
	struct lin_cache old = *c;
	c->slots = calloc(n, sizeof(*c->slots));
	if (c->slots == NULL) {
		*c = old;
		return -1;
	}
	c->mask = n - 1;
	c->used = 0;
	for (uint64_t i = 0; i <= old.mask; i++)
		if (old.slots[i].used)
			cache_insert(c, old.slots[i].bits, old.slots[i].state);
	free(old.slots);
	return 0;
}

/* Returns 1 if inserted, 0 if present, -1 if the cache is full. */
static int cache_insert(struct lin_cache *c, const uint64_t *bits, uint64_t state)
{
	if (c->used * 4 >= c->mask * 3 && cache_grow(c) != 0)
		return -1;
	for (uint64_t i = slot_hash(bits, state) & c->mask;; i = (i + 1) & c->mask) {
		struct lin_cache_slot *sl = &c->slots[i];
		if (!sl->used) {
			memcpy(sl->bits, bits, sizeof(sl->bits));
			sl->state = state;
			sl->used = true;
			c->used++;
			return 1;
		}
		if (sl->state == state && memcmp(sl->bits, bits, sizeof(sl->bits)) == 0)
			return 0;
	}
}

static void lift(struct lin_ev *call)
{
	call->prev->next = call->next;
	if (call->next != NULL)
		call->next->prev = call->prev;
	struct lin_ev *ret = call->match;
	ret->prev->next = ret->next;
	if (ret->next != NULL)
		ret->next->prev = ret->prev;
}

static void unlift(struct lin_ev *call)
{
	struct lin_ev *ret = call->match;
	ret->prev->next = ret;
	if (ret->next != NULL)
		ret->next->prev = ret;
	call->prev->next = call;
	if (call->next != NULL)
		call->next->prev = call;
}

static int search(struct lin_ev *head, const struct lin_op **ops, uint64_t max_steps,
		  uint64_t *steps, struct lin_cache *cache, struct lin_frame *stack)
{
	uint64_t bits[LIN_WORDS] = { 0 };
	uint64_t state = 0;
	uint32_t sp = 0;
	struct lin_ev *e = head->next;
	while (head->next != NULL) {
		if (++*steps > max_steps)
			return -1;
		if (e != NULL && e->call) {
			const struct lin_op *op = ops[e->op];
			bool ok = op->put || op->value == state;
			uint64_t next_state = op->put ? op->value : state;
			if (ok) {
				bits[e->op / 64] |= 1ull << (e->op % 64);
				int ins = cache_insert(cache, bits, next_state);
				if (ins < 0)
					return -1;
				if (ins == 1) {
					stack[sp].ev = e;
					stack[sp].state = state;
					sp++;
					state = next_state;
					lift(e);
					e = head->next;
					continue;
				}
				bits[e->op / 64] &= ~(1ull << (e->op % 64));
			}
			e = e->next;
		} else {
			if (sp == 0)
				return 0;
			sp--;
			e = stack[sp].ev;
			state = stack[sp].state;
			bits[e->op / 64] &= ~(1ull << (e->op % 64));
			unlift(e);
			e = e->next;
		}
	}
	return 1;
}

int lin_check(const struct lin_op *all, uint32_t n_all, uint64_t key, uint64_t max_steps,
	      uint64_t *steps)
{
	const struct lin_op *ops[LIN_OPS_MAX];
	uint32_t n = 0;
	for (uint32_t i = 0; i < n_all; i++) {
		const struct lin_op *op = &all[i];
		if (op->key != key || (!op->put && op->return_t == UINT64_MAX))
			continue;
		if (n == LIN_OPS_MAX)
			return -1;
		ops[n++] = op;
	}
	if (n == 0)
		return 1;
	struct lin_ev *evs = calloc(2 * n + 1, sizeof(*evs));
	struct lin_cache cache = { .slots = calloc(1024, sizeof(*cache.slots)), .mask = 1023 };
	struct lin_frame *stack = calloc(n, sizeof(*stack));
	if (evs == NULL || cache.slots == NULL || stack == NULL) {
		free(evs);
		free(cache.slots);
		free(stack);
		return -1;
	}
	struct lin_ev *list = evs + 1;
	for (uint32_t i = 0; i < n; i++) {
		list[2 * i] = (struct lin_ev){ .op = i, .call = true, .t = ops[i]->invoke_t };
		list[2 * i + 1] = (struct lin_ev){ .op = i, .call = false, .t = ops[i]->return_t };
	}
	qsort(list, 2 * n, sizeof(*list), ev_cmp);
	struct lin_ev *calls[LIN_OPS_MAX];
	for (uint32_t i = 0; i < 2 * n; i++)
		if (list[i].call)
			calls[list[i].op] = &list[i];
	for (uint32_t i = 0; i < 2 * n; i++)
		if (!list[i].call) {
			calls[list[i].op]->match = &list[i];
			list[i].match = calls[list[i].op];
		}
	struct lin_ev *head = &evs[0];
	struct lin_ev *prev = head;
	for (uint32_t i = 0; i < 2 * n; i++) {
		prev->next = &list[i];
		list[i].prev = prev;
		prev = &list[i];
	}
	prev->next = NULL;
	int rc = search(head, ops, max_steps, steps, &cache, stack);
	free(evs);
	free(cache.slots);
	free(stack);
	return rc;
}
