/* AES-128-GMAC in portable C, for CPUs without AES-NI and PCLMULQDQ
 * (libipsec-mb as packaged in Debian has no code for them) and as a
 * second implementation the tests hold libipsec-mb's against. Written from
 * FIPS-197 and NIST SP 800-38D. Constant time: no table lookups and no
 * branches on the key or the data. The S-box is the inverse in GF(2^8)
 * (x^254, eleven multiplications) and the affine map, computed on eight
 * bytes at once in a 64-bit word; GHASH multiplies with integer
 * multiplications masked so that carries cannot cross bit lanes (the
 * "ctmul64" method). Slow next to the hardware (aegis-bench-mac: ~100x),
 * which is why aeg_wire_mac_new says which code it chose. */
#include "wire_soft.h"

#include <string.h>

#define LO8 0x0101010101010101ull

/* ---- AES-128 encryption -------------------------------------------------- */

/* Each byte of x times 2 in GF(2^8) mod x^8 + x^4 + x^3 + x + 1. */
static inline uint64_t xtime8(uint64_t x)
{
	return ((x & 0x7f7f7f7f7f7f7f7full) << 1) ^ (((x >> 7) & LO8) * 0x1b);
}

/* Bytewise a * b in GF(2^8). */
static uint64_t gmul8(uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	for (int i = 0; i < 8; i++) {
		r ^= a & (((b >> i) & LO8) * 0xff);
		a = xtime8(a);
	}
	return r;
}

/* Bytewise rotation left by k (1..7) of every byte. */
static inline uint64_t rotl8(uint64_t x, int k)
{
	uint64_t hi = LO8 * (uint64_t)((0xffu << k) & 0xffu);
	return ((x << k) & hi) | ((x >> (8 - k)) & ~hi);
}

/* The S-box of eight bytes: inverse (x^254, 0 -> 0), then the affine map. */
static uint64_t sub8(uint64_t x)
{
	uint64_t x2 = gmul8(x, x), x3 = gmul8(x2, x);
	uint64_t x6 = gmul8(x3, x3), x12 = gmul8(x6, x6), x15 = gmul8(x12, x3);
	uint64_t x30 = gmul8(x15, x15), x60 = gmul8(x30, x30), x120 = gmul8(x60, x60);
	uint64_t x240 = gmul8(x120, x120), x252 = gmul8(x240, x12);
	uint64_t b = gmul8(x252, x2);
	return b ^ rotl8(b, 1) ^ rotl8(b, 2) ^ rotl8(b, 3) ^ rotl8(b, 4) ^ (LO8 * 0x63);
}

static inline uint64_t ld64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void sub_bytes(uint8_t s[16])
{
	st64(s, sub8(ld64(s)));
	st64(s + 8, sub8(ld64(s + 8)));
}

/* State bytes are column by column: s[4 * c + r]. Row r moves left by r. */
static void shift_rows(uint8_t s[16])
{
	uint8_t t[16];
	for (int c = 0; c < 4; c++)
		for (int r = 0; r < 4; r++)
			t[4 * c + r] = s[4 * ((c + r) % 4) + r];
	memcpy(s, t, 16);
}

/* b_r = 2(a_r ^ a_r+1) ^ a_r+1 ^ a_r+2 ^ a_r+3, four columns at once. */
static void mix_columns(uint8_t s[16])
{
	for (int h = 0; h < 16; h += 8) {
		uint64_t a = ld64(s + h);
		/* Rotate each 32-bit column right by 8k bits: row r gets row r+k. */
#define ROT(x, k) ((((x) >> (8 * (k))) & (0xffffffffull >> (8 * (k))) * 0x100000001ull) | \
		   (((x) << (32 - 8 * (k))) & ((0xffffffffull << (32 - 8 * (k))) & 0xffffffffull) * 0x100000001ull))
		uint64_t r1 = ROT(a, 1), r2 = ROT(a, 2), r3 = ROT(a, 3);
#undef ROT
		st64(s + h, xtime8(a ^ r1) ^ r1 ^ r2 ^ r3);
	}
}

void wire_aes128_expand(const uint8_t key[16], uint8_t rk[11][16])
{
	memcpy(rk[0], key, 16);
	uint8_t rcon = 1;
	for (int i = 1; i <= 10; i++) {
		const uint8_t *p = rk[i - 1];
		/* RotWord then SubWord of the last word, and the round constant. */
		uint8_t w[8] = { p[13], p[14], p[15], p[12], 0, 0, 0, 0 };
		st64(w, sub8(ld64(w)));
		w[0] ^= rcon;
		rcon = (uint8_t)((rcon << 1) ^ ((rcon >> 7) * 0x1b));
		for (int j = 0; j < 4; j++)
			rk[i][j] = (uint8_t)(p[j] ^ w[j]);
		for (int j = 4; j < 16; j++)
			rk[i][j] = (uint8_t)(p[j] ^ rk[i][j - 4]);
	}
}

void wire_aes128_encrypt(const uint8_t rk[11][16], const uint8_t in[16], uint8_t out[16])
{
	uint8_t s[16];
	for (int i = 0; i < 16; i++)
		s[i] = (uint8_t)(in[i] ^ rk[0][i]);
	for (int round = 1; round <= 10; round++) {
		sub_bytes(s);
		shift_rows(s);
		if (round != 10)
			mix_columns(s);
		for (int i = 0; i < 16; i++)
			s[i] ^= rk[round][i];
	}
	memcpy(out, s, 16);
}

/* ---- GHASH ---------------------------------------------------------------- */

static inline uint64_t ld64be(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline void st64be(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Low 64 bits of the carry-less product: four interleaved bit lanes, one
 * bit in four, leave room for the carries of the integer products. */
static inline uint64_t bmul64(uint64_t x, uint64_t y)
{
	const uint64_t m0 = 0x1111111111111111ull, m1 = m0 << 1, m2 = m0 << 2, m3 = m0 << 3;
	uint64_t x0 = x & m0, x1 = x & m1, x2 = x & m2, x3 = x & m3;
	uint64_t y0 = y & m0, y1 = y & m1, y2 = y & m2, y3 = y & m3;
	uint64_t z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
	uint64_t z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
	uint64_t z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
	uint64_t z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
	return (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3);
}

static inline uint64_t rev64(uint64_t x)
{
#define SW(s, m) x = ((x & (uint64_t)(m)) << (s)) | ((x >> (s)) & (uint64_t)(m))
	SW(1, 0x5555555555555555ull);
	SW(2, 0x3333333333333333ull);
	SW(4, 0x0F0F0F0F0F0F0F0Full);
#undef SW
	return __builtin_bswap64(x);
}

/* y = (y ^ block) * H for every 16-byte block of data (the last one
 * padded with zeros). y and H are big-endian halves: [0] the first 8 bytes. */
void wire_ghash(uint64_t y[2], const uint64_t h[2], const uint8_t *data, size_t len)
{
	uint64_t h1 = h[0], h0 = h[1];
	uint64_t h0r = rev64(h0), h1r = rev64(h1), h2 = h0 ^ h1, h2r = h0r ^ h1r;
	uint64_t y1 = y[0], y0 = y[1];
	while (len > 0) {
		uint8_t tmp[16];
		const uint8_t *src = data;
		if (len >= 16) {
			data += 16;
			len -= 16;
		} else {
			memset(tmp, 0, sizeof(tmp));
			memcpy(tmp, data, len);
			src = tmp;
			len = 0;
		}
		y1 ^= ld64be(src);
		y0 ^= ld64be(src + 8);
		/* Karatsuba: three products for the low halves, three on the
		 * bit-reversed operands for the high halves. */
		uint64_t y0r = rev64(y0), y1r = rev64(y1), y2 = y0 ^ y1, y2r = y0r ^ y1r;
		uint64_t z0 = bmul64(y0, h0), z1 = bmul64(y1, h1), z2 = bmul64(y2, h2);
		uint64_t z0h = bmul64(y0r, h0r), z1h = bmul64(y1r, h1r), z2h = bmul64(y2r, h2r);
		z2 ^= z0 ^ z1;
		z2h ^= z0h ^ z1h;
		z0h = rev64(z0h) >> 1;
		z1h = rev64(z1h) >> 1;
		z2h = rev64(z2h) >> 1;
		uint64_t v0 = z0, v1 = z0h ^ z2, v2 = z1 ^ z2h, v3 = z1h;
		/* GCM's bit order: shift the 256-bit product left by one, then
		 * reduce mod x^128 + x^7 + x^2 + x + 1. */
		v3 = (v3 << 1) | (v2 >> 63);
		v2 = (v2 << 1) | (v1 >> 63);
		v1 = (v1 << 1) | (v0 >> 63);
		v0 = v0 << 1;
		v2 ^= v0 ^ (v0 >> 1) ^ (v0 >> 2) ^ (v0 >> 7);
		v1 ^= (v0 << 63) ^ (v0 << 62) ^ (v0 << 57);
		v3 ^= v1 ^ (v1 >> 1) ^ (v1 >> 2) ^ (v1 >> 7);
		v2 ^= (v1 << 63) ^ (v1 << 62) ^ (v1 << 57);
		y0 = v2;
		y1 = v3;
	}
	y[0] = y1;
	y[1] = y0;
}

/* ---- GMAC ------------------------------------------------------------------ */

void wire_gmac_soft_init(struct wire_gmac_soft *g, const uint8_t key[16])
{
	wire_aes128_expand(key, g->rk);
	uint8_t zero[16] = { 0 }, hb[16];
	wire_aes128_encrypt(g->rk, zero, hb);
	g->h[0] = ld64be(hb);
	g->h[1] = ld64be(hb + 8);
}

static void len_block(uint64_t y[2], const uint64_t h[2], uint64_t a_bits, uint64_t c_bits)
{
	uint8_t b[16];
	st64be(b, a_bits);
	st64be(b + 8, c_bits);
	wire_ghash(y, h, b, 16);
}

void wire_gmac_soft_tag(const struct wire_gmac_soft *g, const uint8_t *iv, size_t iv_len,
			const uint8_t *data, size_t len, uint8_t tag[16])
{
	/* J0: the IV and 1 for a 12-byte IV, else GHASH(IV, pad, length). */
	uint8_t j0[16];
	if (iv_len == 12) {
		memcpy(j0, iv, 12);
		j0[12] = j0[13] = j0[14] = 0;
		j0[15] = 1;
	} else {
		uint64_t y[2] = { 0, 0 };
		wire_ghash(y, g->h, iv, iv_len);
		len_block(y, g->h, 0, (uint64_t)iv_len * 8);
		st64be(j0, y[0]);
		st64be(j0 + 8, y[1]);
	}
	/* S = GHASH(A, pad, len(A) | len(C) = 0); tag = E(K, J0) ^ S. */
	uint64_t s[2] = { 0, 0 };
	wire_ghash(s, g->h, data, len);
	len_block(s, g->h, (uint64_t)len * 8, 0);
	uint8_t ek[16];
	wire_aes128_encrypt(g->rk, j0, ek);
	st64be(tag, s[0]);
	st64be(tag + 8, s[1]);
	for (int i = 0; i < 16; i++)
		tag[i] ^= ek[i];
}
