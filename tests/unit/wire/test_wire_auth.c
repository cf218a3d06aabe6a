/* lib/wire authentication. SipHash-2-4-128 (the client protocol's tag)
 * against the reference vectors and the tag check against corrupted tags,
 * data and keys. AES-128-GMAC (the frame tag) against tags computed by an
 * independent implementation, the hardware code against the software
 * code, and its sensitivity to every input. */
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

static struct aeg_wire_mac *mac_new(const uint8_t key[16], uint8_t key_id, unsigned flags)
{
	struct aeg_wire_key k;
	struct aeg_wire_mac *m = NULL;
	memcpy(k.bytes, key, 16);
	assert_int_equal(aeg_wire_mac_new(&m, &k, key_id, flags), 0);
	assert_non_null(m);
	return m;
}

/* Tags by Python's cryptography package (OpenSSL's GCM, not libipsec-mb):
 *   AESGCM(key).encrypt(iv, b"", data[:len]).hex()
 * with key[i] = (0x3c ^ (i * 0x1d)) & 0xff (16 bytes), iv[i] = (0xa0 + 7 * i)
 * & 0xff (28 bytes) and data[i] = (i * 131 + 17) & 0xff. A 28-byte IV is
 * not GCM's 12-byte fast path: the IV goes through GHASH first. */
static const struct {
	size_t len;
	const char *tag;
} gmac_vectors[] = {
	{0, "240d13e6d5b7f4588d399a69c18fdb94"},
	{1, "055578b91937660ed5a7155936469157"},
	{15, "b43cbed7f55688112205609a93ad5349"},
	{16, "b46d6c7c26dec9ae176927e65d918a54"},
	{17, "f477f4cd1b97fc35c01725293e8f34af"},
	{64, "3e86b405e30b55cf71da1c1785d19bbb"},
	{1514, "ad898f617a10c35f13e1ee30a52fc334"},
	{9000, "8eb0811fad04e047f9e276a5fe9e2889"},
};
/* The same with an all-zero key and IV, for lengths 0 and 16 (zeros). */
static const char *const gmac_zero_tags[2] = {
	"dd67b437757ea3f43ec90f396917cea7",
	"a447a3d94222874ed782dbd6e33bf52f",
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
	struct aeg_wire_mac *m = mac_new(kat_key, 3, 0);
	struct aeg_wire_mac *mz = mac_new(zero, 4, 0);
	const char *impl = aeg_wire_mac_impl(m);
	assert_true(strcmp(impl, "avx512") == 0 || strcmp(impl, "avx2") == 0 ||
		    strcmp(impl, "avx") == 0 || strcmp(impl, "sse") == 0 ||
		    strcmp(impl, "software") == 0);
	check_known_answers(m, mz);
	assert_int_equal(aeg_wire_mac_key_id(m), 3);
	aeg_wire_mac_free(m);
	aeg_wire_mac_free(mz);
}

/* The portable code (AEG_WIRE_MAC_SOFTWARE: lib/wire/gmac_soft.c) gives
 * the same tags as the independent ones and as the code chosen by CPUID,
 * on random keys, IVs and lengths: a receiver may run the other one than
 * the sender. */
static void test_gmac_software_equals_hardware(void **state)
{
	(void)state;
	struct aeg_wire_mac *probe = mac_new(kat_key, 3, AEG_WIRE_MAC_SOFTWARE);
	assert_string_equal(aeg_wire_mac_impl(probe), "software");
	uint8_t zero[16] = {0};
	struct aeg_wire_mac *mz = mac_new(zero, 4, AEG_WIRE_MAC_SOFTWARE);
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
		struct aeg_wire_mac *hw = mac_new(key, 1, 0);
		struct aeg_wire_mac *sw = mac_new(key, 1, AEG_WIRE_MAC_SOFTWARE);
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

/* Any one bit of data, IV or key changes the tag, and the frame check
 * refuses any one bit of the tag (sampled bits for long inputs). */
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
	struct aeg_wire_mac *m = mac_new(key, 1, 0);
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
		/* Every bit of the key (for two lengths: a key costs a mac_new). */
		if (len == 17 || len == 1514) {
			for (size_t bit = 0; bit < 128; bit++) {
				key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				struct aeg_wire_mac *m2 = mac_new(key, 1, 0);
				key[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				aeg_wire_mac_tag(m2, iv, data, len, t);
				aeg_wire_mac_free(m2);
				assert_memory_not_equal(t, tag, 16);
			}
		}
	}
	/* The frame check: IV from bytes 8..35, tag after the signed bytes. */
	size_t signed_len = 200;
	aeg_wire_mac_tag(m, frame + AEG_WIRE_IV_OFFSET, frame, signed_len, frame + signed_len);
	assert_true(wire_mac_verify(m, frame, signed_len, frame + signed_len));
	for (size_t bit = 0; bit < 128; bit++) {
		frame[signed_len + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_false(wire_mac_verify(m, frame, signed_len, frame + signed_len));
		frame[signed_len + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	frame[AEG_WIRE_IV_OFFSET + AEG_WIRE_IV_BYTES - 1] ^= 0x80; /* last IV byte */
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
		assert_int_equal(aeg_wire_mac_new(&m, &key, 1, bad[i]), -EINVAL);
		assert_null(m);
		m = (struct aeg_wire_mac *)&key;
	}
	/* Known flags work, and the key id is kept across its whole range. */
	assert_int_equal(aeg_wire_mac_new(&m, &key, 0, 0), 0);
	assert_int_equal(aeg_wire_mac_key_id(m), 0);
	aeg_wire_mac_free(m);
	assert_int_equal(aeg_wire_mac_new(&m, &key, 255, 0), 0);
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
		cmocka_unit_test(test_gmac_software_equals_hardware),
		cmocka_unit_test(test_gmac_every_input_bit),
		cmocka_unit_test(test_gmac_new_flags),
	};
	return cmocka_run_group_tests_name("wire_auth", tests, NULL, NULL);
}
