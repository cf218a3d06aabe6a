/* OR-Set causal context: a version vector plus a small sorted dot cloud,
 * kept compact (a dot that extends the vector is folded into it at once). */
#include "orset_internal.h"

void aeg_orset_ctx_init(struct aeg_orset_ctx *c)
{
	aeg_vclock_init(&c->vv);
	c->cloud_len = 0;
}

int aeg_dot_cmp(const struct aeg_dot *a, const struct aeg_dot *b)
{
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->counter != b->counter)
		return a->counter < b->counter ? -1 : 1;
	return 0;
}

/* Lower bound of dot in the cloud. */
static uint32_t cloud_search(const struct aeg_orset_ctx *c, const struct aeg_dot *dot)
{
	uint32_t lo = 0, hi = c->cloud_len;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (aeg_dot_cmp(&c->cloud[mid], dot) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool aeg_orset_ctx_covers(const struct aeg_orset_ctx *c, const struct aeg_dot *dot)
{
	if (dot->counter <= aeg_vclock_get(&c->vv, dot->node))
		return true;
	uint32_t i = cloud_search(c, dot);
	return i < c->cloud_len && aeg_dot_cmp(&c->cloud[i], dot) == 0;
}

/* Drops cloud dots the vector covers and folds those that extend it. The
 * cloud is sorted by counter within a node, so one pass folds runs. */
static int compact(struct aeg_orset_ctx *c)
{
	uint32_t w = 0;
	for (uint32_t i = 0; i < c->cloud_len; i++) {
		struct aeg_dot d = c->cloud[i];
		uint64_t v = aeg_vclock_get(&c->vv, d.node);
		if (d.counter == v + 1) {
			int err = aeg_vclock_set(&c->vv, d.node, d.counter);
			if (err < 0)
				return err;
		} else if (d.counter > v) {
			c->cloud[w++] = d;
		}
	}
	c->cloud_len = w;
	return 0;
}

/* Atomic: on error c is unchanged. */
int aeg_orset_ctx_add(struct aeg_orset_ctx *c, const struct aeg_dot *dot)
{
	if (dot->counter == 0)
		return -EINVAL;
	uint64_t v = aeg_vclock_get(&c->vv, dot->node);
	if (dot->counter <= v)
		return 0;
	if (dot->counter == v + 1) {
		/* Fails without change; compacting then only touches a node
		 * already in the vector, which cannot fail. */
		int err = aeg_vclock_set(&c->vv, dot->node, dot->counter);
		if (err < 0)
			return err;
		err = compact(c);
		assert(err == 0);
		return err;
	}
	uint32_t i = cloud_search(c, dot);
	if (i < c->cloud_len && aeg_dot_cmp(&c->cloud[i], dot) == 0)
		return 0;
	if (c->cloud_len == AEG_ORSET_CLOUD_MAX)
		return -ENOSPC;
	memmove(&c->cloud[i + 1], &c->cloud[i], (c->cloud_len - i) * sizeof(c->cloud[0]));
	c->cloud[i] = *dot;
	c->cloud_len++;
	return 0;
}

int aeg_orset_ctx_merge(struct aeg_orset_ctx *c, const struct aeg_orset_ctx *src)
{
	struct aeg_orset_ctx tmp = *c;
	int err = aeg_vclock_merge(&tmp.vv, &src->vv);
	if (err == 0)
		err = compact(&tmp);
	for (uint32_t i = 0; err == 0 && i < src->cloud_len; i++)
		err = aeg_orset_ctx_add(&tmp, &src->cloud[i]);
	if (err < 0)
		return err;
	*c = tmp;
	return 0;
}

bool aeg_orset_ctx_equal(const struct aeg_orset_ctx *a, const struct aeg_orset_ctx *b)
{
	if (!aeg_vclock_equal(&a->vv, &b->vv) || a->cloud_len != b->cloud_len)
		return false;
	for (uint32_t i = 0; i < a->cloud_len; i++)
		if (aeg_dot_cmp(&a->cloud[i], &b->cloud[i]) != 0)
			return false;
	return true;
}

/* Encoding: the version vector in aeg_vclock_encode's form, then a varint
 * dot count and per dot varint node, varint counter. */
size_t aeg_orset_ctx_encoded_size(const struct aeg_orset_ctx *c)
{
	size_t n = aeg_vclock_encoded_size(&c->vv) + aeg_varint_size(c->cloud_len);
	for (uint32_t i = 0; i < c->cloud_len; i++)
		n += aeg_varint_size(c->cloud[i].node) + aeg_varint_size(c->cloud[i].counter);
	return n;
}

void aeg_orset_ctx_put(struct aeg_writer *w, const struct aeg_orset_ctx *c)
{
	if (!w->error) {
		int n = aeg_vclock_encode(&c->vv, w->buf + w->len, w->cap - w->len);
		if (n < 0)
			w->error = true;
		else
			w->len += (size_t)n;
	}
	aeg_put_varint(w, c->cloud_len);
	for (uint32_t i = 0; i < c->cloud_len; i++) {
		aeg_put_varint(w, c->cloud[i].node);
		aeg_put_varint(w, c->cloud[i].counter);
	}
}

int aeg_orset_ctx_get(struct aeg_reader *r, struct aeg_orset_ctx *c)
{
	aeg_orset_ctx_init(c);
	int n = aeg_vclock_decode(&c->vv, r->buf + r->pos, aeg_reader_left(r));
	if (n < 0)
		return n == -ENOSPC ? -EINVAL : n;
	r->pos += (size_t)n;
	uint64_t count = aeg_get_varint(r);
	if (r->error)
		return aeg_codec_error(r);
	if (count > AEG_ORSET_CLOUD_MAX)
		return -ENOSPC;
	for (uint32_t i = 0; i < count; i++) {
		struct aeg_dot d;
		d.node = aeg_get_varint32(r);
		d.counter = aeg_get_varint(r);
		if (r->error)
			return aeg_codec_error(r);
		/* Canonical: sorted, and neither covered by nor extending vv. */
		uint64_t v = aeg_vclock_get(&c->vv, d.node);
		if (d.counter <= v || d.counter == v + 1 ||
		    (i > 0 && aeg_dot_cmp(&c->cloud[i - 1], &d) >= 0))
			return -EINVAL;
		c->cloud[c->cloud_len++] = d;
	}
	return 0;
}
