/* lib/net builder: the golden UDP and ARP frames byte for byte; every tx
 * checksum flag combination (hardware IPv4 leaves 0, hardware UDP writes
 * the folded pseudo-header sum, software UDP verifies on parse, a
 * computed 0 goes out as 0xffff); size and flag errors; seeded random
 * build -> parse round trips, each also cut at a random length. */
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
#include "test_prng.h"

#define IP_CSUM_OFF (AEG_NET_ETH_LEN + 10)
#define UDP_CSUM_OFF (AEG_NET_ETH_LEN + AEG_NET_IPV4_LEN + 6)

static void build_gold(uint8_t *f, unsigned flags, int want)
{
	struct aeg_net_udp_tuple t = gold_tuple();
	memcpy(f + AEG_NET_UDP_HDRS_LEN, GOLD_PAYLOAD, GOLD_PAYLOAD_LEN);
	assert_int_equal(aeg_net_udp_build(f, &t, GOLD_PAYLOAD_LEN, flags), want);
}

static void test_golden_udp(void **state)
{
	(void)state;
	uint8_t f[sizeof(gold_udp)];
	memset(f, 0xee, AEG_NET_UDP_HDRS_LEN);
	build_gold(f, AEG_NET_TX_UDP_CSUM_SW, 0);
	assert_memory_equal(f, gold_udp, sizeof(f));
}

/* All eight combinations against the independently derived values. */
static void test_tx_flags(void **state)
{
	(void)state;
	uint8_t f[sizeof(gold_udp)];
	struct aeg_net_parsed p;
	for (unsigned flags = 0; flags < 8; flags++) {
		bool hw_udp = flags & AEG_NET_TX_UDP_CSUM_HW, sw_udp = flags & AEG_NET_TX_UDP_CSUM_SW;
		memset(f, 0xee, AEG_NET_UDP_HDRS_LEN);
		if (hw_udp && sw_udp) {
			build_gold(f, flags, -EINVAL);
			continue;
		}
		build_gold(f, flags, 0);
		uint16_t ip_csum = be16_at(f + IP_CSUM_OFF), udp_csum = be16_at(f + UDP_CSUM_OFF);
		assert_int_equal(ip_csum, (flags & AEG_NET_TX_IPV4_CSUM_HW) ? 0 : GOLD_IP_CSUM);
		assert_int_equal(udp_csum, hw_udp ? GOLD_PHDR_SUM : sw_udp ? GOLD_UDP_CSUM : 0);
		/* Everything but the checksums matches the golden frame. */
		uint8_t g[sizeof(gold_udp)];
		memcpy(g, gold_udp, sizeof(g));
		be16_put(g + IP_CSUM_OFF, ip_csum);
		be16_put(g + UDP_CSUM_OFF, udp_csum);
		assert_memory_equal(f, g, sizeof(g));
		/* What a receiver sees once the NIC has done its part. */
		if (flags & AEG_NET_TX_IPV4_CSUM_HW)
			be16_put(f + IP_CSUM_OFF, GOLD_IP_CSUM);
		if (hw_udp)
			be16_put(f + UDP_CSUM_OFF, GOLD_UDP_CSUM);
		assert_int_equal(aeg_net_parse(f, sizeof(f), 0, &p), AEG_NET_OK);
		assert_int_equal(p.kind, AEG_NET_UDP);
	}
}

/* A datagram whose checksum computes to 0 is sent with 0xffff, which the
 * parser verifies. The payload word is chosen to make it so. */
static void test_udp_csum_zero(void **state)
{
	(void)state;
	uint8_t f[AEG_NET_UDP_HDRS_LEN + 2] = {0};
	struct aeg_net_udp_tuple t = gold_tuple();
	struct aeg_net_parsed p;
	assert_int_equal(aeg_net_udp_build(f, &t, 2, AEG_NET_TX_UDP_CSUM_SW), 0);
	uint16_t c0 = be16_at(f + UDP_CSUM_OFF);
	assert_int_not_equal(c0, 0xffff);
	be16_put(f + AEG_NET_UDP_HDRS_LEN, c0);
	assert_int_equal(aeg_net_udp_build(f, &t, 2, AEG_NET_TX_UDP_CSUM_SW), 0);
	assert_int_equal(be16_at(f + UDP_CSUM_OFF), 0xffff);
	assert_int_equal(aeg_net_parse(f, sizeof(f), 0, &p), AEG_NET_OK);
	f[AEG_NET_UDP_HDRS_LEN] ^= 1;
	assert_int_equal(aeg_net_parse(f, sizeof(f), 0, &p), AEG_NET_DROP_BAD_UDP_CSUM);
}

static void test_sizes(void **state)
{
	(void)state;
	struct aeg_net_udp_tuple t = gold_tuple();
	struct aeg_net_parsed p;
	uint8_t small[AEG_NET_UDP_HDRS_LEN];
	assert_int_equal(aeg_net_udp_build(small, &t, AEG_NET_UDP_PAYLOAD_MAX + 1, 0), -EMSGSIZE);
	assert_int_equal(aeg_net_udp_build(small, &t, UINT32_MAX, 0), -EMSGSIZE);
	assert_int_equal(aeg_net_udp_build(small, &t, 0, 0), 0);
	assert_int_equal(aeg_net_parse(small, sizeof(small), 0, &p), AEG_NET_OK);
	assert_int_equal(p.udp.payload_len, 0);
	size_t len = AEG_NET_UDP_HDRS_LEN + AEG_NET_UDP_PAYLOAD_MAX;
	uint8_t *big = calloc(1, len);
	assert_non_null(big);
	memset(big + AEG_NET_UDP_HDRS_LEN, 0x5a, AEG_NET_UDP_PAYLOAD_MAX);
	assert_int_equal(aeg_net_udp_build(big, &t, AEG_NET_UDP_PAYLOAD_MAX, AEG_NET_TX_UDP_CSUM_SW), 0);
	assert_int_equal(be16_at(big + AEG_NET_ETH_LEN + 2), 0xffff); /* IPv4 total length */
	assert_int_equal(aeg_net_parse(big, (uint32_t)len, 0, &p), AEG_NET_OK);
	assert_int_equal(p.udp.payload_len, AEG_NET_UDP_PAYLOAD_MAX);
	free(big);
}

static void test_arp_golden(void **state)
{
	(void)state;
	const struct aeg_net_mac a = GOLD_MAC_A, b = GOLD_MAC_B, zero = {{0}};
	uint8_t f[AEG_NET_ARP_FRAME_LEN];
	memset(f, 0xee, sizeof(f));
	aeg_net_arp_build(f, AEG_NET_ARP_REQUEST, &aeg_net_mac_broadcast, &a, GOLD_IP_A, &zero, GOLD_IP_B);
	assert_memory_equal(f, gold_arp_request, sizeof(f));
	memset(f, 0xee, sizeof(f));
	aeg_net_arp_build(f, AEG_NET_ARP_REPLY, &a, &b, GOLD_IP_B, &a, GOLD_IP_A);
	assert_memory_equal(f, gold_arp_reply, sizeof(f));
}

static void random_mac(struct prng *p, struct aeg_net_mac *m)
{
	uint64_t r = prng_next(p);
	for (int i = 0; i < 6; i++)
		m->b[i] = (uint8_t)(r >> (8 * i));
}

static const unsigned tx_flag_sets[] = {
	0, AEG_NET_TX_IPV4_CSUM_HW, AEG_NET_TX_UDP_CSUM_HW, AEG_NET_TX_UDP_CSUM_SW,
	AEG_NET_TX_IPV4_CSUM_HW | AEG_NET_TX_UDP_CSUM_HW, AEG_NET_TX_IPV4_CSUM_HW | AEG_NET_TX_UDP_CSUM_SW,
};

/* Random tuples, payloads and flags; the receive flags say what a NIC
 * would have checked for the offloaded parts. */
static void test_round_trips(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x6e6574726f756e64);
	test_seed_print("net round trips", p.seed);
	for (int round = 0; round < 3000; round++) {
		struct aeg_net_udp_tuple t;
		random_mac(&p, &t.src_mac);
		random_mac(&p, &t.dst_mac);
		t.src_ip = (uint32_t)prng_next(&p);
		t.dst_ip = (uint32_t)prng_next(&p);
		t.src_port = (uint16_t)prng_next(&p);
		t.dst_port = (uint16_t)prng_next(&p);
		t.ttl = (uint8_t)prng_next(&p);
		t.ip_id = (uint16_t)prng_next(&p);
		uint32_t plen = (uint32_t)prng_below(&p, round % 100 == 0 ? AEG_NET_UDP_PAYLOAD_MAX + 1 : 1501);
		unsigned tx = tx_flag_sets[prng_below(&p, sizeof(tx_flag_sets) / sizeof(tx_flag_sets[0]))];
		uint32_t len = AEG_NET_UDP_HDRS_LEN + plen;
		uint8_t *f = malloc(len);
		assert_non_null(f);
		for (uint32_t i = AEG_NET_UDP_HDRS_LEN; i < len; i++)
			f[i] = (uint8_t)prng_next(&p);
		CHECK(&p, aeg_net_udp_build(f, &t, plen, tx) == 0);
		CHECK(&p, f[AEG_NET_ETH_LEN + 8] == (t.ttl != 0 ? t.ttl : 64));
		unsigned rx = 0;
		if (tx & AEG_NET_TX_IPV4_CSUM_HW)
			rx |= AEG_NET_RX_IPV4_CSUM_GOOD;
		if (tx & AEG_NET_TX_UDP_CSUM_HW)
			rx |= AEG_NET_RX_UDP_CSUM_GOOD;
		struct aeg_net_parsed out;
		CHECK(&p, aeg_net_parse(f, len, rx, &out) == AEG_NET_OK);
		CHECK(&p, out.kind == AEG_NET_UDP);
		CHECK(&p, memcmp(&out.udp.src_mac, &t.src_mac, 6) == 0);
		CHECK(&p, memcmp(&out.udp.dst_mac, &t.dst_mac, 6) == 0);
		CHECK(&p, out.udp.src_ip == t.src_ip && out.udp.dst_ip == t.dst_ip);
		CHECK(&p, out.udp.src_port == t.src_port && out.udp.dst_port == t.dst_port);
		CHECK(&p, out.udp.payload_off == AEG_NET_UDP_HDRS_LEN && out.udp.payload_len == plen);
		/* A random cut, in a buffer of exactly that size. */
		uint32_t cut = (uint32_t)prng_below(&p, len);
		uint8_t *c = malloc(cut != 0 ? cut : 1);
		assert_non_null(c);
		memcpy(c, f, cut);
		CHECK(&p, aeg_net_parse(c, cut, rx, &out) == AEG_NET_DROP_TRUNCATED);
		free(c);
		/* Software-checked frames must not verify after a payload flip. */
		if ((tx & AEG_NET_TX_UDP_CSUM_SW) && plen != 0) {
			f[AEG_NET_UDP_HDRS_LEN + prng_below(&p, plen)] ^= (uint8_t)(1u << prng_below(&p, 8));
			CHECK(&p, aeg_net_parse(f, len, rx, &out) == AEG_NET_DROP_BAD_UDP_CSUM);
		}
		free(f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_udp),
		cmocka_unit_test(test_tx_flags),
		cmocka_unit_test(test_udp_csum_zero),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_arp_golden),
		cmocka_unit_test(test_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
