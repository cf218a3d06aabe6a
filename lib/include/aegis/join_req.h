/* aegis/join_req.h — a node's request to join a cluster (issue [G]): one
 * UDP datagram from a node started with node.join = true to worker 0 of
 * each member it was given, every second until the meta records list it.
 * A member relays it to the meta group as `aegisctl node add` would.
 *
 *   datagram = magic u32 "AEGJ" | version u8 (1) | cluster u32 |
 *              id u32 | ipv4 u32 | udp_port_base u16 | tag(16)
 *   tag      = SipHash-2-4-128(cluster key, everything before it)
 *
 * Integers little-endian. Only a holder of the cluster key (which already
 * lets a node send Raft messages) can ask; a replayed request asks for the
 * same node at the same address again, which the meta leader answers as
 * "already joined". Pure: no allocation, no clock. */
#ifndef AEGIS_JOIN_REQ_H
#define AEGIS_JOIN_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/wire.h"

AEG_API_BEGIN

#define AEG_JOIN_REQ_MAGIC 0x4a474541u /* "AEGJ" little-endian */
#define AEG_JOIN_REQ_VERSION 1
#define AEG_JOIN_REQ_BYTES (4 + 1 + 4 + 4 + 4 + 2 + AEG_WIRE_TAG_BYTES)

struct aeg_join_req {
	uint32_t cluster;
	uint32_t id;            /* >= 1 */
	uint32_t ipv4;          /* host order, != 0 */
	uint16_t udp_port_base; /* != 0 */
};

/* AEG_JOIN_REQ_BYTES into buf, or -EINVAL (a zero field), -EMSGSIZE. */
int aeg_join_req_encode(const struct aeg_wire_key *key, const struct aeg_join_req *r, uint8_t *buf,
			size_t cap);
/* 0 and *r, -EBADMSG (not a join request: magic, version, length),
 * -EPERM (bad tag or another cluster), -EINVAL (a zero field). */
int aeg_join_req_parse(const struct aeg_wire_key *key, uint32_t cluster, const uint8_t *buf, size_t len,
		       struct aeg_join_req *r);

AEG_API_END

#endif
