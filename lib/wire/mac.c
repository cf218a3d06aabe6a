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
	aes_gmac_init_t init;
	aes_gmac_update_t update;
	aes_gmac_finalize_t finalize;
	struct wire_gmac_soft soft; /* used when init is NULL */
	uint8_t key_id;
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

int aeg_wire_mac_new(struct aeg_wire_mac **out, const struct aeg_wire_key *key, uint8_t key_id,
		     unsigned flags)
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
	bool hw = (flags & AEG_WIRE_MAC_SOFTWARE) == 0 && __builtin_cpu_supports("aes") &&
		  __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	IMB_MGR *mgr = hw ? alloc_mb_mgr(0) : NULL;
	if (mgr != NULL)
		init_mb_mgr_auto(mgr, NULL);
	if (mgr != NULL && imb_get_errno(mgr) == 0 && mgr->gmac128_init != NULL) {
		IMB_AES128_GCM_PRE(mgr, key->bytes, &m->gk);
		m->init = mgr->gmac128_init;
		m->update = mgr->gmac128_update;
		m->finalize = mgr->gmac128_finalize;
		m->impl = arch_name(mgr->used_arch);
	} else {
		/* No instructions, or the library would not start: same tags, slower. */
		wire_gmac_soft_init(&m->soft, key->bytes);
		m->impl = "software";
	}
	if (mgr != NULL)
		free_mb_mgr(mgr);
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

const char *aeg_wire_mac_impl(const struct aeg_wire_mac *mac)
{
	return mac->impl;
}

void aeg_wire_mac_tag(const struct aeg_wire_mac *mac, const uint8_t iv[AEG_WIRE_IV_BYTES],
		      const void *data, size_t len, uint8_t tag[AEG_WIRE_TAG_BYTES])
{
	if (mac->init == NULL) {
		wire_gmac_soft_tag(&mac->soft, iv, AEG_WIRE_IV_BYTES, data, len, tag);
		return;
	}
	struct gcm_context_data ctx;
	mac->init(&mac->gk, &ctx, iv, AEG_WIRE_IV_BYTES);
	mac->update(&mac->gk, &ctx, data, len);
	mac->finalize(&mac->gk, &ctx, tag, AEG_WIRE_TAG_BYTES);
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
