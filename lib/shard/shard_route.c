/* key -> shard for every strategy (aegis/shard.h), and the list strategy's
 * assignments: kept sorted by (key, exact before prefix) in one block, with
 * the distinct prefix lengths, longest first, so that a lookup is one binary
 * search for the exact key and one per prefix length. */
#include "aegis/hash.h"
#include "aegis/shard.h"
#include "shard/shard_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t by_hash(const struct aeg_shard_map *m, const void *key, size_t len)
{
	int32_t b = aeg_jump_hash(aeg_hash_key(key, len, 0), (int32_t)m->shard_count);
	assert(b >= 0 && (uint32_t)b < m->shard_count);
	return (uint32_t)b;
}

static uint32_t by_range(const struct aeg_shard_map *m, const void *key, size_t len)
{
	return m->range_shard[shard_range_find(m, key, len)];
}

/* Assignment order: key, then exact (0) before prefix (1). */
static int assign_cmp(const uint8_t *a, size_t alen, uint8_t aprefix, const uint8_t *b, size_t blen,
		      uint8_t bprefix)
{
	int c = aeg_key_cmp(a, alen, b, blen);
	return c != 0 ? c : (int)aprefix - (int)bprefix;
}

static int assign_find(const struct aeg_shard_map *m, const uint8_t *key, size_t len, uint8_t prefix)
{
	uint32_t lo = 0, hi = m->assign_count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct shard_assign *a = &m->assign[mid];
		int c = assign_cmp(m->assign_data + a->off, a->len, a->prefix, key, len, prefix);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static uint32_t by_list(const struct aeg_shard_map *m, const void *key, size_t len)
{
	int i = assign_find(m, key, len, 0);
	if (i >= 0)
		return m->assign[i].shard;
	for (uint32_t k = 0; k < m->n_plens; k++) {
		if (m->plens[k] > len)
			continue;
		i = assign_find(m, key, m->plens[k], 1);
		if (i >= 0)
			return m->assign[i].shard;
	}
	return by_hash(m, key, len);
}

/* Leading decimal digits (no leading zero unless "0"), at most 19 of them;
 * *n how many; false when there are none or too many. */
static bool leading_number(const uint8_t *k, size_t len, uint64_t *v, size_t *n)
{
	size_t i = 0;
	uint64_t x = 0;
	while (i < len && i < 20 && k[i] >= '0' && k[i] <= '9')
		x = x * 10 + (uint64_t)(k[i++] - '0');
	if (i == 0 || i > 19 || (i < len && k[i] >= '0' && k[i] <= '9') || (k[0] == '0' && i > 1))
		return false;
	*v = x;
	*n = i;
	return true;
}

static uint32_t by_round_robin(const struct aeg_shard_map *m, const void *key, size_t len)
{
	uint64_t s;
	size_t n;
	const uint8_t *k = key;
	if (leading_number(k, len, &s, &n) && n < len && k[n] == '/' && s < m->shard_count)
		return (uint32_t)s;
	return by_hash(m, key, len);
}

static uint32_t by_time(const struct aeg_shard_map *m, const void *key, size_t len)
{
	uint64_t t;
	size_t n;
	if (leading_number(key, len, &t, &n))
		return (uint32_t)((t / m->time_bucket) % m->shard_count);
	return by_hash(m, key, len);
}

uint32_t aeg_shard_for_key(const struct aeg_shard_map *m, const void *key, size_t len)
{
	switch (m->strategy) {
	case AEG_SHARD_RANGE: return by_range(m, key, len);
	case AEG_SHARD_LIST: return by_list(m, key, len);
	case AEG_SHARD_ROUND_ROBIN: return by_round_robin(m, key, len);
	case AEG_SHARD_TIME: return by_time(m, key, len);
	case AEG_SHARD_HASH: break;
	}
	return by_hash(m, key, len);
}

/* ---- the list's assignments ------------------------------------------------ */

static int cmp_params(const void *x, const void *y)
{
	const struct aeg_shard_assign *a = x, *b = y;
	return assign_cmp(a->key, a->len, a->prefix, b->key, b->len, b->prefix);
}

int shard_assign_set(struct aeg_shard_map *m, const struct aeg_shard_assign *in, uint32_t n)
{
	if (n > AEG_SHARD_ASSIGN_MAX || (n > 0 && in == NULL))
		return -EINVAL;
	size_t bytes = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (in[i].len == 0 || in[i].len > AEG_SHARD_SPLIT_BYTES_MAX || in[i].key == NULL ||
		    in[i].shard >= m->shard_count)
			return -EINVAL;
		bytes += in[i].len;
	}
	struct aeg_shard_assign *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	m->assign = calloc(n ? n : 1, sizeof(*m->assign));
	m->assign_data = malloc(bytes ? bytes : 1);
	m->plens = calloc(n ? n : 1, sizeof(*m->plens));
	if (sorted == NULL || m->assign == NULL || m->assign_data == NULL || m->plens == NULL) {
		free(sorted);
		return -ENOMEM;
	}
	memcpy(sorted, in, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_params);
	size_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i > 0 && cmp_params(&sorted[i - 1], &sorted[i]) == 0) {
			free(sorted);
			return -EINVAL; /* the same key twice */
		}
		m->assign[i] = (struct shard_assign){ .off = (uint32_t)off, .len = sorted[i].len,
						      .shard = sorted[i].shard, .prefix = sorted[i].prefix };
		memcpy(m->assign_data + off, sorted[i].key, sorted[i].len);
		off += sorted[i].len;
		if (!sorted[i].prefix)
			continue;
		uint32_t k = 0;
		while (k < m->n_plens && m->plens[k] > sorted[i].len)
			k++;
		if (k < m->n_plens && m->plens[k] == sorted[i].len)
			continue;
		memmove(&m->plens[k + 1], &m->plens[k], (m->n_plens - k) * sizeof(*m->plens));
		m->plens[k] = sorted[i].len;
		m->n_plens++;
	}
	m->assign_count = n;
	m->assign_bytes = (uint32_t)off;
	free(sorted);
	return 0;
}

int shard_assign_copy(struct aeg_shard_map *to, const struct aeg_shard_map *from)
{
	to->time_bucket = from->time_bucket;
	if (from->strategy != AEG_SHARD_LIST)
		return 0;
	struct aeg_shard_assign *v = malloc((from->assign_count ? from->assign_count : 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < from->assign_count; i++)
		(void)aeg_shard_map_assign(from, i, &v[i]);
	int rc = shard_assign_set(to, v, from->assign_count);
	free(v);
	return rc;
}

void shard_assign_free(struct aeg_shard_map *m)
{
	free(m->assign);
	free(m->assign_data);
	free(m->plens);
}

int aeg_shard_map_assign(const struct aeg_shard_map *m, uint32_t i, struct aeg_shard_assign *a)
{
	if (m->strategy != AEG_SHARD_LIST || i >= m->assign_count)
		return -EINVAL;
	const struct shard_assign *s = &m->assign[i];
	*a = (struct aeg_shard_assign){ .key = m->assign_data + s->off, .len = s->len, .shard = s->shard,
					.prefix = s->prefix != 0 };
	return 0;
}

uint32_t aeg_shard_map_assign_count(const struct aeg_shard_map *m)
{
	return m->strategy == AEG_SHARD_LIST ? m->assign_count : 0;
}

uint64_t aeg_shard_map_time_bucket(const struct aeg_shard_map *m)
{
	return m->strategy == AEG_SHARD_TIME ? m->time_bucket : 0;
}
