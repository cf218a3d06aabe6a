/* The Raft message codec (aegis/raft_codec.h has the layout).
 *
 * Encoding is two passes: msg_measure() checks the whole message and
 * computes its size (so aeg_raft_msg_size() and the cap check cost no
 * write), then msg_write() writes it without checks. Decoding is one pass
 * with a reader whose first error sticks and says what kind it was
 * (truncated or malformed), so that the caller sees the error of the first
 * bad byte: a prefix of a valid message is always -EMSGSIZE. */
#include "aegis/raft_codec.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "common/codec.h"

#define HDR_TYPE_MASK 0x0fu
#define HDR_REJECT 0x10u
#define HDR_QUIESCE 0x20u
#define HDR_HINT 0x40u
#define META_NEW_TERM 1u
#define META_TYPE_SHIFT 1
#define META_LEN_SHIFT 3

/* The fields each type has on the wire, in wire order below. */
enum {
	F_INDEX = 1 << 0,
	F_LOG_TERM = 1 << 1,
	F_HINT = 1 << 2,    /* hint and log_term, both or none (HDR_HINT) */
	F_COMMIT = 1 << 3,
	F_CTX = 1 << 4,
	F_ENTRIES = 1 << 5,
	F_SNAP = 1 << 6,
	F_REJECT = 1 << 7,  /* header bits */
	F_QUIESCE = 1 << 8,
};

static const uint16_t type_fields[AEG_RAFT_MSG_TYPE_MAX + 1] = {
	[AEG_RAFT_MSG_APPEND] = F_INDEX | F_LOG_TERM | F_COMMIT | F_ENTRIES,
	[AEG_RAFT_MSG_APPEND_RESP] = F_INDEX | F_HINT | F_REJECT,
	[AEG_RAFT_MSG_VOTE] = F_INDEX | F_LOG_TERM | F_CTX,
	[AEG_RAFT_MSG_VOTE_RESP] = F_REJECT,
	[AEG_RAFT_MSG_PRE_VOTE] = F_INDEX | F_LOG_TERM | F_CTX,
	[AEG_RAFT_MSG_PRE_VOTE_RESP] = F_REJECT,
	[AEG_RAFT_MSG_HEARTBEAT] = F_COMMIT | F_CTX | F_QUIESCE,
	[AEG_RAFT_MSG_HEARTBEAT_RESP] = F_CTX,
	[AEG_RAFT_MSG_SNAPSHOT] = F_COMMIT | F_SNAP,
	[AEG_RAFT_MSG_TIMEOUT_NOW] = 0,
};

_Static_assert(AEG_RAFT_MSG_TYPE_MAX <= HDR_TYPE_MASK, "message type must fit the header");
_Static_assert(AEG_RAFT_ENTRY_CONF < 4, "entry type must fit two meta bits");
_Static_assert(((uint64_t)AEG_RAFT_CODEC_DATA_BYTES_MAX << META_LEN_SHIFT) < UINT32_MAX,
	       "entry meta must fit 32 bits");

static uint64_t zigzag(uint64_t delta)
{
	return (delta << 1) ^ (uint64_t)-(int64_t)(delta >> 63);
}

static uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (uint64_t)-(int64_t)(z & 1);
}

/* ---- encode -------------------------------------------------------------- */

/* The message's fields that are set: what its type must allow. */
static unsigned fields_set(const struct aeg_raft_msg *m)
{
	unsigned f = 0;
	f |= m->index ? F_INDEX : 0;
	f |= m->log_term ? F_LOG_TERM : 0;
	f |= m->hint ? F_HINT : 0;
	f |= m->commit ? F_COMMIT : 0;
	f |= m->ctx ? F_CTX : 0;
	f |= m->n_entries ? F_ENTRIES : 0;
	f |= (m->snap_index | m->snap_term | m->snap_total | m->snap_offset | m->snap_len) ||
	     m->snap_conf != NULL ? F_SNAP : 0;
	f |= m->reject ? F_REJECT : 0;
	f |= m->flags ? F_QUIESCE : 0;
	return f;
}

static bool resp_has_hint(const struct aeg_raft_msg *m)
{
	return m->hint != 0 || m->log_term != 0;
}

/* Size of the entries, or 0 if one cannot be encoded. */
static size_t entries_measure(const struct aeg_raft_msg *m)
{
	if (m->entries == NULL || m->index > UINT64_MAX - m->n_entries)
		return 0;
	size_t size = aeg_varint_size(m->n_entries);
	uint64_t prev = m->log_term;
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct aeg_raft_entry *e = &m->entries[i];
		if (e->index != m->index + 1 + i || e->type > AEG_RAFT_ENTRY_CONF ||
		    e->len > AEG_RAFT_CODEC_DATA_BYTES_MAX || (e->len > 0 && e->data == NULL))
			return 0;
		uint64_t meta = (uint64_t)e->len << META_LEN_SHIFT | e->type << META_TYPE_SHIFT;
		size += aeg_varint_size(meta) + e->len;
		if (e->term != prev)
			size += aeg_varint_size(zigzag(e->term - prev));
		prev = e->term;
	}
	return size;
}

/* Checks m and returns its size (0: cannot be encoded); conf gets the
 * encoded snap_conf of a SNAPSHOT. */
static size_t msg_measure(const struct aeg_raft_msg *m, uint8_t conf[AEG_RAFT_CODEC_CONF_BYTES_MAX],
			  size_t *conf_len)
{
	if (m->type == 0 || m->type > AEG_RAFT_MSG_TYPE_MAX ||
	    (m->flags & ~AEG_RAFT_MSG_FLAG_QUIESCE) != 0)
		return 0;
	unsigned allowed = type_fields[m->type];
	if ((allowed & F_HINT) != 0)
		allowed |= F_LOG_TERM;  /* the second half of the hint pair */
	if ((fields_set(m) & ~allowed) != 0)
		return 0;
	size_t size = 1 + aeg_varint_size(m->from) + aeg_varint_size(m->to) +
		      aeg_varint_size(m->term);
	unsigned f = type_fields[m->type];
	size += (f & F_INDEX) ? aeg_varint_size(m->index) : 0;
	size += (f & F_LOG_TERM) ? aeg_varint_size(m->log_term) : 0;
	if ((f & F_HINT) && resp_has_hint(m))
		size += aeg_varint_size(m->hint) + aeg_varint_size(m->log_term);
	size += (f & F_COMMIT) ? aeg_varint_size(m->commit) : 0;
	size += (f & F_CTX) ? aeg_varint_size(m->ctx) : 0;
	if (f & F_ENTRIES) {
		size_t n = m->n_entries > 0 ? entries_measure(m) : 1;
		if (n == 0)
			return 0;
		size += n;
	}
	if (f & F_SNAP) {
		struct aeg_raft_conf check;
		int rc = m->snap_conf == NULL ? -EINVAL :
			aeg_raft_conf_encode(m->snap_conf, conf, AEG_RAFT_CODEC_CONF_BYTES_MAX);
		/* conf_encode does not check; its decoder does, and must accept. */
		if (rc <= 0 || m->snap_conf->n > AEG_RAFT_CONF_MAX ||
		    aeg_raft_conf_decode(&check, conf, (size_t)rc) != 0 ||
		    m->snap_len > AEG_RAFT_CODEC_DATA_BYTES_MAX ||
		    (m->snap_len > 0 && m->snap_data == NULL))
			return 0;
		*conf_len = (size_t)rc;
		size += aeg_varint_size(m->snap_index) + aeg_varint_size(m->snap_term) +
			aeg_varint_size(m->snap_total) + aeg_varint_size(m->snap_offset) +
			aeg_varint_size(*conf_len) + *conf_len + aeg_varint_size(m->snap_len) +
			m->snap_len;
	}
	return size <= AEG_RAFT_CODEC_MSG_BYTES_MAX ? size : 0;
}

size_t aeg_raft_msg_size(const struct aeg_raft_msg *m)
{
	assert(m != NULL);
	uint8_t conf[AEG_RAFT_CODEC_CONF_BYTES_MAX];
	size_t conf_len = 0;
	return msg_measure(m, conf, &conf_len);
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static inline uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
	if (n > 0)
		memcpy(p, src, n);
	return p + n;
}

static uint8_t *entries_write(uint8_t *p, const struct aeg_raft_msg *m)
{
	p = put_varint(p, m->n_entries);
	uint64_t prev = m->log_term;
	for (uint32_t i = 0; i < m->n_entries; i++) {
		const struct aeg_raft_entry *e = &m->entries[i];
		uint64_t meta = (uint64_t)e->len << META_LEN_SHIFT | e->type << META_TYPE_SHIFT;
		if (e->term != prev) {
			p = put_varint(p, meta | META_NEW_TERM);
			p = put_varint(p, zigzag(e->term - prev));
		} else {
			p = put_varint(p, meta);
		}
		p = put_bytes(p, e->data, e->len);
		prev = e->term;
	}
	return p;
}

/* Writes a message msg_measure() accepted. */
static uint8_t *msg_write(uint8_t *p, const struct aeg_raft_msg *m, const uint8_t *conf,
			  size_t conf_len)
{
	unsigned f = type_fields[m->type];
	bool hint = (f & F_HINT) && resp_has_hint(m);
	*p++ = (uint8_t)(m->type | (m->reject ? HDR_REJECT : 0) |
			 (m->flags ? HDR_QUIESCE : 0) | (hint ? HDR_HINT : 0));
	p = put_varint(p, m->from);
	p = put_varint(p, m->to);
	p = put_varint(p, m->term);
	if (f & F_INDEX)
		p = put_varint(p, m->index);
	if (f & F_LOG_TERM)
		p = put_varint(p, m->log_term);
	if (hint) {
		p = put_varint(p, m->hint);
		p = put_varint(p, m->log_term);
	}
	if (f & F_COMMIT)
		p = put_varint(p, m->commit);
	if (f & F_CTX)
		p = put_varint(p, m->ctx);
	if (f & F_ENTRIES)
		p = entries_write(p, m);
	if (f & F_SNAP) {
		p = put_varint(p, m->snap_index);
		p = put_varint(p, m->snap_term);
		p = put_varint(p, m->snap_total);
		p = put_varint(p, m->snap_offset);
		p = put_varint(p, conf_len);
		p = put_bytes(p, conf, conf_len);
		p = put_varint(p, m->snap_len);
		p = put_bytes(p, m->snap_data, m->snap_len);
	}
	return p;
}

int aeg_raft_msg_encode(const struct aeg_raft_msg *m, uint8_t *buf, size_t cap)
{
	assert(m != NULL);
	uint8_t conf[AEG_RAFT_CODEC_CONF_BYTES_MAX];
	size_t conf_len = 0;
	size_t size = msg_measure(m, conf, &conf_len);
	if (size == 0)
		return -EINVAL;
	if (size > cap || buf == NULL)
		return -EMSGSIZE;
	uint8_t *end = msg_write(buf, m, conf, conf_len);
	assert((size_t)(end - buf) == size);
	(void)end;
	return (int)size;
}

/* ---- decode -------------------------------------------------------------- */

/* A reader whose first error sticks: -EMSGSIZE or -EINVAL. After an error
 * it is at its end, so every later read fails at once and returns 0. */
struct rd {
	const uint8_t *p, *end;
	int err;
};

static void rd_fail(struct rd *r, int err)
{
	if (r->err == 0)
		r->err = err;
	r->p = r->end;
}

static uint64_t rd_varint_slow(struct rd *r)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (r->p == r->end) {
			rd_fail(r, -EMSGSIZE);
			return 0;
		}
		uint8_t byte = *r->p++;
		if (i == 9 && byte > 1)
			break;  /* beyond 64 bits */
		v |= (uint64_t)(byte & 0x7f) << (7 * i);
		if ((byte & 0x80) == 0) {
			if (byte == 0 && i != 0)
				break;  /* not minimal */
			return v;
		}
	}
	rd_fail(r, -EINVAL);
	return 0;
}

/* One- and two-byte varints (ids, small numbers, entry lengths < 2 KiB)
 * inline; the rest, and every error, in the loop above. */
static inline uint64_t rd_varint(struct rd *r)
{
	size_t left = (size_t)(r->end - r->p);
	if (left >= 1 && r->p[0] < 0x80)
		return *r->p++;
	if (left >= 2 && r->p[1] < 0x80 && r->p[1] != 0) {
		uint64_t v = (uint64_t)(r->p[0] & 0x7f) | (uint64_t)r->p[1] << 7;
		r->p += 2;
		return v;
	}
	return rd_varint_slow(r);
}

static inline uint32_t rd_varint32(struct rd *r)
{
	uint64_t v = rd_varint(r);
	if (v > UINT32_MAX) {
		rd_fail(r, -EINVAL);
		return 0;
	}
	return (uint32_t)v;
}

/* n bytes, or NULL (n == 0, or an error). */
static const uint8_t *rd_bytes(struct rd *r, uint64_t n)
{
	if (n > (uint64_t)(r->end - r->p)) {
		rd_fail(r, -EMSGSIZE);
		return NULL;
	}
	const uint8_t *p = n > 0 ? r->p : NULL;
	r->p += n;
	return p;
}

static void entries_read(struct rd *r, struct aeg_raft_msg *m, struct aeg_raft_entry *ents,
			 uint32_t ents_max)
{
	uint64_t n = rd_varint(r);
	if (r->err != 0)
		return;
	if (n > ents_max) {
		rd_fail(r, -ENOBUFS);
		return;
	}
	if (m->index > UINT64_MAX - n) {
		rd_fail(r, -EINVAL);  /* indexes would wrap: the encoder refuses that */
		return;
	}
	uint64_t term = m->log_term;
	for (uint32_t i = 0; i < n && r->err == 0; i++) {
		uint64_t meta = rd_varint(r);
		uint64_t len = meta >> META_LEN_SHIFT;
		uint32_t type = (uint32_t)(meta >> META_TYPE_SHIFT) & 3;
		if (type > AEG_RAFT_ENTRY_CONF || len > AEG_RAFT_CODEC_DATA_BYTES_MAX)
			rd_fail(r, -EINVAL);
		if (meta & META_NEW_TERM) {
			uint64_t z = rd_varint(r);
			if (z == 0)
				rd_fail(r, -EINVAL);  /* a new term equal to the last one */
			term += unzigzag(z);
		}
		struct aeg_raft_entry *e = &ents[i];
		e->term = term;
		e->index = m->index + 1 + i;
		e->type = type;
		e->len = (uint32_t)len;
		e->data = rd_bytes(r, len);
	}
	m->n_entries = (uint32_t)n;
}

static void snap_read(struct rd *r, struct aeg_raft_msg *m, struct aeg_raft_conf *conf)
{
	m->snap_index = rd_varint(r);
	m->snap_term = rd_varint(r);
	m->snap_total = rd_varint(r);
	m->snap_offset = rd_varint(r);
	uint64_t conf_len = rd_varint(r);
	if (conf_len > AEG_RAFT_CODEC_CONF_BYTES_MAX)
		rd_fail(r, -EINVAL);
	const uint8_t *cb = rd_bytes(r, conf_len);
	/* Its length is known: a conf that ends early is malformed, not cut. */
	if (r->err == 0 && aeg_raft_conf_decode(conf, cb, conf_len) != 0)
		rd_fail(r, -EINVAL);
	m->snap_conf = conf;
	uint64_t len = rd_varint(r);
	if (len > AEG_RAFT_CODEC_DATA_BYTES_MAX)
		rd_fail(r, -EINVAL);
	m->snap_len = (uint32_t)len;
	m->snap_data = rd_bytes(r, len);
}

/* The header byte: 0 and the type's fields in *fields, or -EINVAL. */
static int hdr_read(uint8_t hdr, struct aeg_raft_msg *m, unsigned *fields)
{
	uint32_t type = hdr & HDR_TYPE_MASK;
	if (type == 0 || type > AEG_RAFT_MSG_TYPE_MAX)
		return -EINVAL;
	unsigned f = type_fields[type];
	if ((hdr & ~(HDR_TYPE_MASK | HDR_REJECT | HDR_QUIESCE | HDR_HINT)) != 0 ||
	    ((hdr & HDR_REJECT) && !(f & F_REJECT)) || ((hdr & HDR_QUIESCE) && !(f & F_QUIESCE)) ||
	    ((hdr & HDR_HINT) && !(f & F_HINT)))
		return -EINVAL;
	m->type = type;
	m->reject = (hdr & HDR_REJECT) != 0;
	m->flags = (hdr & HDR_QUIESCE) ? AEG_RAFT_MSG_FLAG_QUIESCE : 0;
	*fields = f;
	return 0;
}

int aeg_raft_msg_decode(struct aeg_raft_msg *m, struct aeg_raft_entry *ents, uint32_t ents_max,
			struct aeg_raft_conf *conf, const uint8_t *buf, size_t len)
{
	assert(m != NULL);
	assert(ents != NULL || ents_max == 0);
	memset(m, 0, sizeof(*m));
	m->entries = ents;
	if (buf == NULL && len != 0)
		return -EINVAL;
	if (len == 0)
		return -EMSGSIZE;
	if (len > AEG_RAFT_CODEC_MSG_BYTES_MAX)
		return -EINVAL;  /* nothing this long was encoded */
	unsigned f;
	int rc = hdr_read(buf[0], m, &f);
	if (rc != 0)
		return rc;
	if ((f & F_SNAP) && conf == NULL)
		return -EINVAL;
	struct rd r = {.p = buf + 1, .end = buf + len, .err = 0};
	m->from = rd_varint32(&r);
	m->to = rd_varint32(&r);
	m->term = rd_varint(&r);
	if (f & F_INDEX)
		m->index = rd_varint(&r);
	if (f & F_LOG_TERM)
		m->log_term = rd_varint(&r);
	if (buf[0] & HDR_HINT) {
		m->hint = rd_varint(&r);
		m->log_term = rd_varint(&r);
		if (r.err == 0 && !resp_has_hint(m))
			rd_fail(&r, -EINVAL);  /* the bit is set iff the pair is not 0 */
	}
	if (f & F_COMMIT)
		m->commit = rd_varint(&r);
	if (f & F_CTX)
		m->ctx = rd_varint(&r);
	if (f & F_ENTRIES)
		entries_read(&r, m, ents, ents_max);
	if (f & F_SNAP)
		snap_read(&r, m, conf);
	if (r.err != 0)
		return r.err;
	return r.p == r.end ? 0 : -EINVAL;
}
