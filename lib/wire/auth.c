/* SipHash-2-4 with a 128-bit tag: the client protocol's and join
 * requests' tag (frames between workers use GMAC, mac.c). Written from the
 * SipHash paper; tests/unit/wire checks it against the reference vectors. */
#include "wire_internal.h"

#include <string.h>

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, sizeof(v));
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL64(s->v2, 32);
}

/* c = 2 compression rounds per 8-byte word. */
static inline void sip_compress(struct sip_state *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

/* d = 4 finalization rounds, then the xor of the state. */
static inline uint64_t sip_finalize(struct sip_state *s, uint64_t marker)
{
	s->v2 ^= marker;
	for (int i = 0; i < 4; i++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

void wire_siphash24_128(const uint8_t key[16], const void *data, size_t len,
			uint8_t out[16])
{
	const uint8_t *p = data;
	uint64_t k0 = load_le64(key);
	uint64_t k1 = load_le64(key + 8);
	struct sip_state s = {
		.v0 = 0x736f6d6570736575ull ^ k0,
		.v1 = 0x646f72616e646f6dull ^ k1 ^ 0xee, /* 0xee: 128-bit output */
		.v2 = 0x6c7967656e657261ull ^ k0,
		.v3 = 0x7465646279746573ull ^ k1,
	};
	size_t words = len / 8;
	for (size_t i = 0; i < words; i++)
		sip_compress(&s, load_le64(p + 8 * i));
	/* Last word: the remaining bytes and the length mod 256 on top. */
	uint64_t last = (uint64_t)len << 56;
	size_t tail = len % 8;
	for (size_t i = 0; i < tail; i++)
		last |= (uint64_t)p[8 * words + i] << (8 * i);
	sip_compress(&s, last);
	store_le64(out, sip_finalize(&s, 0xee));
	s.v1 ^= 0xdd;
	store_le64(out + 8, sip_finalize(&s, 0));
}

void aeg_wire_tag(const struct aeg_wire_key *key, const void *data, size_t len,
		  uint8_t tag[AEG_WIRE_TAG_BYTES])
{
	wire_siphash24_128(key->bytes, data, len, tag);
}

bool aeg_wire_tag_verify(const struct aeg_wire_key *key, const void *data, size_t len,
			 const uint8_t tag[AEG_WIRE_TAG_BYTES])
{
	uint8_t expect[AEG_WIRE_TAG_BYTES];
	aeg_wire_tag(key, data, len, expect);
	/* Constant time: no early exit tells a forger how many bytes matched. */
	uint8_t diff = 0;
	for (size_t i = 0; i < AEG_WIRE_TAG_BYTES; i++)
		diff |= (uint8_t)(expect[i] ^ tag[i]);
	return diff == 0;
}
