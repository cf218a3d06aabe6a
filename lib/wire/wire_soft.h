/* The portable AES-128-GMAC (gmac_soft.c): used by aeg_wire_mac where the
 * CPU lacks AES-NI or PCLMULQDQ, or when asked (AEG_WIRE_MAC_SOFTWARE). */
#ifndef AEGIS_WIRE_SOFT_H
#define AEGIS_WIRE_SOFT_H

#include <stddef.h>
#include <stdint.h>

struct wire_gmac_soft {
	uint8_t rk[11][16]; /* AES-128 round keys */
	uint64_t h[2];      /* H = E(K, 0), big-endian halves */
};

void wire_aes128_expand(const uint8_t key[16], uint8_t rk[11][16]);
void wire_aes128_encrypt(const uint8_t rk[11][16], const uint8_t in[16], uint8_t out[16]);
void wire_ghash(uint64_t y[2], const uint64_t h[2], const uint8_t *data, size_t len);

void wire_gmac_soft_init(struct wire_gmac_soft *g, const uint8_t key[16]);
/* GMAC = GCM with data as the associated data and no plaintext. */
void wire_gmac_soft_tag(const struct wire_gmac_soft *g, const uint8_t *iv, size_t iv_len,
			const uint8_t *data, size_t len, uint8_t tag[16]);

#endif
