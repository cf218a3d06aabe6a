/* The frame MAC: AES-128-GMAC from libipsec-mb (why: aegis/wire.h and
 * lib/wire/README.md), or the portable code of gmac_soft.c on a CPU
 * without AES-NI and PCLMULQDQ (Debian's libipsec-mb has no code for
 * those). The library's manager is only needed to pick the code for this
 * CPU: its GMAC entry points and the expanded key are copied out and the
 * manager is freed, so a key is one read-only block that threads share. */
#include "wire_internal.h"
#include "wire_soft.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <intel-ipsec-mb.h>

struct aeg_wire_mac {
	struct gcm_key_data gk; /* first: aligned_alloc gives it 64-byte alignment */
	/* GCM encryption of nothing with the frame as AAD is GMAC; one call is
	 * 0-15% faster than gmac init/update/finalize (aegis-bench-mac). */
	aes_gcm_enc_dec_t gcm_enc;
	struct wire_gmac_soft soft; /* used when gcm_enc is NULL */
	uint8_t key_id;
	uint32_t cluster, src_node, dst_node; /* the pair the key is for */
	const char *impl;
};

static const char *arch_name(IMB_ARCH a)
{
	switch (a) {
	case IMB_ARCH_AVX512: return "avx512";
	case IMB_ARCH_AVX2: return "avx2";
	case IMB_ARCH_AVX: return "avx";
	case IMB_ARCH_SSE: return "sse";
	default: return "unknown";
	}
}

/* K_sd = AES-128(key, src_node | dst_node | cluster | "AEG2"): AES as a
 * PRF on blocks that differ for every pair (and cluster), computed with the
 * constant-time code (once per pair, not per frame). */
static void derive_pair_key(const struct aeg_wire_key *key, uint32_t cluster, uint32_t src_node,
			    uint32_t dst_node, uint8_t out[AEG_WIRE_KEY_BYTES])
{
	uint8_t rk[11][16], block[16];
	uint32_t v[3] = { src_node, dst_node, cluster };
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 4; j++)
			block[4 * i + j] = (uint8_t)(v[i] >> (8 * j));
	memcpy(block + 12, "AEG2", 4);
	wire_aes128_expand(key->bytes, rk);
	wire_aes128_encrypt(rk, block, out);
	explicit_bzero(rk, sizeof(rk));
}

int aeg_wire_mac_new(struct aeg_wire_mac **out, const struct aeg_wire_key *key, uint8_t key_id,
		     uint32_t cluster, uint32_t src_node, uint32_t dst_node, unsigned flags)
{
	*out = NULL;
	if ((flags & ~AEG_WIRE_MAC_SOFTWARE) != 0)
		return -EINVAL;
	size_t size = (sizeof(struct aeg_wire_mac) + 63) / 64 * 64;
	struct aeg_wire_mac *m = aligned_alloc(64, size);
	if (m == NULL)
		return -ENOMEM;
	memset(m, 0, size);
	m->key_id = key_id;
	m->cluster = cluster;
	m->src_node = src_node;
	m->dst_node = dst_node;
	uint8_t pair[AEG_WIRE_KEY_BYTES];
	derive_pair_key(key, cluster, src_node, dst_node, pair);
	bool hw = (flags & AEG_WIRE_MAC_SOFTWARE) == 0 && __builtin_cpu_supports("aes") &&
		  __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	IMB_MGR *mgr = hw ? alloc_mb_mgr(0) : NULL;
	if (mgr != NULL)
		init_mb_mgr_auto(mgr, NULL);
	if (mgr != NULL && imb_get_errno(mgr) == 0 && mgr->gcm128_enc != NULL) {
		IMB_AES128_GCM_PRE(mgr, pair, &m->gk);
		m->gcm_enc = mgr->gcm128_enc;
		m->impl = arch_name(mgr->used_arch);
	} else {
		/* No instructions, or the library would not start: same tags, slower. */
		wire_gmac_soft_init(&m->soft, pair);
		m->impl = "software";
	}
	if (mgr != NULL)
		free_mb_mgr(mgr);
	explicit_bzero(pair, sizeof(pair));
	*out = m;
	return 0;
}

void aeg_wire_mac_free(struct aeg_wire_mac *mac)
{
	if (mac != NULL) { /* round keys are the key: a wipe the compiler keeps */
		explicit_bzero(&mac->gk, sizeof(mac->gk));
		explicit_bzero(&mac->soft, sizeof(mac->soft));
	}
	free(mac);
}

uint8_t aeg_wire_mac_key_id(const struct aeg_wire_mac *mac)
{
	return mac->key_id;
}

bool wire_mac_is_for(const struct aeg_wire_mac *mac, uint32_t cluster, uint32_t src_node,
		     uint32_t dst_node)
{
	return mac->cluster == cluster && mac->src_node == src_node && mac->dst_node == dst_node;
}

const char *aeg_wire_mac_impl(const struct aeg_wire_mac *mac)
{
	return mac->impl;
}

void aeg_wire_mac_tag(const struct aeg_wire_mac *mac, const uint8_t iv[AEG_WIRE_IV_BYTES],
		      const void *data, size_t len, uint8_t tag[AEG_WIRE_TAG_BYTES])
{
	if (mac->gcm_enc == NULL) {
		wire_gmac_soft_tag(&mac->soft, iv, AEG_WIRE_IV_BYTES, data, len, tag);
		return;
	}
	struct gcm_context_data ctx;
	mac->gcm_enc(&mac->gk, &ctx, NULL, NULL, 0, iv, data, len, tag, AEG_WIRE_TAG_BYTES);
}

bool wire_mac_verify(const struct aeg_wire_mac *mac, const uint8_t *frame, size_t signed_len,
		     const uint8_t tag[AEG_WIRE_TAG_BYTES])
{
	uint8_t want[AEG_WIRE_TAG_BYTES];
	aeg_wire_mac_tag(mac, frame + AEG_WIRE_IV_OFFSET, frame, signed_len, want);
	/* Constant time: no early exit on the first differing byte. */
	uint8_t diff = 0;
	for (int i = 0; i < AEG_WIRE_TAG_BYTES; i++)
		diff |= (uint8_t)(want[i] ^ tag[i]);
	return diff == 0;
}
