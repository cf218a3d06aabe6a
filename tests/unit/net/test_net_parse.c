/* lib/net parser: golden UDP and ARP frames field by field; every
 * truncation refused as truncated (frames allocated to their exact
 * length); single-bit flips in the IPv4 header; checksum flags; IPv4
 * options; fragments; IPv4 and UDP length mismatches; Ethernet padding;
 * frames that are not ours (other ethertypes, VLAN, TCP) and malformed
 * ARP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/net.h"
#include "net_fixture.h"

#define IP_OFF AEG_NET_ETH_LEN
#define UDP_OFF (AEG_NET_ETH_LEN + AEG_NET_IPV4_LEN)

/* Parses a heap copy of exactly len bytes. */
static enum aeg_net_drop parse_exact(const uint8_t *src, size_t len, unsigned flags,
				     struct aeg_net_parsed *out)
{
	uint8_t *f = frame_dup(src, len);
	enum aeg_net_drop why = aeg_net_parse(f, (uint32_t)len, flags, out);
	free(f);
	return why;
}

static void test_golden_udp(void **state)
{
	(void)state;
	struct aeg_net_parsed p;
	const struct aeg_net_mac a = GOLD_MAC_A, b = GOLD_MAC_B;
	assert_int_equal(parse_exact(gold_udp, sizeof(gold_udp), 0, &p), AEG_NET_OK);
	assert_int_equal(p.kind, AEG_NET_UDP);
	assert_memory_equal(&p.udp.src_mac, &a, sizeof(a));
	assert_memory_equal(&p.udp.dst_mac, &b, sizeof(b));
	assert_int_equal(p.udp.src_ip, GOLD_IP_A);
	assert_int_equal(p.udp.dst_ip, GOLD_IP_B);
	assert_int_equal(p.udp.src_port, GOLD_PORT_A);
	assert_int_equal(p.udp.dst_port, GOLD_PORT_B);
	assert_int_equal(p.udp.payload_off, AEG_NET_UDP_HDRS_LEN);
	assert_int_equal(p.udp.payload_len, GOLD_PAYLOAD_LEN);
	assert_memory_equal(gold_udp + p.udp.payload_off, GOLD_PAYLOAD, GOLD_PAYLOAD_LEN);
}

static void check_golden_arp(const uint8_t *frame, uint16_t op, struct aeg_net_mac sha, uint32_t spa,
			     struct aeg_net_mac tha, uint32_t tpa)
{
	struct aeg_net_parsed p;
	assert_int_equal(parse_exact(frame, AEG_NET_ARP_FRAME_LEN, 0, &p), AEG_NET_OK);
	assert_int_equal(p.kind, AEG_NET_ARP);
	assert_int_equal(p.arp.op, op);
	assert_memory_equal(&p.arp.sha, &sha, sizeof(sha));
	assert_memory_equal(&p.arp.tha, &tha, sizeof(tha));
	assert_int_equal(p.arp.spa, spa);
	assert_int_equal(p.arp.tpa, tpa);
	/* Without the padding (42 bytes) the frame is still whole. */
	assert_int_equal(parse_exact(frame, AEG_NET_ETH_LEN + 28, 0, &p), AEG_NET_OK);
	assert_int_equal(p.kind, AEG_NET_ARP);
}

static void test_golden_arp(void **state)
{
	(void)state;
	const struct aeg_net_mac a = GOLD_MAC_A, b = GOLD_MAC_B, zero = {{0}};
	check_golden_arp(gold_arp_request, AEG_NET_ARP_REQUEST, a, GOLD_IP_A, zero, GOLD_IP_B);
	check_golden_arp(gold_arp_reply, AEG_NET_ARP_REPLY, b, GOLD_IP_B, a, GOLD_IP_A);
}

/* Every proper prefix of a valid frame, with every flag combination. */
static void test_truncations(void **state)
{
	(void)state;
	struct aeg_net_parsed p;
	for (unsigned flags = 0; flags < 8; flags++) {
		for (size_t n = 0; n < sizeof(gold_udp); n++)
			assert_int_equal(parse_exact(gold_udp, n, flags, &p), AEG_NET_DROP_TRUNCATED);
		for (size_t n = 0; n < AEG_NET_ETH_LEN + 28; n++) {
			assert_int_equal(parse_exact(gold_arp_request, n, flags, &p), AEG_NET_DROP_TRUNCATED);
			assert_int_equal(parse_exact(gold_arp_reply, n, flags, &p), AEG_NET_DROP_TRUNCATED);
		}
	}
	assert_int_equal(aeg_net_parse(NULL, 0, 0, &p), AEG_NET_DROP_TRUNCATED);
}

/* Any single-bit flip in the IPv4 header is caught: version and IHL by
 * their own checks, everything else by the header checksum, unless the
 * NIC says the checksum is good; then the UDP checksum still covers the
 * addresses through the pseudo-header. */
static void test_ipv4_bit_flips(void **state)
{
	(void)state;
	uint8_t f[sizeof(gold_udp)];
	struct aeg_net_parsed p;
	for (unsigned bit = 0; bit < AEG_NET_IPV4_LEN * 8; bit++) {
		memcpy(f, gold_udp, sizeof(f));
		f[IP_OFF + bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		enum aeg_net_drop why = parse_exact(f, sizeof(f), 0, &p);
		if (bit < 4)
			assert_int_equal(why, AEG_NET_DROP_BAD_IPV4);
		else if (bit < 8)
			assert_int_not_equal(why, AEG_NET_OK); /* IHL 1, 4, 7 or 13 */
		else
			assert_int_equal(why, AEG_NET_DROP_BAD_IPV4_CSUM);
	}
	/* Source address flip, IPv4 checksum trusted: UDP checksum fails. */
	memcpy(f, gold_udp, sizeof(f));
	f[IP_OFF + 12] ^= 1;
	assert_int_equal(parse_exact(f, sizeof(f), AEG_NET_RX_IPV4_CSUM_GOOD, &p),
			 AEG_NET_DROP_BAD_UDP_CSUM);
	assert_int_equal(parse_exact(f, sizeof(f), AEG_NET_RX_IPV4_CSUM_GOOD | AEG_NET_RX_UDP_CSUM_SKIP, &p),
			 AEG_NET_OK);
	assert_int_equal(p.udp.src_ip, GOLD_IP_A ^ 0x01000000u);
}

static void test_udp_csum(void **state)
{
	(void)state;
	uint8_t f[sizeof(gold_udp)];
	struct aeg_net_parsed p;
	memcpy(f, gold_udp, sizeof(f));
	f[sizeof(f) - 1] ^= 0x10; /* payload */
	assert_int_equal(parse_exact(f, sizeof(f), 0, &p), AEG_NET_DROP_BAD_UDP_CSUM);
	assert_int_equal(parse_exact(f, sizeof(f), AEG_NET_RX_IPV4_CSUM_GOOD, &p), AEG_NET_DROP_BAD_UDP_CSUM);
	assert_int_equal(parse_exact(f, sizeof(f), AEG_NET_RX_UDP_CSUM_GOOD, &p), AEG_NET_OK);
	assert_int_equal(parse_exact(f, sizeof(f), AEG_NET_RX_UDP_CSUM_SKIP, &p), AEG_NET_OK);
	/* A checksum of 0 means none. */
	be16_put(f + UDP_OFF + 6, 0);
	assert_int_equal(parse_exact(f, sizeof(f), 0, &p), AEG_NET_OK);
	assert_int_equal(p.kind, AEG_NET_UDP);
}

/* One 4-byte option (four NOPs): skipped, payload found after it. */
static void test_ipv4_options(void **state)
{
	(void)state;
	uint8_t f[sizeof(gold_udp) + 4];
	struct aeg_net_parsed p;
	memcpy(f, gold_udp, UDP_OFF);
	memset(f + UDP_OFF, 0x01, 4);
	memcpy(f + UDP_OFF + 4, gold_udp + UDP_OFF, sizeof(gold_udp) - UDP_OFF);
	f[IP_OFF] = 0x46;
	be16_put(f + IP_OFF + 2, (uint16_t)(be16_at(f + IP_OFF + 2) + 4));
	fix_ip_csum(f);
	assert_int_equal(parse_exact(f, sizeof(f), 0, &p), AEG_NET_OK);
	assert_int_equal(p.kind, AEG_NET_UDP);
	assert_int_equal(p.udp.payload_off, AEG_NET_UDP_HDRS_LEN + 4);
	assert_int_equal(p.udp.payload_len, GOLD_PAYLOAD_LEN);
	for (size_t n = 0; n < sizeof(f); n++)
		assert_int_equal(parse_exact(f, n, 0, &p), AEG_NET_DROP_TRUNCATED);
}

static enum aeg_net_drop parse_with_frag(uint16_t frag)
{
	uint8_t f[sizeof(gold_udp)];
	struct aeg_net_parsed p;
	memcpy(f, gold_udp, sizeof(f));
	be16_put(f + IP_OFF + 6, frag);
	fix_ip_csum(f);
	return parse_exact(f, sizeof(f), 0, &p);
}

static void test_fragments(void **state)
{
	(void)state;
	assert_int_equal(parse_with_frag(0x4000), AEG_NET_OK); /* DF */
	assert_int_equal(parse_with_frag(0x0000), AEG_NET_OK);
	assert_int_equal(parse_with_frag(0x2000), AEG_NET_DROP_FRAGMENT); /* MF, first */
	assert_int_equal(parse_with_frag(0x0001), AEG_NET_DROP_FRAGMENT); /* last */
	assert_int_equal(parse_with_frag(0x2001), AEG_NET_DROP_FRAGMENT);
	assert_int_equal(parse_with_frag(0x1fff), AEG_NET_DROP_FRAGMENT);
}

static enum aeg_net_drop parse_with_lens(int ip_total, int udp_len, unsigned flags)
{
	uint8_t f[sizeof(gold_udp)];
	struct aeg_net_parsed p;
	memcpy(f, gold_udp, sizeof(f));
	if (ip_total >= 0)
		be16_put(f + IP_OFF + 2, (uint16_t)ip_total);
	if (udp_len >= 0)
		be16_put(f + UDP_OFF + 4, (uint16_t)udp_len);
	fix_ip_csum(f);
	return parse_exact(f, sizeof(f), flags, &p);
}

static void test_length_mismatches(void **state)
{
	(void)state;
	const int total = 20 + 8 + GOLD_PAYLOAD_LEN, ulen = 8 + GOLD_PAYLOAD_LEN;
	assert_int_equal(parse_with_lens(total, ulen, 0), AEG_NET_OK);
	assert_int_equal(parse_with_lens(19, -1, 0), AEG_NET_DROP_BAD_IPV4_LEN);
	assert_int_equal(parse_with_lens(0, -1, 0), AEG_NET_DROP_BAD_IPV4_LEN);
	assert_int_equal(parse_with_lens(total + 1, -1, 0), AEG_NET_DROP_TRUNCATED);
	assert_int_equal(parse_with_lens(0xffff, -1, 0), AEG_NET_DROP_TRUNCATED);
	assert_int_equal(parse_with_lens(20 + 7, -1, 0), AEG_NET_DROP_BAD_UDP_LEN);
	assert_int_equal(parse_with_lens(20, -1, 0), AEG_NET_DROP_BAD_UDP_LEN);
	static const int bad_udp[] = {0, 7, 8, ulen - 1, ulen + 1, 0xffff};
	for (size_t i = 0; i < sizeof(bad_udp) / sizeof(bad_udp[0]); i++)
		assert_int_equal(parse_with_lens(-1, bad_udp[i], AEG_NET_RX_UDP_CSUM_SKIP),
				 AEG_NET_DROP_BAD_UDP_LEN);
	/* IPv4 shorter than the frame: the rest is padding, but the UDP
	 * length must then match the shorter datagram. */
	assert_int_equal(parse_with_lens(total - 1, -1, 0), AEG_NET_DROP_BAD_UDP_LEN);
}

/* A 2-byte payload in a 60-byte frame: 16 bytes of (non-zero) padding
 * are not payload and are not covered by the UDP checksum. */
static void test_ethernet_padding(void **state)
{
	(void)state;
	uint8_t f[60];
	struct aeg_net_parsed p;
	struct aeg_net_udp_tuple t = gold_tuple();
	memset(f, 0xa5, sizeof(f));
	f[AEG_NET_UDP_HDRS_LEN] = 'o';
	f[AEG_NET_UDP_HDRS_LEN + 1] = 'k';
	assert_int_equal(aeg_net_udp_build(f, &t, 2, AEG_NET_TX_UDP_CSUM_SW), 0);
	assert_int_not_equal(be16_at(f + UDP_OFF + 6), 0);
	for (unsigned flags = 0; flags < 8; flags++) {
		assert_int_equal(parse_exact(f, sizeof(f), flags, &p), AEG_NET_OK);
		assert_int_equal(p.kind, AEG_NET_UDP);
		assert_int_equal(p.udp.payload_off, AEG_NET_UDP_HDRS_LEN);
		assert_int_equal(p.udp.payload_len, 2);
	}
	for (size_t n = 0; n < AEG_NET_UDP_HDRS_LEN + 2; n++)
		assert_int_equal(parse_exact(f, n, 0, &p), AEG_NET_DROP_TRUNCATED);
	for (size_t n = AEG_NET_UDP_HDRS_LEN + 2; n <= sizeof(f); n++)
		assert_int_equal(parse_exact(f, n, 0, &p), AEG_NET_OK);
}

static void test_not_ours(void **state)
{
	(void)state;
	uint8_t f[sizeof(gold_udp)];
	struct aeg_net_parsed p;
	static const uint16_t types[] = {0x86dd, 0x8100, 0x88cc, 0x0000, 0xffff};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memcpy(f, gold_udp, sizeof(f));
		be16_put(f + 12, types[i]);
		assert_int_equal(parse_exact(f, sizeof(f), 0, &p), AEG_NET_OK);
		assert_int_equal(p.kind, AEG_NET_OTHER);
		/* Only the Ethernet header is needed to say so. */
		assert_int_equal(parse_exact(f, AEG_NET_ETH_LEN, 0, &p), AEG_NET_OK);
		assert_int_equal(p.kind, AEG_NET_OTHER);
	}
	memcpy(f, gold_udp, sizeof(f));
	f[IP_OFF + 9] = 6; /* TCP */
	fix_ip_csum(f);
	assert_int_equal(parse_exact(f, sizeof(f), 0, &p), AEG_NET_OK);
	assert_int_equal(p.kind, AEG_NET_OTHER);
}

static void test_bad_arp(void **state)
{
	(void)state;
	static const struct {
		size_t off;
		uint8_t v;
	} bad[] = {
		{14, 0x01}, /* htype 0x0101 */
		{15, 0x06}, /* htype 6 */
		{16, 0x86}, /* ptype 0x8600 */
		{18, 0x08}, /* hlen 8 */
		{19, 0x10}, /* plen 16 */
		{21, 0x03}, /* op 3 */
		{21, 0x00}, /* op 0 */
		{20, 0x01}, /* op 0x0101 */
	};
	uint8_t f[AEG_NET_ARP_FRAME_LEN];
	struct aeg_net_parsed p;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(f, gold_arp_request, sizeof(f));
		f[bad[i].off] = bad[i].v;
		assert_int_equal(parse_exact(f, sizeof(f), 0, &p), AEG_NET_DROP_BAD_ARP);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_udp),
		cmocka_unit_test(test_golden_arp),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_ipv4_bit_flips),
		cmocka_unit_test(test_udp_csum),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_length_mismatches),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_not_ours),
		cmocka_unit_test(test_bad_arp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
