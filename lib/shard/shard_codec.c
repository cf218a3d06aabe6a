/* The shard map's wire form (layout in aegis/shard.h): what a client
 * fetches from any node. Decode trusts nothing: counts are checked against
 * the bytes left before anything is allocated, every rule of build is
 * checked again, and the CRC32C covers the rest. */
#include "aegis/shard.h"
#include "aegis/wal.h"
#include "shard/shard_int.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"

/* The range table as aeg_shard_ranges_encode writes it. */
static size_t ranges_bytes(const struct aeg_shard_map *m)
{
	size_t n = aeg_varint_size(m->n_ranges);
	for (uint32_t k = 0; k < m->n_ranges; k++) {
		uint32_t len = m->bound_off[k + 1] - m->bound_off[k];
		n += aeg_varint_size(m->range_shard[k]) + (k > 0 ? aeg_varint_size(len) + len : 0);
	}
	return n;
}

size_t aeg_shard_map_encoded_size(const struct aeg_shard_map *m)
{
	size_t n = 4 + 1 + 1 + 8 + aeg_varint_size(m->node_count) +
		   aeg_varint_size(m->shard_count) + aeg_varint_size(m->rf) +
		   aeg_varint_size(m->workers);
	for (uint32_t i = 0; i < m->node_count; i++)
		n += aeg_varint_size(m->nodes[i].id) + 4 +
		     aeg_varint_size(m->nodes[i].udp_port_base) +
		     aeg_varint_size(m->nodes[i].weight);
	if (m->strategy == AEG_SHARD_RANGE)
		n += ranges_bytes(m);
	if (m->strategy == AEG_SHARD_LIST) {
		n += aeg_varint_size(m->assign_count) + m->assign_bytes;
		for (uint32_t i = 0; i < m->assign_count; i++)
			n += aeg_varint_size(m->assign[i].len) + 1 + aeg_varint_size(m->assign[i].shard);
	}
	if (m->strategy == AEG_SHARD_TIME)
		n += aeg_varint_size(m->time_bucket);
	for (size_t i = 0; i < (size_t)m->shard_count * m->rf; i++) {
		int idx = shard_node_index(m, m->replicas[i]);
		assert(idx >= 0);
		n += aeg_varint_size((uint64_t)idx);
	}
	return n + 4;
}

int aeg_shard_map_encode(const struct aeg_shard_map *m, uint8_t *buf, size_t cap)
{
	size_t size = aeg_shard_map_encoded_size(m);
	if (size > cap || size > INT_MAX)
		return -EMSGSIZE;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u32(&w, AEG_SHARD_MAP_MAGIC);
	aeg_put_u8(&w, AEG_SHARD_MAP_FORMAT);
	aeg_put_u8(&w, (uint8_t)m->strategy);
	aeg_put_u64(&w, m->epoch);
	aeg_put_varint(&w, m->node_count);
	aeg_put_varint(&w, m->shard_count);
	aeg_put_varint(&w, m->rf);
	aeg_put_varint(&w, m->workers);
	for (uint32_t i = 0; i < m->node_count; i++) {
		aeg_put_varint(&w, m->nodes[i].id);
		aeg_put_u32(&w, m->nodes[i].ipv4);
		aeg_put_varint(&w, m->nodes[i].udp_port_base);
		aeg_put_varint(&w, m->nodes[i].weight);
	}
	if (m->strategy == AEG_SHARD_RANGE) {
		aeg_put_varint(&w, m->n_ranges);
		for (uint32_t k = 0; k < m->n_ranges; k++) {
			uint32_t off = m->bound_off[k], len = m->bound_off[k + 1] - off;
			aeg_put_varint(&w, m->range_shard[k]);
			if (k > 0) {
				aeg_put_varint(&w, len);
				aeg_put_bytes(&w, m->bound_data + off, len);
			}
		}
	}
	if (m->strategy == AEG_SHARD_LIST) {
		aeg_put_varint(&w, m->assign_count);
		for (uint32_t i = 0; i < m->assign_count; i++) {
			const struct shard_assign *a = &m->assign[i];
			aeg_put_varint(&w, a->len);
			aeg_put_bytes(&w, m->assign_data + a->off, a->len);
			aeg_put_u8(&w, a->prefix);
			aeg_put_varint(&w, a->shard);
		}
	}
	if (m->strategy == AEG_SHARD_TIME)
		aeg_put_varint(&w, m->time_bucket);
	for (size_t i = 0; i < (size_t)m->shard_count * m->rf; i++)
		aeg_put_varint(&w, (uint64_t)shard_node_index(m, m->replicas[i]));
	aeg_put_u32(&w, aeg_crc32c(0, buf, w.len));
	assert(!w.error && w.len == size);
	return (int)w.len;
}

/* Readers that say why they failed: -EMSGSIZE when the bytes ran out,
 * -EINVAL when a varint is malformed (it stopped before the end). */
static int get_varint32(struct aeg_reader *r, uint32_t *v)
{
	*v = aeg_get_varint32(r);
	if (!r->error)
		return 0;
	return r->pos >= r->len ? -EMSGSIZE : -EINVAL;
}

static int get_u32(struct aeg_reader *r, uint32_t *v)
{
	*v = aeg_get_u32(r);
	return r->error ? -EMSGSIZE : 0;
}

static int decode_nodes(struct aeg_shard_map *m, struct aeg_reader *r)
{
	for (uint32_t i = 0; i < m->node_count; i++) {
		struct aeg_shard_node *n = &m->nodes[i];
		uint32_t port = 0;
		int rc = get_varint32(r, &n->id);
		if (rc == 0)
			rc = get_u32(r, &n->ipv4);
		if (rc == 0)
			rc = get_varint32(r, &port);
		if (rc == 0)
			rc = get_varint32(r, &n->weight);
		if (rc != 0)
			return rc;
		if (port > UINT16_MAX)
			return -EINVAL;
		n->udp_port_base = (uint16_t)port;
		if (!shard_node_ok(n, m->workers) || (i > 0 && n->id <= n[-1].id))
			return -EINVAL;
	}
	return 0;
}

/* The range table: counted against the bytes left before anything is
 * allocated (a range takes at least 1 byte); shard_ranges_set checks the
 * table's rules. */
static int decode_ranges(struct aeg_shard_map *m, struct aeg_reader *r)
{
	uint32_t n;
	int rc = get_varint32(r, &n);
	if (rc != 0)
		return rc;
	if (n == 0 || n > m->shard_count)
		return -EINVAL;
	if (n > aeg_reader_left(r))
		return -EMSGSIZE;
	struct aeg_shard_range *v = calloc(n, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < n && rc == 0; k++) {
		rc = get_varint32(r, &v[k].shard);
		if (rc == 0 && k > 0)
			rc = get_varint32(r, &v[k].lo_len);
		if (rc == 0 && k > 0 && (v[k].lo_len == 0 || v[k].lo_len > AEG_SHARD_SPLIT_BYTES_MAX))
			rc = -EINVAL;
		if (rc == 0 && v[k].lo_len > aeg_reader_left(r))
			rc = -EMSGSIZE;
		if (rc == 0 && k > 0)
			v[k].lo = aeg_get_bytes(r, v[k].lo_len);
	}
	if (rc == 0)
		rc = shard_ranges_set(m, v, n);
	free(v);
	return rc;
}

/* The list's assignments: each at least 4 bytes, checked against what is
 * left before anything is allocated; in map order (a canonical encoding),
 * every rule of build checked again by shard_assign_set. */
static int decode_assign(struct aeg_shard_map *m, struct aeg_reader *r)
{
	uint32_t n;
	int rc = get_varint32(r, &n);
	if (rc != 0)
		return rc;
	if (n > AEG_SHARD_ASSIGN_MAX)
		return -EINVAL;
	if ((size_t)n * 4 > aeg_reader_left(r))
		return -EMSGSIZE;
	struct aeg_shard_assign *v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		rc = get_varint32(r, &v[i].len);
		if (rc == 0 && (v[i].len == 0 || v[i].len > AEG_SHARD_SPLIT_BYTES_MAX))
			rc = -EINVAL;
		if (rc == 0 && (size_t)v[i].len + 2 > aeg_reader_left(r))
			rc = -EMSGSIZE;
		if (rc != 0)
			break;
		v[i].key = aeg_get_bytes(r, v[i].len);
		uint8_t prefix = aeg_get_u8(r);
		rc = get_varint32(r, &v[i].shard);
		if (rc == 0 && prefix > 1)
			rc = -EINVAL;
		v[i].prefix = prefix == 1;
	}
	if (rc == 0)
		rc = shard_assign_set(m, v, n);
	/* In map order, or it would not re-encode to the same bytes. */
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		struct aeg_shard_assign a;
		(void)aeg_shard_map_assign(m, i, &a);
		if (a.len != v[i].len || memcmp(a.key, v[i].key, a.len) != 0 || a.prefix != v[i].prefix)
			rc = -EINVAL;
	}
	free(v);
	return rc;
}

static int decode_time(struct aeg_shard_map *m, struct aeg_reader *r)
{
	m->time_bucket = aeg_get_varint(r);
	if (r->error)
		return r->pos >= r->len ? -EMSGSIZE : -EINVAL;
	return m->time_bucket == 0 ? -EINVAL : 0;
}

static int decode_replicas(struct aeg_shard_map *m, struct aeg_reader *r)
{
	for (uint32_t s = 0; s < m->shard_count; s++) {
		uint32_t *rep = &m->replicas[(size_t)s * m->rf];
		for (uint32_t j = 0; j < m->rf; j++) {
			uint32_t idx;
			int rc = get_varint32(r, &idx);
			if (rc != 0)
				return rc;
			if (idx >= m->node_count)
				return -EINVAL;
			rep[j] = m->nodes[idx].id;
			for (uint32_t k = 0; k < j; k++) {
				if (rep[k] == rep[j])
					return -EINVAL;
			}
		}
	}
	return 0;
}

/* The body after the fixed header and counts. */
static int decode_body(struct aeg_shard_map *m, struct aeg_reader *r)
{
	int rc = decode_nodes(m, r);
	if (rc == 0 && m->strategy == AEG_SHARD_RANGE)
		rc = decode_ranges(m, r);
	if (rc == 0 && m->strategy == AEG_SHARD_LIST)
		rc = decode_assign(m, r);
	if (rc == 0 && m->strategy == AEG_SHARD_TIME)
		rc = decode_time(m, r);
	if (rc == 0)
		rc = decode_replicas(m, r);
	if (rc == 0 && r->pos != r->len)
		rc = -EINVAL;
	return rc;
}

int aeg_shard_map_decode(struct aeg_shard_map **out, const uint8_t *buf, size_t len)
{
	if (len < 4)
		return -EMSGSIZE;
	struct aeg_reader r;
	aeg_reader_init(&r, buf, len - 4); /* the CRC is the last 4 bytes */
	uint32_t magic = aeg_get_u32(&r);
	uint8_t format = aeg_get_u8(&r), strategy = aeg_get_u8(&r);
	uint64_t epoch = aeg_get_u64(&r);
	if (r.error)
		return -EMSGSIZE;
	uint32_t nodes, shards, rf, workers;
	int rc = get_varint32(&r, &nodes);
	if (rc == 0)
		rc = get_varint32(&r, &shards);
	if (rc == 0)
		rc = get_varint32(&r, &rf);
	if (rc == 0)
		rc = get_varint32(&r, &workers);
	if (rc != 0)
		return rc;
	if (magic != AEG_SHARD_MAP_MAGIC || format != AEG_SHARD_MAP_FORMAT ||
	    !shard_params_ok(nodes, shards, rf, workers, strategy))
		return -EINVAL;
	/* A node takes >= 7 bytes, a replica index >= 1, a split >= 2: this
	 * bounds what we allocate by the input's size. */
	size_t left = aeg_reader_left(&r);
	if ((size_t)nodes * 7 + (size_t)shards * rf > left)
		return -EMSGSIZE;
	struct aeg_shard_map *m = shard_map_alloc(nodes, shards, rf);
	if (m == NULL)
		return -ENOMEM;
	m->epoch = epoch;
	m->workers = workers;
	m->strategy = strategy;
	rc = decode_body(m, &r);
	if (rc == 0) {
		uint32_t crc = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 |
			       (uint32_t)buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24;
		if (crc != aeg_crc32c(0, buf, len - 4))
			rc = -EINVAL;
	}
	if (rc != 0) {
		aeg_shard_map_free(m);
		return rc;
	}
	shard_meta_voters_set(m);
	*out = m;
	return 0;
}
