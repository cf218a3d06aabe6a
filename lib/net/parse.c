/* Receive side: Ethernet II, then ARP or IPv4/UDP. Every header is taken
 * with aeg_get_bytes from a codec reader over frame[0..len), so nothing
 * outside the frame is read; a header that does not fit is
 * AEG_NET_DROP_TRUNCATED. Ethernet padding after the IPv4 total length is
 * ignored. */
#include <assert.h>

#include "aegis/net.h"
#include "net/net_internal.h"

static void load_mac(struct aeg_net_mac *m, const uint8_t *p)
{
	memcpy(m->b, p, sizeof(m->b));
}

static enum aeg_net_drop parse_arp(struct aeg_reader *r, struct aeg_net_arp *out)
{
	const uint8_t *a = aeg_get_bytes(r, NET_ARP_LEN);
	if (a == NULL)
		return AEG_NET_DROP_TRUNCATED;
	uint16_t op = net_load_be16(a + 6);
	if (net_load_be16(a) != NET_ARP_HTYPE_ETH || net_load_be16(a + 2) != AEG_NET_ETHERTYPE_IPV4 ||
	    a[4] != 6 || a[5] != 4 || (op != AEG_NET_ARP_REQUEST && op != AEG_NET_ARP_REPLY))
		return AEG_NET_DROP_BAD_ARP;
	out->op = op;
	load_mac(&out->sha, a + 8);
	out->spa = net_load_be32(a + 14);
	load_mac(&out->tha, a + 18);
	out->tpa = net_load_be32(a + 24);
	return AEG_NET_OK;
}

/* The UDP header and payload: udp[0..udp_len) lies inside the frame. */
static enum aeg_net_drop parse_udp(const uint8_t *udp, uint32_t ip_payload_len, uint32_t src_ip,
				   uint32_t dst_ip, unsigned rx_flags, struct aeg_net_udp *out)
{
	if (ip_payload_len < AEG_NET_UDP_LEN)
		return AEG_NET_DROP_BAD_UDP_LEN;
	uint16_t udp_len = net_load_be16(udp + NET_UDP_LEN);
	if (udp_len != ip_payload_len)
		return AEG_NET_DROP_BAD_UDP_LEN;
	/* 0 means the sender computed none (RFC 768). */
	bool verify = net_load_be16(udp + NET_UDP_CSUM) != 0 &&
		      (rx_flags & (AEG_NET_RX_UDP_CSUM_GOOD | AEG_NET_RX_UDP_CSUM_SKIP)) == 0;
	if (verify) {
		uint32_t sum = net_udp_pseudo_sum(src_ip, dst_ip, udp_len);
		if (aeg_net_csum_fold(aeg_net_csum_add(sum, udp, udp_len)) != 0)
			return AEG_NET_DROP_BAD_UDP_CSUM;
	}
	out->src_port = net_load_be16(udp + NET_UDP_SRC);
	out->dst_port = net_load_be16(udp + NET_UDP_DST);
	out->payload_len = udp_len - AEG_NET_UDP_LEN;
	return AEG_NET_OK;
}

static enum aeg_net_drop parse_ipv4(struct aeg_reader *r, unsigned rx_flags,
				    struct aeg_net_parsed *out)
{
	const uint8_t *ip = aeg_get_bytes(r, AEG_NET_IPV4_LEN);
	if (ip == NULL)
		return AEG_NET_DROP_TRUNCATED;
	uint32_t ihl = (ip[NET_IP_VER_IHL] & 0xfu) * 4u;
	if ((ip[NET_IP_VER_IHL] >> 4) != 4 || ihl < AEG_NET_IPV4_LEN)
		return AEG_NET_DROP_BAD_IPV4;
	/* Options are skipped, but the checksum covers them. */
	if (aeg_get_bytes(r, ihl - AEG_NET_IPV4_LEN) == NULL)
		return AEG_NET_DROP_TRUNCATED;
	if (!(rx_flags & AEG_NET_RX_IPV4_CSUM_GOOD) && aeg_net_csum_fold(aeg_net_csum_add(0, ip, ihl)) != 0)
		return AEG_NET_DROP_BAD_IPV4_CSUM;
	uint32_t total = net_load_be16(ip + NET_IP_TOTAL_LEN);
	if (total < ihl)
		return AEG_NET_DROP_BAD_IPV4_LEN;
	/* A datagram longer than what is left is a cut frame. */
	const uint8_t *payload = aeg_get_bytes(r, total - ihl);
	if (payload == NULL)
		return AEG_NET_DROP_TRUNCATED;
	uint16_t frag = net_load_be16(ip + NET_IP_FRAG);
	if (frag & (NET_IP_FLAG_MF | NET_IP_FRAG_OFF_MASK))
		return AEG_NET_DROP_FRAGMENT;
	if (ip[NET_IP_PROTO] != NET_IP_PROTO_UDP) {
		out->kind = AEG_NET_OTHER;
		return AEG_NET_OK;
	}
	struct aeg_net_udp *u = &out->udp;
	u->src_ip = net_load_be32(ip + NET_IP_SRC);
	u->dst_ip = net_load_be32(ip + NET_IP_DST);
	enum aeg_net_drop why = parse_udp(payload, total - ihl, u->src_ip, u->dst_ip, rx_flags, u);
	if (why != AEG_NET_OK)
		return why;
	u->payload_off = (uint32_t)(payload - r->buf) + AEG_NET_UDP_LEN;
	out->kind = AEG_NET_UDP;
	return AEG_NET_OK;
}

enum aeg_net_drop aeg_net_parse(const uint8_t *frame, uint32_t len, unsigned rx_flags,
				struct aeg_net_parsed *out)
{
	struct aeg_reader r;
	aeg_reader_init(&r, frame, len);
	const uint8_t *eth = aeg_get_bytes(&r, AEG_NET_ETH_LEN);
	if (eth == NULL)
		return AEG_NET_DROP_TRUNCATED;
	uint16_t type = net_load_be16(eth + NET_ETH_TYPE);
	enum aeg_net_drop why;
	switch (type) {
	case AEG_NET_ETHERTYPE_IPV4:
		why = parse_ipv4(&r, rx_flags, out);
		if (why == AEG_NET_OK && out->kind == AEG_NET_UDP) {
			load_mac(&out->udp.dst_mac, eth + NET_ETH_DST);
			load_mac(&out->udp.src_mac, eth + NET_ETH_SRC);
			assert(out->udp.payload_off + out->udp.payload_len <= len);
		}
		return why;
	case AEG_NET_ETHERTYPE_ARP:
		why = parse_arp(&r, &out->arp);
		if (why == AEG_NET_OK)
			out->kind = AEG_NET_ARP;
		return why;
	default:
		out->kind = AEG_NET_OTHER; /* VLAN tags included */
		return AEG_NET_OK;
	}
}
