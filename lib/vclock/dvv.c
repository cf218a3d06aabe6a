/* Dotted version vectors (Preguiça et al., "Dotted Version Vectors:
 * Logical Clocks for Optimistic Replication", 2010).
 *
 * A version carries the context it was written with (`past`) plus its own
 * event (`dot`). Two writes with the same context get different dots and so
 * stay concurrent, where plain version vectors would wrongly order them.
 * Invariant: either no dot (node 0, counter 0) or dot.counter >
 * past[dot.node]: a version's own event is never in its own past.
 *
 * Binary form: varint dot node, varint dot counter, then the vector clock
 * form of `past` (vclock_codec.c). */
#include "order.h"
#include "vclock_codec.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>

void aeg_dvv_init(struct aeg_dvv *d)
{
	d->dot = (struct aeg_dot){ 0, 0 };
	aeg_vclock_init(&d->past);
}

bool aeg_dvv_valid(const struct aeg_dvv *d)
{
	if (!aeg_vclock_valid(&d->past))
		return false;
	if (d->dot.counter == 0)
		return d->dot.node == 0;
	return !aeg_dot_in(&d->dot, &d->past);
}

bool aeg_dot_in(const struct aeg_dot *dot, const struct aeg_vclock *vc)
{
	return aeg_vclock_get(vc, dot->node) >= dot->counter;
}

int aeg_dvv_event(struct aeg_dvv *out, struct aeg_vclock *node_clock,
		  const struct aeg_vclock *ctx, uint32_t node)
{
	struct aeg_vclock clock = *node_clock;
	uint64_t counter;

	/* The new dot must lie past both what this replica issued and what the
	 * client saw, or it could collide with an existing event. */
	int rc = aeg_vclock_merge(&clock, ctx);
	if (rc == 0)
		rc = aeg_vclock_increment(&clock, node, &counter);
	if (rc != 0)
		return rc;
	if (&out->past != ctx)
		out->past = *ctx;
	out->dot = (struct aeg_dot){ node, counter };
	*node_clock = clock;
	assert(aeg_dvv_valid(out));
	return 0;
}

/* Length of the contiguous run of d's events of `node` starting at 1. */
static uint64_t dvv_prefix(const struct aeg_dvv *d, uint32_t node)
{
	uint64_t p = aeg_vclock_get(&d->past, node);

	if (d->dot.counter != 0 && d->dot.node == node && d->dot.counter == p + 1)
		return p + 1;
	return p;
}

/* Every event of a is an event of b. */
static bool dvv_events_in(const struct aeg_dvv *a, const struct aeg_dvv *b)
{
	const struct aeg_dot *dot = &a->dot;

	if (dot->counter != 0 && dot->counter > dvv_prefix(b, dot->node) &&
	    !(dot->node == b->dot.node && dot->counter == b->dot.counter))
		return false;
	for (uint32_t i = 0; i < a->past.len; i++) {
		const struct aeg_vclock_entry *e = &a->past.entries[i];
		if (e->counter > dvv_prefix(b, e->node))
			return false;
	}
	return true;
}

enum aeg_order aeg_dvv_compare(const struct aeg_dvv *a, const struct aeg_dvv *b)
{
	return aeg_order_of(dvv_events_in(a, b), dvv_events_in(b, a));
}

int aeg_dvv_join(const struct aeg_dvv *d, struct aeg_vclock *out)
{
	if (&d->past != out)
		*out = d->past;
	if (d->dot.counter == 0 || aeg_dot_in(&d->dot, out))
		return 0;
	return aeg_vclock_set(out, d->dot.node, d->dot.counter);
}

size_t aeg_dvv_encoded_size(const struct aeg_dvv *d)
{
	return aeg_varint_size(d->dot.node) + aeg_varint_size(d->dot.counter) +
	       aeg_vclock_encoded_size(&d->past);
}

int aeg_dvv_encode(const struct aeg_dvv *d, uint8_t *buf, size_t cap)
{
	struct aeg_writer w;

	assert(aeg_dvv_valid(d));
	aeg_writer_init(&w, buf, cap);
	aeg_put_varint(&w, d->dot.node);
	aeg_put_varint(&w, d->dot.counter);
	aeg_vclock_write(&w, &d->past);
	if (w.error)
		return -ENOBUFS;
	assert(w.len == aeg_dvv_encoded_size(d) && w.len <= INT_MAX);
	return (int)w.len;
}

static int dvv_get(struct aeg_reader *r, struct aeg_dvv *d)
{
	uint64_t node, counter;
	int rc = aeg_vclock_read_varint(r, &node);

	if (rc == 0)
		rc = aeg_vclock_read_varint(r, &counter);
	if (rc != 0)
		return rc;
	if (node > UINT32_MAX || (counter == 0 && node != 0))
		return -EINVAL;
	d->dot = (struct aeg_dot){ (uint32_t)node, counter };
	rc = aeg_vclock_read(r, &d->past);
	if (rc != 0)
		return rc;
	return aeg_dvv_valid(d) ? 0 : -EINVAL;
}

int aeg_dvv_decode(struct aeg_dvv *d, const uint8_t *buf, size_t len)
{
	struct aeg_reader r;

	aeg_reader_init(&r, buf, len);
	int rc = dvv_get(&r, d);
	if (rc != 0) {
		aeg_dvv_init(d);
		return rc;
	}
	assert(r.pos <= INT_MAX);
	return (int)r.pos;
}
