/* Golden frames for the lib/net tests, derived outside the library with
 * python3 struct/socket (the script is in the comment below) and helpers
 * that copy a frame into a buffer of exactly its length, so that the
 * sanitizer build catches any read past len.
 *
 *   def csum(b):   # RFC 1071
 *       b += b'\0' * (len(b) % 2)
 *       s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
 *       while s >> 16: s = (s & 0xffff) + (s >> 16)
 *       return ~s & 0xffff
 *   ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 0x1234, 0x4000, 64, 17, 0,
 *                    inet_aton('10.0.0.1'), inet_aton('10.0.0.2'))     -> csum 0x1490
 *   udp checksum over pseudo-header + header + b'hello aegis'          -> 0x5104
 *   folded, not complemented, pseudo-header sum                        -> 0x1427
 *   arp = edst + sha + b'\x08\x06' + struct.pack('!HHBBH6s4s6s4s', 1, 0x0800, 6, 4,
 *                    op, sha, spa, tha, tpa) + b'\0' * 18 */
#ifndef AEGIS_TEST_NET_FIXTURE_H
#define AEGIS_TEST_NET_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/net.h"

#define GOLD_MAC_A {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}}
#define GOLD_MAC_B {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}}
#define GOLD_IP_A 0x0a000001u /* 10.0.0.1 */
#define GOLD_IP_B 0x0a000002u /* 10.0.0.2 */
#define GOLD_PORT_A 1234
#define GOLD_PORT_B 5678
#define GOLD_IP_ID 0x1234
#define GOLD_IP_CSUM 0x1490
#define GOLD_UDP_CSUM 0x5104
#define GOLD_PHDR_SUM 0x1427
#define GOLD_PAYLOAD "hello aegis"
#define GOLD_PAYLOAD_LEN 11u

/* 10.0.0.1:1234 (02:..:01) -> 10.0.0.2:5678 (02:..:02), "hello aegis",
 * TTL 64, id 0x1234, DF, full UDP checksum. */
static const uint8_t gold_udp[53] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x00, 0x00, 0x27, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11,
	0x14, 0x90, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x04, 0xd2,
	0x16, 0x2e, 0x00, 0x13, 0x51, 0x04, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20,
	0x61, 0x65, 0x67, 0x69, 0x73,
};

/* Who has 10.0.0.2? Tell 10.0.0.1 (02:..:01), broadcast. */
static const uint8_t gold_arp_request[60] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
};

/* 10.0.0.2 is at 02:..:02, to 02:..:01. */
static const uint8_t gold_arp_reply[60] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
};

static inline struct aeg_net_udp_tuple gold_tuple(void)
{
	struct aeg_net_udp_tuple t = {
		.src_mac = GOLD_MAC_A, .dst_mac = GOLD_MAC_B,
		.src_ip = GOLD_IP_A, .dst_ip = GOLD_IP_B,
		.src_port = GOLD_PORT_A, .dst_port = GOLD_PORT_B,
		.ttl = 0, .ip_id = GOLD_IP_ID,
	};
	return t;
}

/* A heap copy of exactly len bytes (a 1-byte allocation for len 0, never
 * read), so that ASan flags a read at frame[len]. */
static inline uint8_t *frame_dup(const uint8_t *src, size_t len)
{
	uint8_t *f = malloc(len != 0 ? len : 1);
	if (f == NULL)
		abort();
	if (len != 0)
		memcpy(f, src, len);
	return f;
}

static inline uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Recomputes the IPv4 header checksum of an Ethernet frame after a test
 * changed a header field. */
static inline void fix_ip_csum(uint8_t *frame)
{
	uint8_t *ip = frame + AEG_NET_ETH_LEN;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	be16_put(ip + 10, 0);
	be16_put(ip + 10, aeg_net_csum_fold(aeg_net_csum_add(0, ip, ihl)));
}

#endif
