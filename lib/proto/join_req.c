/* Join requests (layout in aegis/join_req.h). */
#include "aegis/join_req.h"

#include <errno.h>

#include "common/codec.h"

#define SIGNED_BYTES (AEG_JOIN_REQ_BYTES - AEG_WIRE_TAG_BYTES)

int aeg_join_req_encode(const struct aeg_wire_key *key, const struct aeg_join_req *r, uint8_t *buf,
			size_t cap)
{
	if (r->id == 0 || r->ipv4 == 0 || r->udp_port_base == 0)
		return -EINVAL;
	if (cap < AEG_JOIN_REQ_BYTES)
		return -EMSGSIZE;
	struct aeg_writer w;
	aeg_writer_init(&w, buf, cap);
	aeg_put_u32(&w, AEG_JOIN_REQ_MAGIC);
	aeg_put_u8(&w, AEG_JOIN_REQ_VERSION);
	aeg_put_u32(&w, r->cluster);
	aeg_put_u32(&w, r->id);
	aeg_put_u32(&w, r->ipv4);
	aeg_put_u8(&w, (uint8_t)r->udp_port_base);
	aeg_put_u8(&w, (uint8_t)(r->udp_port_base >> 8));
	aeg_wire_tag(key, buf, SIGNED_BYTES, buf + SIGNED_BYTES);
	return AEG_JOIN_REQ_BYTES;
}

int aeg_join_req_parse(const struct aeg_wire_key *key, uint32_t cluster, const uint8_t *buf, size_t len,
		       struct aeg_join_req *r)
{
	struct aeg_reader rd;
	aeg_reader_init(&rd, buf, len);
	uint32_t magic = aeg_get_u32(&rd);
	uint8_t version = aeg_get_u8(&rd);
	if (len != AEG_JOIN_REQ_BYTES || rd.error || magic != AEG_JOIN_REQ_MAGIC || version != AEG_JOIN_REQ_VERSION)
		return -EBADMSG;
	if (!aeg_wire_tag_verify(key, buf, SIGNED_BYTES, buf + SIGNED_BYTES))
		return -EPERM;
	r->cluster = aeg_get_u32(&rd);
	r->id = aeg_get_u32(&rd);
	r->ipv4 = aeg_get_u32(&rd);
	uint8_t lo = aeg_get_u8(&rd), hi = aeg_get_u8(&rd);
	r->udp_port_base = (uint16_t)(lo | hi << 8);
	if (r->cluster != cluster)
		return -EPERM;
	return r->id == 0 || r->ipv4 == 0 || r->udp_port_base == 0 ? -EINVAL : 0;
}
