/* lib/wire authentication. SipHash-2-4-128 (the client protocol's tag)
 * against the reference vectors and the tag check against corrupted tags,
 * data and keys. AES-128-GMAC (the frame tag) under the derived key of a
 * node pair against tags computed by an independent implementation, the
 * derivation itself, the hardware code against the software code, and its
 * sensitivity to every input, the pair included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/wire.h"
#include "wire/wire_internal.h"
#include "wire/wire_soft.h"
#include "test_prng.h"

/* vectors_sip128 from the SipHash reference distribution
 * (github.com/veorq/SipHash, vectors.h): key 00..0f, message of i bytes
 * 00..(i-1), for i = 0..63. */
static const char *const sip128_vectors[64] = {
	"a3817f04ba25a8e66df67214c7550293",
	"da87c1d86b99af44347659119b22fc45",
	"8177228da4a45dc7fca38bdef60affe4",
	"9c70b60c5267a94e5f33b6b02985ed51",
	"f88164c12d9c8faf7d0f6e7c7bcd5579",
	"1368875980776f8854527a07690e9627",
	"14eeca338b208613485ea0308fd7a15e",
	"a1f1ebbed8dbc153c0b84aa61ff08239",
	"3b62a9ba6258f5610f83e264f31497b4",
	"264499060ad9baabc47f8b02bb6d71ed",
	"00110dc378146956c95447d3f3d0fbba",
	"0151c568386b6677a2b4dc6f81e5dc18",
	"d626b266905ef35882634df68532c125",
	"9869e247e9c08b10d029934fc4b952f7",
	"31fcefac66d7de9c7ec7485fe4494902",
	"5493e99933b0a8117e08ec0f97cfc3d9",
	"6ee2a4ca67b054bbfd3315bf85230577",
	"473d06e8738db89854c066c47ae47740",
	"a426e5e423bf4885294da481feaef723",
	"78017731cf65fab074d5208952512eb1",
	"9e25fc833f2290733e9344a5e83839eb",
	"568e495abe525a218a2214cd3e071d12",
	"4a29b54552d16b9a469c10528eff0aae",
	"c9d184ddd5a9f5e0cf8ce29a9abf691c",
	"2db479ae78bd50d8882a8a178a6132ad",
	"8ece5f042d5e447b5051b9eacb8d8f6f",
	"9c0b53b4b3c307e87eaee08678141f66",
	"abf248af69a6eae4bfd3eb2f129eeb94",
	"0664da1668574b88b935f3027358aef4",
	"aa4b9dc4bf337de90cd4fd3c467c6ab7",
	"ea5c7f471faf6bde2b1ad7d4686d2287",
	"2939b0183223fafc1723de4f52c43d35",
	"7c3956ca5eeafc3e363e9d556546eb68",
	"77c6077146f01c32b6b69d5f4ea9ffcf",
	"37a6986cb8847edf0925f0f1309b54de",
	"a705f0e69da9a8f907241a2e923c8cc8",
	"3dc47d1f29c448461e9e76ed904f6711",
	"0d62bf01e6fc0e1a0d3c4751c5d3692b",
	"8c03468bca7c669ee4fd5e084bbee7b5",
	"528a5bb93baf2c9c4473cce5d0d22bd9",
	"df6a301e95c95dad97ae0cc8c6913bd8",
	"801189902c857f39e73591285e70b6db",
	"e617346ac9c231bb3650ae34ccca0c5b",
	"27d93437efb721aa401821dcec5adf89",
	"89237d9ded9c5e78d8b1c9b166cc7342",
	"4a6d8091bf5e7d651189fa94a250b14c",
	"0e33f96055e7ae893ffc0e3dcf492902",
	"e61c432b720b19d18ec8d84bdc63151b",
	"f7e5aef549f782cf379055a608269b16",
	"438d030fd0b7a54fa837f2ad201a6403",
	"a590d3ee4fbf04e3247e0d27f286423f",
	"5fe2c1a172fe93c4b15cd37caef9f538",
	"2c97325cbd06b36eb2133dd08b3a017c",
	"92c814227a6bca949ff0659f002ad39e",
	"dce850110bd8328cfbd50841d6911d87",
	"67f14984c7da791248e32bb5922583da",
	"1938f2cf72d54ee97e94166fa91d2a36",
	"74481e9646ed49fe0f6224301604698e",
	"57fca5de98a9d6d8006438d0583d8a1d",
	"9fecde1cefdc1cbed4763674d9575359",
	"e3040c00eb28f15366ca73cbd872e740",
	"7697009a6a831dfecca91c5993670f7a",
	"5853542321f567a005d547a4f04759bd",
	"5150d1772f50834a503e069a973fbd7c",
};

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		int rc = sscanf(hex + 2 * i, "%2x", &v);
		assert_int_equal(rc, 1);
		out[i] = (uint8_t)v;
	}
}

static void test_reference_vectors(void **state)
{
	(void)state;
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t len = 0; len < 64; len++) {
		uint8_t want[16], got[16];
		hex_to_bytes(sip128_vectors[len], want, sizeof(want));
		wire_siphash24_128(key, msg, len, got);
		if (memcmp(want, got, sizeof(want)) != 0)
			fail_msg("SipHash-2-4-128 differs from vectors.h at length %zu", len);
	}
}

/* The public tag is the same function under the cluster key. */
static void test_tag_is_siphash(void **state)
{
	(void)state;
	struct aeg_wire_key key;
	for (int i = 0; i < 16; i++)
		key.bytes[i] = (uint8_t)i;
	uint8_t msg[63], want[16], got[16];
	for (int i = 0; i < 63; i++)
		msg[i] = (uint8_t)i;
	hex_to_bytes(sip128_vectors[63], want, sizeof(want));
	aeg_wire_tag(&key, msg, sizeof(msg), got);
	assert_memory_equal(want, got, sizeof(want));
	assert_true(aeg_wire_tag_verify(&key, msg, sizeof(msg), want));
}

/* Longer inputs than the vectors cover: every length up to 1500 must give
 * a tag that changes when any one bit of the data changes. */
static void test_tag_rejects_changes(void **state)
{
	(void)state;
	struct aeg_wire_key key;
	for (int i = 0; i < 16; i++)
		key.bytes[i] = (uint8_t)(0xa0 + i);
	static uint8_t data[1500];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	static const size_t lens[] = {0, 1, 7, 8, 9, 15, 16, 17, 64, 100, 1400, 1500};
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];
		uint8_t tag[16];
		aeg_wire_tag(&key, data, len, tag);
		assert_true(aeg_wire_tag_verify(&key, data, len, tag));
		/* Every bit of the tag. */
		for (size_t bit = 0; bit < 128; bit++) {
			tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_false(aeg_wire_tag_verify(&key, data, len, tag));
			tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* Every bit of the data (first 256 bytes of long inputs). */
		size_t bits = (len < 256 ? len : 256) * 8;
		for (size_t bit = 0; bit < bits; bit++) {
			data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_false(aeg_wire_tag_verify(&key, data, len, tag));
			data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		/* One more or one less byte (the length is in the MAC). */
		if (len > 0)
			assert_false(aeg_wire_tag_verify(&key, data, len - 1, tag));
		if (len < sizeof(data))
			assert_false(aeg_wire_tag_verify(&key, data, len + 1, tag));
		/* Every bit of the key. */
		for (size_t bit = 0; bit < 128; bit++) {
			key.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_false(aeg_wire_tag_verify(&key, data, len, tag));
			key.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
}

/* ---- AES-128-GMAC ------------------------------------------------------ */

/* The node pair of the known answers: every byte different, so that a
 * swapped field or byte order shows. */
#define KAT_CLUSTER 0x0c0b0a09u
#define KAT_SRC 0x04030201u
#define KAT_DST 0x08070605u

static struct aeg_wire_mac *mac_new(const uint8_t key[16], uint8_t key_id, uint32_t cluster,
				    uint32_t src, uint32_t dst, unsigned flags)
{
	struct aeg_wire_key k;
	struct aeg_wire_mac *m = NULL;
	memcpy(k.bytes, key, 16);
	assert_int_equal(aeg_wire_mac_new(&m, &k, key_id, cluster, src, dst, flags), 0);
	assert_non_null(m);
	return m;
}

/* Tags by Python's cryptography package (OpenSSL's AES and GCM, not
 * libipsec-mb nor gmac_soft.c), script /tmp/wiregen/gen.py:
 *   K_sd = Cipher(AES(key), ECB()).encryptor().update(
 *              struct.pack("<III", src, dst, cluster) + b"AEG2")
 *   AESGCM(K_sd).encrypt(iv, b"", data[:len]).hex()
 * with key[i] = (0x3c ^ (i * 0x1d)) & 0xff (16 bytes), the KAT_* pair,
 * iv[i] = (0xa0 + 7 * i) & 0xff (12 bytes: GCM's fast path, J0 = IV | 1)
 * and data[i] = (i * 131 + 17) & 0xff. */
static const struct {
	size_t len;
	const char *tag;
} gmac_vectors[] = {
	{0, "cb90caade47daa6e26593f07584c163c"},
	{1, "18c7570cdde5a066b7b4aa757dc08db8"},
	{15, "34b589d786bc6626cca0f1a0840225aa"},
	{16, "9d8c78c8fca2687c533b9c7122c58e98"},
	{17, "1b3700a9d0ea5666591ba6aa15bc141c"},
	{64, "3ead92d9bb13ec2b44ca6bc4db71d886"},
	{1514, "e50860d4338c674c8a5bac00a71f992f"},
	{9000, "ad52ee2b38135d049effe9d1301dcbe4"},
};
/* The same with an all-zero key, pair (0, 0, 0) and IV, for lengths 0 and
 * 16 (zeros). */
static const char *const gmac_zero_tags[2] = {
	"aaa71a5544a11602966f280a0d659c8c",
	"396ae6aaee8459c205dc8b924651f7cd",
};

static void check_known_answers(const struct aeg_wire_mac *m, const struct aeg_wire_mac *mz)
{
	static uint8_t data[9000 + 15];
	uint8_t iv[AEG_WIRE_IV_BYTES], zero[32] = {0};
	for (int i = 0; i < AEG_WIRE_IV_BYTES; i++)
		iv[i] = (uint8_t)(0xa0 + 7 * i);
	/* Also from an odd address: mbuf data need not be aligned. */
	for (size_t off = 0; off < 16; off += 7) {
		for (size_t i = 0; i < 9000; i++)
			data[off + i] = (uint8_t)(i * 131 + 17);
		for (size_t v = 0; v < sizeof(gmac_vectors) / sizeof(gmac_vectors[0]); v++) {
			uint8_t want[16], got[16];
			hex_to_bytes(gmac_vectors[v].tag, want, 16);
			aeg_wire_mac_tag(m, iv, data + off, gmac_vectors[v].len, got);
			if (memcmp(want, got, 16) != 0)
				fail_msg("%s: GMAC differs at length %zu (offset %zu)",
					 aeg_wire_mac_impl(m), gmac_vectors[v].len, off);
		}
	}
	for (size_t i = 0; i < 2; i++) {
		uint8_t want[16], got[16];
		hex_to_bytes(gmac_zero_tags[i], want, 16);
		aeg_wire_mac_tag(mz, zero, zero, 16 * i, got);
		assert_memory_equal(want, got, 16);
	}
}

static const uint8_t kat_key[16] = {
	0x3c, 0x21, 0x06, 0x6b, 0x48, 0xad, 0x92, 0xf7,
	0xd4, 0x39, 0x1e, 0x03, 0x60, 0x45, 0xaa, 0x8f,
};

/* The code this CPU gets (AVX-512 here) against the independent tags. */
static void test_gmac_known_answers(void **state)
{
	(void)state;
	uint8_t zero[16] = {0};
	for (int i = 0; i < 16; i++) /* the table is the formula the vectors used */
		assert_int_equal(kat_key[i], (uint8_t)(0x3c ^ (i * 0x1d)));
	struct aeg_wire_mac *m = mac_new(kat_key, 3, KAT_CLUSTER, KAT_SRC, KAT_DST, 0);
	struct aeg_wire_mac *mz = mac_new(zero, 4, 0, 0, 0, 0);
	const char *impl = aeg_wire_mac_impl(m);
	assert_true(strcmp(impl, "avx512") == 0 || strcmp(impl, "avx2") == 0 ||
		    strcmp(impl, "avx") == 0 || strcmp(impl, "sse") == 0 ||
		    strcmp(impl, "software") == 0);
	check_known_answers(m, mz);
	assert_int_equal(aeg_wire_mac_key_id(m), 3);
	aeg_wire_mac_free(m);
	aeg_wire_mac_free(mz);
}

/* The pair key derivation on its own: for each (cluster key, cluster,
 * src, dst), K_sd and the tag of data[0, 64) with the KAT iv, both by
 * /tmp/wiregen/gen.py (OpenSSL's AES-ECB for K_sd, as in the comment of
 * gmac_vectors). The tag of aeg_wire_mac_new's key must be Python's, from
 * both codes; the portable GMAC under Python's K_sd gives it too, so a
 * mismatch says whether the derivation or the GMAC is off. */
static const uint8_t fx_key[16] = { /* tests/unit/wire/wire_fixture.h's */
	0x05, 0x16, 0x27, 0x38, 0x49, 0x5a, 0x6b, 0x7c,
	0x8d, 0x9e, 0xaf, 0xc0, 0xd1, 0xe2, 0xf3, 0x04,
};
static const uint8_t zero_key[16] = {0};
static const struct {
	const uint8_t *key;
	uint32_t cluster, src, dst;
	uint8_t ksd[16];
	const char *tag;
} pair_vectors[] = {
	{kat_key, KAT_CLUSTER, KAT_SRC, KAT_DST,
	 {0x8c, 0x4c, 0x94, 0xd8, 0xfa, 0x9b, 0x52, 0xa8, 0x69, 0xb2, 0xb1, 0xac, 0x2d, 0xff, 0x93, 0xc0},
	 "3ead92d9bb13ec2b44ca6bc4db71d886"},
	{kat_key, KAT_CLUSTER, KAT_DST, KAT_SRC, /* the other direction */
	 {0x9f, 0x9a, 0xf2, 0x91, 0x95, 0xb4, 0x92, 0xbf, 0x80, 0x72, 0x3a, 0x66, 0xfa, 0xf1, 0x65, 0x14},
	 "116616a54b3c86870d0d0b8231f905b8"},
	{kat_key, 0, 1, 2,
	 {0x58, 0x41, 0x8e, 0x75, 0x69, 0x15, 0x01, 0x4d, 0xd5, 0x9f, 0x56, 0xb3, 0xdc, 0x7d, 0x5c, 0x68},
	 "15c816d3196cff4e5cfaf2447e0a53d3"},
	{kat_key, 0xffffffffu, 0xffffffffu, 0xffffffffu,
	 {0xf1, 0x4b, 0x9d, 0x47, 0x85, 0x9d, 0x07, 0xba, 0x64, 0x90, 0x0c, 0x76, 0x12, 0x31, 0xfd, 0x50},
	 "0af18a8a79a356d8c0ff094d0168fa33"},
	{kat_key, KAT_CLUSTER, KAT_SRC, KAT_SRC, /* a node to itself */
	 {0x14, 0xaf, 0x31, 0x34, 0x96, 0x05, 0xcb, 0x37, 0x37, 0xfa, 0xe6, 0xa1, 0xbb, 0xc6, 0x69, 0xe6},
	 "38a8c71afde1c38f59d274e6fc92be8f"},
	{fx_key, 0xc1c2c3c4u, 1, 2, /* the fixture's node 1 -> node 2 */
	 {0x2f, 0xb0, 0x14, 0x0d, 0x98, 0xf6, 0x6f, 0x99, 0x09, 0x8c, 0x08, 0xcd, 0x9e, 0x96, 0x0f, 0x14},
	 "0cc75ae2fefbab22ba0b6f4b4ea418e9"},
	{zero_key, 0, 0, 0,
	 {0x77, 0xf3, 0x7b, 0x7e, 0x29, 0x57, 0x27, 0xe1, 0x2b, 0x50, 0xf5, 0x29, 0x0d, 0xb5, 0x01, 0x97},
	 "2c9c8d96d6f86ba773e0aa1da584316a"},
};

static void test_pair_key_known_answers(void **state)
{
	(void)state;
	for (int i = 0; i < 16; i++)
		assert_int_equal(fx_key[i], (uint8_t)(0x11 * i + 5));
	uint8_t data[64], iv[AEG_WIRE_IV_BYTES];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 131 + 17);
	for (int i = 0; i < AEG_WIRE_IV_BYTES; i++)
		iv[i] = (uint8_t)(0xa0 + 7 * i);
	for (size_t v = 0; v < sizeof(pair_vectors) / sizeof(pair_vectors[0]); v++) {
		uint8_t want[16], got[16];
		hex_to_bytes(pair_vectors[v].tag, want, 16);
		struct wire_gmac_soft g;
		wire_gmac_soft_init(&g, pair_vectors[v].ksd);
		wire_gmac_soft_tag(&g, iv, sizeof(iv), data, sizeof(data), got);
		if (memcmp(want, got, 16) != 0)
			fail_msg("vector %zu: GMAC under Python's K_sd differs", v);
		static const unsigned flags[] = {0, AEG_WIRE_MAC_SOFTWARE};
		for (size_t f = 0; f < 2; f++) {
			struct aeg_wire_mac *m =
				mac_new(pair_vectors[v].key, 1, pair_vectors[v].cluster,
					pair_vectors[v].src, pair_vectors[v].dst, flags[f]);
			aeg_wire_mac_tag(m, iv, data, sizeof(data), got);
			const char *impl = aeg_wire_mac_impl(m);
			bool same = memcmp(want, got, 16) == 0;
			aeg_wire_mac_free(m);
			if (!same)
				fail_msg("vector %zu (%s): K_sd is not Python's", v, impl);
		}
	}
}

/* One cluster key, many pair keys: for the same frame bytes and IV, any
 * one bit of cluster, src or dst gives another tag, and so does the other
 * direction; a frame from A to B under A->B's key does not verify under
 * B->A's (nor another cluster's). That is what lets the IV leave the pair
 * out (it holds only seq and workers). */
static void test_pair_keys_differ(void **state)
{
	(void)state;
	uint8_t frame[AEG_WIRE_HDR_BYTES + 32 + AEG_WIRE_TAG_BYTES], tag[16], t[16];
	const size_t signed_len = sizeof(frame) - AEG_WIRE_TAG_BYTES;
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 29 + 3);
	static const char *const names[3] = {"cluster", "src", "dst"};
	const uint32_t base[3] = {KAT_CLUSTER, KAT_SRC, KAT_DST};
	struct aeg_wire_mac *ab = mac_new(kat_key, 1, base[0], base[1], base[2], 0);
	aeg_wire_mac_tag(ab, frame + AEG_WIRE_IV_OFFSET, frame, signed_len, tag);
	for (int field = 0; field < 3; field++) {
		for (int bit = 0; bit < 32; bit++) {
			uint32_t v[3] = {base[0], base[1], base[2]};
			v[field] ^= 1u << bit;
			struct aeg_wire_mac *m = mac_new(kat_key, 1, v[0], v[1], v[2], 0);
			aeg_wire_mac_tag(m, frame + AEG_WIRE_IV_OFFSET, frame, signed_len, t);
			aeg_wire_mac_free(m);
			if (memcmp(t, tag, 16) == 0)
				fail_msg("bit %d of %s gives the same tag", bit, names[field]);
		}
	}
	/* A -> B against B -> A, and the same nodes in another cluster. */
	struct aeg_wire_mac *ba = mac_new(kat_key, 1, base[0], base[2], base[1], 0);
	struct aeg_wire_mac *other = mac_new(kat_key, 1, base[0] + 1, base[1], base[2], 0);
	memcpy(frame + signed_len, tag, 16);
	assert_true(wire_mac_verify(ab, frame, signed_len, frame + signed_len));
	assert_false(wire_mac_verify(ba, frame, signed_len, frame + signed_len));
	assert_false(wire_mac_verify(other, frame, signed_len, frame + signed_len));
	aeg_wire_mac_tag(ba, frame + AEG_WIRE_IV_OFFSET, frame, signed_len, frame + signed_len);
	assert_true(wire_mac_verify(ba, frame, signed_len, frame + signed_len));
	assert_false(wire_mac_verify(ab, frame, signed_len, frame + signed_len));
	aeg_wire_mac_free(ab);
	aeg_wire_mac_free(ba);
	aeg_wire_mac_free(other);
}

/* The portable code (AEG_WIRE_MAC_SOFTWARE: lib/wire/gmac_soft.c) gives
 * the same tags as the independent ones and as the code chosen by CPUID,
 * on random keys, pairs, IVs and lengths: a receiver may run the other one
 * than the sender. */
static void test_gmac_software_equals_hardware(void **state)
{
	(void)state;
	struct aeg_wire_mac *probe =
		mac_new(kat_key, 3, KAT_CLUSTER, KAT_SRC, KAT_DST, AEG_WIRE_MAC_SOFTWARE);
	assert_string_equal(aeg_wire_mac_impl(probe), "software");
	uint8_t zero[16] = {0};
	struct aeg_wire_mac *mz = mac_new(zero, 4, 0, 0, 0, AEG_WIRE_MAC_SOFTWARE);
	check_known_answers(probe, mz);
	aeg_wire_mac_free(probe);
	aeg_wire_mac_free(mz);

	static uint8_t data[9000];
	struct prng rng;
	prng_init(&rng, 0x6ac0001);
	for (int round = 0; round < 100; round++) {
		uint8_t key[16], iv[AEG_WIRE_IV_BYTES];
		for (int i = 0; i < 16; i++)
			key[i] = (uint8_t)prng_next(&rng);
		uint64_t r = prng_next(&rng);
		uint32_t cluster = (uint32_t)r, src = (uint32_t)(r >> 32);
		uint32_t dst = (uint32_t)prng_next(&rng);
		struct aeg_wire_mac *hw = mac_new(key, 1, cluster, src, dst, 0);
		struct aeg_wire_mac *sw = mac_new(key, 1, cluster, src, dst, AEG_WIRE_MAC_SOFTWARE);
		assert_string_equal(aeg_wire_mac_impl(sw), "software");
		for (int n = 0; n < 10; n++) {
			size_t len = prng_below(&rng, 4) == 0 ? prng_below(&rng, 65)
							      : prng_below(&rng, sizeof(data) + 1);
			for (size_t i = 0; i < len; i++)
				data[i] = (uint8_t)prng_next(&rng);
			for (int i = 0; i < AEG_WIRE_IV_BYTES; i++)
				iv[i] = (uint8_t)prng_next(&rng);
			uint8_t a[16], b[16];
			aeg_wire_mac_tag(hw, iv, data, len, a);
			aeg_wire_mac_tag(sw, iv, data, len, b);
			CHECK(&rng, memcmp(a, b, 16) == 0);
		}
		aeg_wire_mac_free(hw);
		aeg_wire_mac_free(sw);
	}
}

/* Any one bit of data, IV or cluster key changes the tag, and the frame
 * check refuses any one bit of the tag (sampled bits for long inputs).
 * (Bits of the pair: test_pair_keys_differ.) */
static void test_gmac_every_input_bit(void **state)
{
	(void)state;
	static uint8_t frame[1514 + AEG_WIRE_TAG_BYTES];
	uint8_t key[16];
	struct prng rng;
	prng_init(&rng, 0x6ac0002);
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)prng_next(&rng);
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)prng_next(&rng);
	struct aeg_wire_mac *m = mac_new(key, 1, KAT_CLUSTER, KAT_SRC, KAT_DST, 0);
	static const size_t lens[] = {0, 1, 15, 16, 17, 64, 1514};
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];
		uint8_t data[1514], iv[AEG_WIRE_IV_BYTES], tag[16], t[16];
		memcpy(data, frame, sizeof(data)); /* data[len] defined for len + 1 */
		memcpy(iv, frame + 100, sizeof(iv));
		aeg_wire_mac_tag(m, iv, data, len, tag);
		/* Data: every bit up to 64 bytes, then 512 random ones. */
		size_t bits = len * 8, tries = bits <= 512 ? bits : 512;
		for (size_t k = 0; k < tries; k++) {
			size_t bit = bits <= 512 ? k : prng_below(&rng, bits);
			data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			aeg_wire_mac_tag(m, iv, data, len, t);
			data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK(&rng, memcmp(t, tag, 16) != 0);
		}
		/* The length is authenticated: one byte less or one more. */
		if (len > 0) {
			aeg_wire_mac_tag(m, iv, data, len - 1, t);
			assert_memory_not_equal(t, tag, 16);
		}
		if (len < sizeof(data)) {
			aeg_wire_mac_tag(m, iv, data, len + 1, t);
			assert_memory_not_equal(t, tag, 16);
		}
		/* Every bit of the IV. */
		for (size_t bit = 0; bit < AEG_WIRE_IV_BYTES * 8; bit++) {
			iv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			aeg_wire_mac_tag(m, iv, data, len, t);
			iv[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_memory_not_equal(t, tag, 16);
		}
		/* Every bit of the cluster key (for two lengths: a key costs a
		 * mac_new). */
		if (len == 17 || len == 1514) {
			for (size_t bit = 0; bit < 128; bit++) {
				key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				struct aeg_wire_mac *m2 = mac_new(key, 1, KAT_CLUSTER, KAT_SRC, KAT_DST, 0);
				key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				aeg_wire_mac_tag(m2, iv, data, len, t);
				aeg_wire_mac_free(m2);
				assert_memory_not_equal(t, tag, 16);
			}
		}
	}
	/* The frame check: IV from bytes 20..31, tag after the signed bytes. */
	size_t signed_len = 200;
	aeg_wire_mac_tag(m, frame + AEG_WIRE_IV_OFFSET, frame, signed_len, frame + signed_len);
	assert_true(wire_mac_verify(m, frame, signed_len, frame + signed_len));
	for (size_t bit = 0; bit < 128; bit++) {
		frame[signed_len + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_false(wire_mac_verify(m, frame, signed_len, frame + signed_len));
		frame[signed_len + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	frame[AEG_WIRE_IV_OFFSET] ^= 0x01; /* first IV byte (seq) */
	assert_false(wire_mac_verify(m, frame, signed_len, frame + signed_len));
	frame[AEG_WIRE_IV_OFFSET] ^= 0x01;
	assert_true(wire_mac_verify(m, frame, signed_len, frame + signed_len));
	frame[AEG_WIRE_IV_OFFSET + AEG_WIRE_IV_BYTES - 1] ^= 0x80; /* last IV byte (dst_worker) */
	assert_false(wire_mac_verify(m, frame, signed_len, frame + signed_len));
	aeg_wire_mac_free(m);
}

static void test_gmac_new_flags(void **state)
{
	(void)state;
	struct aeg_wire_key key = {{0}};
	struct aeg_wire_mac *m = (struct aeg_wire_mac *)&key; /* must be cleared */
	static const unsigned bad[] = {0x2, 0x3, 0x80000000u, ~0u};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(aeg_wire_mac_new(&m, &key, 1, 1, 1, 2, bad[i]), -EINVAL);
		assert_null(m);
		m = (struct aeg_wire_mac *)&key;
	}
	/* Known flags work, and the key id is kept across its whole range. */
	assert_int_equal(aeg_wire_mac_new(&m, &key, 0, 1, 1, 2, 0), 0);
	assert_int_equal(aeg_wire_mac_key_id(m), 0);
	aeg_wire_mac_free(m);
	assert_int_equal(aeg_wire_mac_new(&m, &key, 255, 1, 1, 2, AEG_WIRE_MAC_SOFTWARE), 0);
	assert_int_equal(aeg_wire_mac_key_id(m), 255);
	aeg_wire_mac_free(m);
	aeg_wire_mac_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_tag_is_siphash),
		cmocka_unit_test(test_tag_rejects_changes),
		cmocka_unit_test(test_gmac_known_answers),
		cmocka_unit_test(test_pair_key_known_answers),
		cmocka_unit_test(test_pair_keys_differ),
		cmocka_unit_test(test_gmac_software_equals_hardware),
		cmocka_unit_test(test_gmac_every_input_bit),
		cmocka_unit_test(test_gmac_new_flags),
	};
	return cmocka_run_group_tests_name("wire_auth", tests, NULL, NULL);
}
