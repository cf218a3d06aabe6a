/* Internal helpers of lib/net: big-endian loads and stores (network byte
 * order), the Ethernet/IPv4/UDP field offsets, and the UDP pseudo-header
 * sum shared by the parser and the builder. */
#ifndef AEGIS_NET_INTERNAL_H
#define AEGIS_NET_INTERNAL_H

#include <stdint.h>

#include "common/codec.h"

/* Offsets inside the Ethernet header. */
#define NET_ETH_DST 0u
#define NET_ETH_SRC 6u
#define NET_ETH_TYPE 12u

/* Offsets inside the IPv4 header. */
#define NET_IP_VER_IHL 0u
#define NET_IP_TOTAL_LEN 2u
#define NET_IP_ID 4u
#define NET_IP_FRAG 6u
#define NET_IP_TTL 8u
#define NET_IP_PROTO 9u
#define NET_IP_CSUM 10u
#define NET_IP_SRC 12u
#define NET_IP_DST 16u
#define NET_IP_PROTO_UDP 17u
#define NET_IP_FLAG_DF 0x4000u
#define NET_IP_FLAG_MF 0x2000u
#define NET_IP_FRAG_OFF_MASK 0x1fffu

/* Offsets inside the UDP header. */
#define NET_UDP_SRC 0u
#define NET_UDP_DST 2u
#define NET_UDP_LEN 4u
#define NET_UDP_CSUM 6u

/* ARP for IPv4 over Ethernet: 28 bytes after the Ethernet header. */
#define NET_ARP_LEN 28u
#define NET_ARP_HTYPE_ETH 1u

static inline uint16_t net_load_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t net_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void net_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Network-order puts on top of the shared little-endian codec writer. */
static inline void net_put_be16(struct aeg_writer *w, uint16_t v)
{
	uint8_t b[2];
	net_store_be16(b, v);
	aeg_put_bytes(w, b, sizeof(b));
}

static inline void net_put_be32(struct aeg_writer *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	aeg_put_bytes(w, b, sizeof(b));
}

/* Unfolded sum of the IPv4 UDP pseudo-header (RFC 768): addresses,
 * protocol and UDP length. */
static inline uint32_t net_udp_pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint16_t udp_len)
{
	return (src_ip >> 16) + (src_ip & 0xffffu) + (dst_ip >> 16) + (dst_ip & 0xffffu) +
	       NET_IP_PROTO_UDP + udp_len;
}

#endif
