/* libFuzzer target for the lib/net frame parser. Each input is parsed
 * with every rx flag combination; nothing may read outside the frame (the
 * input is libFuzzer's exact-size buffer, checked by ASan). An accepted
 * UDP frame must have its payload inside the frame, and a frame rebuilt
 * from the parsed tuple and payload (software UDP checksum) must parse
 * back to the same tuple and payload; an accepted ARP frame must rebuild
 * and parse back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/net.h"

static void check_udp(const uint8_t *data, size_t size, const struct aeg_net_udp *u)
{
	static uint8_t out[AEG_NET_UDP_HDRS_LEN + AEG_NET_UDP_PAYLOAD_MAX];
	if (u->payload_off < AEG_NET_UDP_HDRS_LEN || u->payload_off > size ||
	    u->payload_len > size - u->payload_off)
		abort();
	struct aeg_net_udp_tuple t = {
		.src_mac = u->src_mac, .dst_mac = u->dst_mac, .src_ip = u->src_ip, .dst_ip = u->dst_ip,
		.src_port = u->src_port, .dst_port = u->dst_port, .ttl = 0, .ip_id = 0,
	};
	memcpy(out + AEG_NET_UDP_HDRS_LEN, data + u->payload_off, u->payload_len);
	if (aeg_net_udp_build(out, &t, u->payload_len, AEG_NET_TX_UDP_CSUM_SW) != 0)
		abort();
	uint32_t len = AEG_NET_UDP_HDRS_LEN + u->payload_len;
	struct aeg_net_parsed p;
	if (aeg_net_parse(out, len, 0, &p) != AEG_NET_OK || p.kind != AEG_NET_UDP)
		abort();
	if (memcmp(&p.udp.src_mac, &u->src_mac, 6) != 0 || memcmp(&p.udp.dst_mac, &u->dst_mac, 6) != 0 ||
	    p.udp.src_ip != u->src_ip || p.udp.dst_ip != u->dst_ip || p.udp.src_port != u->src_port ||
	    p.udp.dst_port != u->dst_port || p.udp.payload_off != AEG_NET_UDP_HDRS_LEN ||
	    p.udp.payload_len != u->payload_len ||
	    memcmp(out + p.udp.payload_off, data + u->payload_off, u->payload_len) != 0)
		abort();
}

static void check_arp(const uint8_t *data, const struct aeg_net_arp *a)
{
	uint8_t out[AEG_NET_ARP_FRAME_LEN];
	struct aeg_net_mac eth_dst;
	memcpy(eth_dst.b, data, 6);
	aeg_net_arp_build(out, a->op, &eth_dst, &a->sha, a->spa, &a->tha, a->tpa);
	struct aeg_net_parsed p;
	if (aeg_net_parse(out, sizeof(out), 0, &p) != AEG_NET_OK || p.kind != AEG_NET_ARP ||
	    p.arp.op != a->op || p.arp.spa != a->spa || p.arp.tpa != a->tpa ||
	    memcmp(&p.arp.sha, &a->sha, 6) != 0 || memcmp(&p.arp.tha, &a->tha, 6) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > UINT32_MAX)
		return 0;
	enum aeg_net_drop first = AEG_NET_OK;
	for (unsigned flags = 0; flags < 8; flags++) {
		struct aeg_net_parsed p;
		enum aeg_net_drop why = aeg_net_parse(data, (uint32_t)size, flags, &p);
		if ((unsigned)why >= AEG_NET_DROP_NR)
			abort();
		/* Trusting the NIC can only turn a checksum drop into OK. */
		if (flags == 0)
			first = why;
		else if (why != first && first != AEG_NET_DROP_BAD_IPV4_CSUM &&
			 first != AEG_NET_DROP_BAD_UDP_CSUM)
			abort();
		if (why != AEG_NET_OK)
			continue;
		if (p.kind == AEG_NET_UDP)
			check_udp(data, size, &p.udp);
		else if (p.kind == AEG_NET_ARP)
			check_arp(data, &p.arp);
		else if (p.kind != AEG_NET_OTHER)
			abort();
	}
	return 0;
}
