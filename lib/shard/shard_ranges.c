/* Range maps' table (aegis/shard.h): ranges in key order, each on a shard,
 * bounded below by the previous range's end; shards without a range are
 * spare (inactive, no key routes to them) until a split gives them one.
 * Also the table's own codec, for the meta record a split writes. */
#include "aegis/shard.h"
#include "shard/shard_int.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/hash.h"
#include "common/codec.h"

void shard_ranges_free(struct aeg_shard_map *m)
{
	free(m->range_shard);
	free(m->range_of);
	free(m->bound_off);
	free(m->bound_data);
	m->range_shard = m->range_of = m->bound_off = NULL;
	m->bound_data = NULL;
	m->n_ranges = 0;
}

int shard_ranges_set(struct aeg_shard_map *m, const struct aeg_shard_range *r, uint32_t n)
{
	if (n == 0 || n > m->shard_count || r == NULL || r[0].lo_len != 0)
		return -EINVAL;
	size_t bytes = 0;
	for (uint32_t k = 0; k < n; k++) {
		if (r[k].shard >= m->shard_count)
			return -EINVAL;
		if (k > 0 && (r[k].lo_len == 0 || r[k].lo_len > AEG_SHARD_SPLIT_BYTES_MAX || r[k].lo == NULL ||
			      (k > 1 && aeg_key_cmp(r[k - 1].lo, r[k - 1].lo_len, r[k].lo, r[k].lo_len) >= 0)))
			return -EINVAL;
		bytes += r[k].lo_len;
	}
	shard_ranges_free(m);
	m->range_shard = malloc(n * sizeof(*m->range_shard));
	m->range_of = malloc(m->shard_count * sizeof(*m->range_of));
	m->bound_off = malloc((n + 1) * sizeof(*m->bound_off));
	m->bound_data = malloc(bytes ? bytes : 1);
	if (m->range_shard == NULL || m->range_of == NULL || m->bound_off == NULL || m->bound_data == NULL) {
		shard_ranges_free(m);
		return -ENOMEM;
	}
	for (uint32_t s = 0; s < m->shard_count; s++)
		m->range_of[s] = UINT32_MAX;
	size_t off = 0;
	for (uint32_t k = 0; k < n; k++) {
		if (m->range_of[r[k].shard] != UINT32_MAX) {
			shard_ranges_free(m);
			return -EINVAL; /* a shard twice */
		}
		m->range_of[r[k].shard] = k;
		m->range_shard[k] = r[k].shard;
		m->bound_off[k] = (uint32_t)off;
		if (r[k].lo_len != 0)
			memcpy(m->bound_data + off, r[k].lo, r[k].lo_len);
		off += r[k].lo_len;
	}
	m->bound_off[n] = (uint32_t)off;
	m->n_ranges = n;
	return 0;
}

int shard_ranges_copy(struct aeg_shard_map *to, const struct aeg_shard_map *from)
{
	if (from->strategy != AEG_SHARD_RANGE)
		return 0;
	struct aeg_shard_range *r = malloc(from->n_ranges * sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < from->n_ranges; k++)
		(void)aeg_shard_map_range(from, k, &r[k], NULL, NULL);
	int rc = shard_ranges_set(to, r, from->n_ranges);
	free(r);
	return rc;
}

uint32_t shard_range_find(const struct aeg_shard_map *m, const void *key, size_t len)
{
	/* The last range whose lower bound is <= key (range 0's is -inf). */
	uint32_t lo = 1, hi = m->n_ranges;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t off = m->bound_off[mid], blen = m->bound_off[mid + 1] - off;
		if (aeg_key_cmp(m->bound_data + off, blen, key, len) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	assert(lo >= 1 && lo <= m->n_ranges);
	return lo - 1;
}

uint32_t aeg_shard_map_range_count(const struct aeg_shard_map *m)
{
	return m->strategy == AEG_SHARD_RANGE ? m->n_ranges : 0;
}

int aeg_shard_map_range(const struct aeg_shard_map *m, uint32_t k, struct aeg_shard_range *r, const void **hi,
			uint32_t *hi_len)
{
	if (m->strategy != AEG_SHARD_RANGE || k >= m->n_ranges)
		return -EINVAL;
	*r = (struct aeg_shard_range){ .shard = m->range_shard[k], .lo = m->bound_data + m->bound_off[k],
				       .lo_len = m->bound_off[k + 1] - m->bound_off[k] };
	if (hi != NULL) {
		bool last = k + 1 == m->n_ranges;
		*hi = last ? NULL : m->bound_data + m->bound_off[k + 1];
		*hi_len = last ? 0 : m->bound_off[k + 2] - m->bound_off[k + 1];
	}
	return 0;
}

uint32_t aeg_shard_map_range_index(const struct aeg_shard_map *m, uint32_t shard)
{
	if (m->strategy != AEG_SHARD_RANGE || shard >= m->shard_count)
		return UINT32_MAX;
	return m->range_of[shard];
}

bool aeg_shard_map_active(const struct aeg_shard_map *m, uint32_t shard)
{
	if (shard >= m->shard_count)
		return false;
	return m->strategy != AEG_SHARD_RANGE || m->range_of[shard] != UINT32_MAX;
}

int aeg_shard_map_ranged(struct aeg_shard_map **out, const struct aeg_shard_map *m, uint64_t epoch,
			 const struct aeg_shard_range *r, uint32_t n)
{
	*out = NULL;
	if (m->strategy != AEG_SHARD_RANGE)
		return -EINVAL;
	struct aeg_shard_map *c;
	/* The same nodes and placement: a copy with no joined nodes added. */
	int rc = aeg_shard_map_placed(&c, m, epoch, m->replicas, NULL, 0);
	if (rc != 0)
		return rc;
	rc = shard_ranges_set(c, r, n);
	if (rc != 0) {
		aeg_shard_map_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int aeg_shard_ranges_split(const struct aeg_shard_range *r, uint32_t n, uint32_t from, uint32_t to,
			   const void *key, uint32_t key_len, struct aeg_shard_range *out, uint32_t max)
{
	if (key == NULL || key_len == 0 || key_len > AEG_SHARD_SPLIT_BYTES_MAX || from == to || n == 0)
		return -EINVAL;
	uint32_t at = UINT32_MAX;
	for (uint32_t k = 0; k < n; k++) {
		if (r[k].shard == to) {
			bool done = k > 0 && r[k - 1].shard == from &&
				    aeg_key_cmp(r[k].lo, r[k].lo_len, key, key_len) == 0;
			return done ? -EALREADY : -EINVAL;
		}
		if (r[k].shard == from)
			at = k;
	}
	if (at == UINT32_MAX || max < n + 1)
		return -EINVAL;
	/* Strictly inside [lo, hi): both parts keep at least one key. */
	if (at > 0 && aeg_key_cmp(r[at].lo, r[at].lo_len, key, key_len) >= 0)
		return -EINVAL;
	if (at + 1 < n && aeg_key_cmp(key, key_len, r[at + 1].lo, r[at + 1].lo_len) >= 0)
		return -EINVAL;
	for (uint32_t k = 0, o = 0; k < n; k++) {
		out[o++] = r[k];
		if (k == at)
			out[o++] = (struct aeg_shard_range){ .shard = to, .lo = key, .lo_len = key_len };
	}
	return 0;
}

int aeg_shard_ranges_merge(const struct aeg_shard_range *r, uint32_t n, uint32_t gone, uint32_t *into,
			   struct aeg_shard_range *out, uint32_t max)
{
	*into = 0;
	uint32_t at = UINT32_MAX;
	for (uint32_t k = 0; k < n; k++)
		if (r[k].shard == gone)
			at = k;
	if (at == UINT32_MAX)
		return -EALREADY;
	if (at == 0 || max + 1 < n)
		return -EINVAL;
	*into = r[at - 1].shard;
	for (uint32_t k = 0, o = 0; k < n; k++)
		if (k != at)
			out[o++] = r[k];
	return 0;
}

uint64_t aeg_shard_range_hash(uint32_t shard, const void *lo, uint32_t lo_len, const void *hi, uint32_t hi_len)
{
	/* Length-prefixed so that no two (lo, hi) pairs share the bytes. */
	uint64_t h = aeg_hash_key(lo_len ? lo : "", lo_len, 0x6c6f00000000ull | shard);
	return aeg_hash_key(hi ? hi : "", hi ? hi_len : 0, h ^ (hi ? 0x6869ull : 0x696e66ull));
}

uint64_t aeg_shard_ranges_hash_of(const struct aeg_shard_range *r, uint32_t n, uint32_t k)
{
	assert(k < n);
	bool last = k + 1 == n;
	return aeg_shard_range_hash(r[k].shard, r[k].lo, r[k].lo_len, last ? NULL : r[k + 1].lo,
				    last ? 0 : r[k + 1].lo_len);
}

uint32_t aeg_shard_map_ranges(const struct aeg_shard_map *m, struct aeg_shard_range *r, uint32_t max)
{
	uint32_t n = aeg_shard_map_range_count(m);
	if (n > max)
		return 0;
	for (uint32_t k = 0; k < n; k++)
		(void)aeg_shard_map_range(m, k, &r[k], NULL, NULL);
	return n;
}

/* ---- the table's codec: varint n, then per range varint shard, and from
 * the second one varint len + bytes of its lower bound ---------------------- */

size_t aeg_shard_ranges_size(const struct aeg_shard_range *r, uint32_t n)
{
	size_t s = aeg_varint_size(n);
	for (uint32_t k = 0; k < n; k++)
		s += aeg_varint_size(r[k].shard) + (k > 0 ? aeg_varint_size(r[k].lo_len) + r[k].lo_len : 0);
	return s;
}

int aeg_shard_ranges_encode(const struct aeg_shard_range *r, uint32_t n, uint8_t *buf, size_t cap)
{
	size_t size = aeg_shard_ranges_size(r, n);
	if (size > cap || size > INT_MAX)
		return -EMSGSIZE;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_varint(&w, n);
	for (uint32_t k = 0; k < n; k++) {
		aeg_put_varint(&w, r[k].shard);
		if (k > 0) {
			aeg_put_varint(&w, r[k].lo_len);
			aeg_put_bytes(&w, r[k].lo, r[k].lo_len);
		}
	}
	assert(!w.error && w.len == size);
	return (int)size;
}

int aeg_shard_ranges_decode(const uint8_t *buf, size_t len, struct aeg_shard_range *r, uint32_t max, uint32_t *n)
{
	struct aeg_reader rd;
	aeg_reader_init(&rd, buf, len);
	uint32_t count = aeg_get_varint32(&rd);
	if (rd.error || count == 0 || count > max)
		return -EINVAL;
	for (uint32_t k = 0; k < count; k++) {
		r[k] = (struct aeg_shard_range){ .shard = aeg_get_varint32(&rd) };
		if (k > 0) {
			r[k].lo_len = aeg_get_varint32(&rd);
			if (rd.error || r[k].lo_len == 0 || r[k].lo_len > aeg_reader_left(&rd))
				return -EINVAL;
			r[k].lo = aeg_get_bytes(&rd, r[k].lo_len);
		}
		if (rd.error)
			return -EINVAL;
	}
	if (aeg_reader_left(&rd) != 0)
		return -EINVAL;
	*n = count;
	return 0;
}
