/* aegis-bench-mac: what the per-frame MAC costs, for issue [H]'s choice.
 * One core, one frame at a time, frames of 64..9000 bytes:
 *   siphash  SipHash-2-4-128, the wire format's tag today (aeg_wire_tag)
 *   gmac     AES-128-GMAC from libipsec-mb (init with a 12-byte IV, update,
 *            finalize to a 16-byte tag): the candidate on CPUs with AES-NI
 *            and carry-less multiply (this one: AVX-512 with VAES)
 * Prints the setup, a table (CPU ns per frame, GB/s) and one JSON line per
 * size; the comparison carries "peer" (SipHash) and "ratio" (SipHash's ns
 * over GMAC's: higher means GMAC is faster).
 *
 *   aegis-bench-mac [--time-ms N]   (N ms per case, default 200) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <intel-ipsec-mb.h>

#include "aegis/wire.h"
#include "common.h"

#define FRAME_MAX 9000

static volatile uint8_t sink;  /* the tags are used: the loops are not optimized away */

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *arch_name(IMB_ARCH a)
{
	switch (a) {
	case IMB_ARCH_AVX512: return "avx512";
	case IMB_ARCH_AVX2: return "avx2";
	case IMB_ARCH_AVX: return "avx";
	case IMB_ARCH_SSE: return "sse";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	uint64_t case_ns = 200 * 1000000ull;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--time-ms") == 0 && i + 1 < argc) {
			case_ns = strtoull(argv[++i], NULL, 10) * 1000000ull;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s [--time-ms N]\n"
			       "  the per-frame cost of SipHash-2-4-128 and of AES-128-GMAC (libipsec-mb)\n"
			       "  for frames of 64..9000 bytes, N ms per case (default 200)\n", argv[0]);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown option %s (try --help)\n", argv[0], argv[i]);
			return 2;
		}
	}
	if (case_ns == 0) {
		fprintf(stderr, "%s: --time-ms must be at least 1\n", argv[0]);
		return 2;
	}
	IMB_MGR *mgr = alloc_mb_mgr(0);
	if (mgr == NULL) {
		fprintf(stderr, "%s: alloc_mb_mgr failed\n", argv[0]);
		return 1;
	}
	init_mb_mgr_auto(mgr, NULL);
	if (imb_get_errno(mgr) != 0) {
		fprintf(stderr, "%s: libipsec-mb: %s\n", argv[0], imb_get_strerror(imb_get_errno(mgr)));
		free_mb_mgr(mgr);
		return 1;
	}
	static uint8_t frame[FRAME_MAX];
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 131u + 7u);
	struct aeg_wire_key key;
	memset(&key, 0x5a, sizeof(key));
	uint8_t aes_key[16], iv[12] = { 0 }, tag[16];
	memset(aes_key, 0x3c, sizeof(aes_key));
	struct gcm_key_data gk;
	struct gcm_context_data ctx;
	IMB_AES128_GCM_PRE(mgr, aes_key, &gk);

	printf("aegis-bench-mac: one core, %s; libipsec-mb %s (%s); %llu ms per case, CPU time\n",
	       bench_cpu_model(), imb_get_version_str(), arch_name(mgr->used_arch),
	       (unsigned long long)(case_ns / 1000000u));
	printf("%6s %14s %14s %10s %10s %8s\n", "bytes", "siphash ns", "gmac ns", "siphash GB/s", "gmac GB/s",
	       "ratio");
	static const size_t sizes[] = { 64, 119, 512, 1514, 4096, 9000 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		uint64_t frames_sip = 0, frames_gmac = 0;
		uint64_t t0 = cpu_now_ns(), t1;
		do {
			for (int k = 0; k < 256; k++) {
				frame[0] = (uint8_t)frames_sip++;
				aeg_wire_tag(&key, frame, n, tag);
				sink ^= tag[0];
			}
		} while ((t1 = cpu_now_ns()) - t0 < case_ns);
		double sip_ns = (double)(t1 - t0) / (double)frames_sip;
		t0 = cpu_now_ns();
		do {
			for (int k = 0; k < 256; k++) {
				/* The nonce: a frame's sequence number, never repeated under one key. */
				memcpy(iv, &frames_gmac, sizeof(frames_gmac));
				frames_gmac++;
				IMB_AES128_GMAC_INIT(mgr, &gk, &ctx, iv, sizeof(iv));
				IMB_AES128_GMAC_UPDATE(mgr, &gk, &ctx, frame, n);
				IMB_AES128_GMAC_FINALIZE(mgr, &gk, &ctx, tag, sizeof(tag));
				sink ^= tag[0];
			}
		} while ((t1 = cpu_now_ns()) - t0 < case_ns);
		double gmac_ns = (double)(t1 - t0) / (double)frames_gmac;
		printf("%6zu %14.1f %14.1f %10.2f %10.2f %7.2fx\n", n, sip_ns, gmac_ns, (double)n / sip_ns,
		       (double)n / gmac_ns, sip_ns / gmac_ns);
		printf("{\"bench\":\"mac\",\"bytes\":%zu,\"cores\":1,\"mac\":\"aes-128-gmac\",\"lib\":\"libipsec-mb %s\","
		       "\"arch\":\"%s\",\"ns_per_frame\":%.1f,\"gb_per_s\":%.2f,\"peer\":\"siphash-2-4-128\","
		       "\"peer_ns_per_frame\":%.1f,\"ratio\":%.3f}\n",
		       n, imb_get_version_str(), arch_name(mgr->used_arch), gmac_ns, (double)n / gmac_ns, sip_ns,
		       sip_ns / gmac_ns);
	}
	free_mb_mgr(mgr);
	return 0;
}
