/* aegis/net.h — the minimal L2/L3 a DPDK port needs to carry Aegis frames:
 * Ethernet II, ARP for IPv4 over Ethernet, IPv4 (no options or fragments
 * sent; options skipped and fragments dropped on receive) and UDP.
 * Parse and build work on caller buffers; the neighbour table maps peer
 * IPv4 addresses to MACs with static entries, learning, expiry and
 * rate-limited resolution. Pure: no I/O, time comes in as now_ns.
 *
 * Addresses and ports are in host byte order in every struct here; the
 * functions convert to and from network order on the wire. */
#ifndef AEGIS_NET_H
#define AEGIS_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

#define AEG_NET_ETH_LEN 14u
#define AEG_NET_IPV4_LEN 20u
#define AEG_NET_UDP_LEN 8u
/* Ethernet + IPv4 (no options) + UDP, as written by aeg_net_udp_build. */
#define AEG_NET_UDP_HDRS_LEN 42u
/* Largest UDP payload an IPv4 datagram can carry. */
#define AEG_NET_UDP_PAYLOAD_MAX 65507u
/* An ARP frame as built: 14 + 28 bytes, zero-padded to the 60-byte
 * Ethernet minimum (without FCS). */
#define AEG_NET_ARP_FRAME_LEN 60u

#define AEG_NET_ETHERTYPE_IPV4 0x0800u
#define AEG_NET_ETHERTYPE_ARP 0x0806u
#define AEG_NET_ARP_REQUEST 1u
#define AEG_NET_ARP_REPLY 2u

struct aeg_net_mac {
	uint8_t b[6];
};

extern const struct aeg_net_mac aeg_net_mac_broadcast; /* ff:ff:ff:ff:ff:ff (const) */

/* "aa:bb:cc:dd:ee:ff" -> 0 or -EINVAL. */
int aeg_net_mac_parse(const char *s, struct aeg_net_mac *out);
/* Writes 18 bytes including the NUL. */
void aeg_net_mac_format(const struct aeg_net_mac *m, char out[18]);
/* "a.b.c.d" -> 0 and host-order address, or -EINVAL. */
int aeg_net_ipv4_parse(const char *s, uint32_t *out);
/* Writes at most 16 bytes including the NUL. */
void aeg_net_ipv4_format(uint32_t ipv4, char out[16]);

/* ---- parse -------------------------------------------------------------- */

enum aeg_net_kind {
	AEG_NET_UDP = 1, /* IPv4/UDP; out->udp is filled */
	AEG_NET_ARP,     /* ARP for IPv4 over Ethernet; out->arp is filled */
	AEG_NET_OTHER,   /* well-formed but neither (IPv6, LLDP, ICMP, TCP ...) */
};

/* Why a frame was refused. Stable names for logs and statistics. */
enum aeg_net_drop {
	AEG_NET_OK = 0,
	AEG_NET_DROP_TRUNCATED,     /* shorter than its headers claim, the IPv4
				     * total length included (a cut frame) */
	AEG_NET_DROP_BAD_IPV4,      /* version != 4, IHL < 5 */
	AEG_NET_DROP_BAD_IPV4_CSUM,
	AEG_NET_DROP_BAD_IPV4_LEN,  /* total length < header length (> frame is
				     * AEG_NET_DROP_TRUNCATED) */
	AEG_NET_DROP_FRAGMENT,      /* MF set or offset != 0 */
	AEG_NET_DROP_BAD_UDP_LEN,   /* UDP length < 8 or != IPv4 payload length
				     * (bytes after the IPv4 total length are
				     * Ethernet padding and ignored) */
	AEG_NET_DROP_BAD_UDP_CSUM,
	AEG_NET_DROP_BAD_ARP,       /* not Ethernet/IPv4 sizes, unknown op */
	AEG_NET_DROP_NR
};

const char *aeg_net_drop_name(enum aeg_net_drop d); /* "truncated", "bad_ipv4_csum", ... */

struct aeg_net_udp {
	struct aeg_net_mac src_mac, dst_mac;
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint32_t payload_off; /* from the start of the frame */
	uint32_t payload_len; /* from the UDP length field; Ethernet padding excluded */
};

struct aeg_net_arp {
	uint16_t op; /* AEG_NET_ARP_REQUEST or AEG_NET_ARP_REPLY */
	struct aeg_net_mac sha, tha;
	uint32_t spa, tpa;
};

struct aeg_net_parsed {
	enum aeg_net_kind kind;
	union {
		struct aeg_net_udp udp;
		struct aeg_net_arp arp;
	};
};

/* What the NIC already checked (from mbuf ol_flags), so the parser can
 * skip the work. A UDP checksum of 0 means "none" (RFC 768) and is
 * accepted. */
#define AEG_NET_RX_IPV4_CSUM_GOOD 1u /* hardware verified the IPv4 header checksum */
#define AEG_NET_RX_UDP_CSUM_GOOD 2u  /* hardware verified the UDP checksum */
#define AEG_NET_RX_UDP_CSUM_SKIP 4u  /* do not verify the UDP checksum in software */

/* Reads only frame[0..len). Returns AEG_NET_OK and fills *out, or the
 * reason the frame must be dropped. A VLAN tag is not understood
 * (AEG_NET_OTHER). */
enum aeg_net_drop aeg_net_parse(const uint8_t *frame, uint32_t len, unsigned rx_flags,
				struct aeg_net_parsed *out);

/* ---- build -------------------------------------------------------------- */

struct aeg_net_udp_tuple {
	struct aeg_net_mac src_mac, dst_mac;
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint8_t ttl;     /* 0 means 64 */
	uint16_t ip_id;
};

/* Checksum handling on transmit. Without any flag the IPv4 header
 * checksum is computed here and the UDP checksum is 0 (allowed for IPv4;
 * Aegis frames carry their own authentication tag). */
#define AEG_NET_TX_IPV4_CSUM_HW 1u /* leave the IPv4 checksum 0 for the NIC */
#define AEG_NET_TX_UDP_CSUM_HW 2u  /* write the pseudo-header sum for the NIC to finish
				    * (what rte_ipv4_phdr_cksum gives) */
#define AEG_NET_TX_UDP_CSUM_SW 4u  /* full UDP checksum here, over the payload */

/* Writes the 42 header bytes at frame[0..42) for a payload of payload_len
 * bytes that is already at frame + 42 (read only with
 * AEG_NET_TX_UDP_CSUM_SW). Returns 0 or -EMSGSIZE (payload_len >
 * AEG_NET_UDP_PAYLOAD_MAX) or -EINVAL (both UDP checksum flags). */
int aeg_net_udp_build(uint8_t *frame, const struct aeg_net_udp_tuple *t, uint32_t payload_len,
		      unsigned tx_flags);

/* Writes an AEG_NET_ARP_FRAME_LEN-byte ARP frame from (sha, spa) about
 * (tha, tpa); eth_dst is the Ethernet destination (broadcast for a
 * request, the asker for a reply). */
void aeg_net_arp_build(uint8_t *frame, uint16_t op, const struct aeg_net_mac *eth_dst,
		       const struct aeg_net_mac *sha, uint32_t spa,
		       const struct aeg_net_mac *tha, uint32_t tpa);

/* Internet checksum (RFC 1071) of data, added to a running 32-bit sum;
 * aeg_net_csum_fold turns the sum into the 16-bit field value (the
 * complement of the folded sum, host order; a whole datagram with its
 * checksum in place folds to 0). Words are big-endian, so in a chain of
 * calls only the last piece may have an odd length. */
uint32_t aeg_net_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t aeg_net_csum_fold(uint32_t sum);

/* ---- neighbour table ---------------------------------------------------- */

/* Sizes: slot_count x 32 bytes allocated at init, slot_count the power
 * of two >= 2 x capacity (64 to 128 bytes per entry of capacity; 16 KiB
 * for the default 256); no allocation after init. Open addressing with
 * linear probing at load <= 1/2, deletion by backward shift (no
 * tombstones). A 0 in a config field selects its default; capacity above
 * 2^24 or probes_max above 65535 is -EINVAL. When the table is full, the
 * oldest entry not confirmed for reachable_ns + probes_max x retry_ns
 * (never a static one) is evicted to make room; -ENOSPC only if there is
 * none. now_ns must not go backwards. */
struct aeg_net_neigh_config {
	uint32_t capacity;     /* entries, static ones included; default 256 */
	uint64_t reachable_ns; /* a learned entry is refreshed after this; default 30 s */
	uint64_t retry_ns;     /* at most one request per address per retry_ns; default 1 s */
	uint32_t probes_max;   /* unanswered refreshes before an entry is dropped; default 3 */
};

struct aeg_net_neigh_entry; /* private */

struct aeg_net_neigh {
	struct aeg_net_neigh_config cfg;
	struct aeg_net_neigh_entry *slots;
	uint32_t slot_count; /* power of two >= 2 x capacity */
	uint32_t used;
};

/* cfg may be NULL (all defaults). Returns 0, -EINVAL or -ENOMEM. */
int aeg_net_neigh_init(struct aeg_net_neigh *t, const struct aeg_net_neigh_config *cfg);
void aeg_net_neigh_fini(struct aeg_net_neigh *t);

/* A static entry: never expires and learning never changes it. Returns 0
 * or -ENOSPC. */
int aeg_net_neigh_add_static(struct aeg_net_neigh *t, uint32_t ipv4, const struct aeg_net_mac *mac);

/* Records ipv4 -> mac seen at now_ns (from an ARP request or reply). An
 * existing non-static entry is updated and marked fresh; a new entry is
 * created only if create is set (RFC 826: learn from every request
 * addressed to us, update from any). Returns 0, or -ENOSPC (full). */
int aeg_net_neigh_learn(struct aeg_net_neigh *t, uint32_t ipv4, const struct aeg_net_mac *mac,
			uint64_t now_ns, bool create);

/* The MAC for ipv4. Returns 0 and *mac when known; -EAGAIN while it is
 * being resolved; -ENOSPC if there is no room to track it. *send_request
 * tells the caller to send an ARP request now (at most once per retry_ns
 * per address): for unknown addresses, and for known ones older than
 * reachable_ns (which are still returned). After probes_max unanswered
 * refreshes a learned entry is forgotten (-EAGAIN again, and resolved
 * from scratch). An address never answered keeps asking once per
 * retry_ns until it is learned or evicted. Static entries never ask. */
int aeg_net_neigh_lookup(struct aeg_net_neigh *t, uint32_t ipv4, uint64_t now_ns,
			 struct aeg_net_mac *mac, bool *send_request);

AEG_API_END

#endif
