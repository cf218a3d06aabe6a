/* Transmit side: the 42 header bytes of an IPv4/UDP frame and whole ARP
 * frames, written with the codec writer in network byte order. */
#include <assert.h>
#include <errno.h>

#include "aegis/net.h"
#include "net/net_internal.h"

#define DEFAULT_TTL 64u

static void put_eth(struct aeg_writer *w, const struct aeg_net_mac *dst,
		    const struct aeg_net_mac *src, uint16_t type)
{
	aeg_put_bytes(w, dst->b, sizeof(dst->b));
	aeg_put_bytes(w, src->b, sizeof(src->b));
	net_put_be16(w, type);
}

int aeg_net_udp_build(uint8_t *frame, const struct aeg_net_udp_tuple *t, uint32_t payload_len,
		      unsigned tx_flags)
{
	if (payload_len > AEG_NET_UDP_PAYLOAD_MAX)
		return -EMSGSIZE;
	if ((tx_flags & AEG_NET_TX_UDP_CSUM_HW) && (tx_flags & AEG_NET_TX_UDP_CSUM_SW))
		return -EINVAL;
	uint16_t udp_len = (uint16_t)(AEG_NET_UDP_LEN + payload_len);
	struct aeg_writer w;
	aeg_writer_init(&w, frame, AEG_NET_UDP_HDRS_LEN);
	put_eth(&w, &t->dst_mac, &t->src_mac, AEG_NET_ETHERTYPE_IPV4);
	uint8_t *ip = frame + w.len;
	aeg_put_u8(&w, 0x45); /* version 4, 20-byte header */
	aeg_put_u8(&w, 0);    /* DSCP/ECN */
	net_put_be16(&w, (uint16_t)(AEG_NET_IPV4_LEN + udp_len));
	net_put_be16(&w, t->ip_id);
	net_put_be16(&w, NET_IP_FLAG_DF); /* never fragmented: frames fit the MTU */
	aeg_put_u8(&w, t->ttl != 0 ? t->ttl : DEFAULT_TTL);
	aeg_put_u8(&w, NET_IP_PROTO_UDP);
	net_put_be16(&w, 0); /* checksum, below */
	net_put_be32(&w, t->src_ip);
	net_put_be32(&w, t->dst_ip);
	uint8_t *udp = frame + w.len;
	net_put_be16(&w, t->src_port);
	net_put_be16(&w, t->dst_port);
	net_put_be16(&w, udp_len);
	net_put_be16(&w, 0); /* checksum, below */
	assert(!w.error && w.len == AEG_NET_UDP_HDRS_LEN);

	if (!(tx_flags & AEG_NET_TX_IPV4_CSUM_HW))
		net_store_be16(ip + NET_IP_CSUM, aeg_net_csum_fold(aeg_net_csum_add(0, ip, AEG_NET_IPV4_LEN)));
	uint32_t psum = net_udp_pseudo_sum(t->src_ip, t->dst_ip, udp_len);
	if (tx_flags & AEG_NET_TX_UDP_CSUM_HW) {
		/* The NIC adds header and payload to the folded, not
		 * complemented, pseudo-header sum. */
		net_store_be16(udp + NET_UDP_CSUM, (uint16_t)~aeg_net_csum_fold(psum));
	} else if (tx_flags & AEG_NET_TX_UDP_CSUM_SW) {
		uint16_t c = aeg_net_csum_fold(aeg_net_csum_add(psum, udp, udp_len));
		/* A computed 0 is sent as 0xffff: 0 means "no checksum". */
		net_store_be16(udp + NET_UDP_CSUM, c != 0 ? c : 0xffff);
	}
	return 0;
}

void aeg_net_arp_build(uint8_t *frame, uint16_t op, const struct aeg_net_mac *eth_dst,
		       const struct aeg_net_mac *sha, uint32_t spa,
		       const struct aeg_net_mac *tha, uint32_t tpa)
{
	static const uint8_t zeros[AEG_NET_ARP_FRAME_LEN - AEG_NET_ETH_LEN - NET_ARP_LEN];
	struct aeg_writer w;
	aeg_writer_init(&w, frame, AEG_NET_ARP_FRAME_LEN);
	put_eth(&w, eth_dst, sha, AEG_NET_ETHERTYPE_ARP);
	net_put_be16(&w, NET_ARP_HTYPE_ETH);
	net_put_be16(&w, AEG_NET_ETHERTYPE_IPV4);
	aeg_put_u8(&w, sizeof(sha->b));
	aeg_put_u8(&w, sizeof(spa));
	net_put_be16(&w, op);
	aeg_put_bytes(&w, sha->b, sizeof(sha->b));
	net_put_be32(&w, spa);
	aeg_put_bytes(&w, tha->b, sizeof(tha->b));
	net_put_be32(&w, tpa);
	aeg_put_bytes(&w, zeros, sizeof(zeros));
	assert(!w.error && w.len == AEG_NET_ARP_FRAME_LEN);
}
