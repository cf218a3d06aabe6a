/* aegis-bench-mac: what the per-frame MAC costs (the choice is explained
 * in lib/wire/README.md). One core, one frame at a time, frames of
 * 64..9000 bytes, CPU time per frame:
 *   siphash   SipHash-2-4-128 (aeg_wire_tag: wire version 1, the client
 *             protocol today)
 *   gmac      the frame tag of wire version 2 (aeg_wire_mac_tag): AES-128-GMAC
 *             from libipsec-mb under a per-pair key with a 12-byte IV (seq and
 *             workers)
 *   gmac-28   GMAC (libipsec-mb init/update/finalize) with a 28-byte IV, the
 *             whole stream id under one cluster key: the design the per-pair
 *             keys replaced (GCM hashes an IV that is not 12 bytes long)
 *   software  aeg_wire_mac_tag with AEG_WIRE_MAC_SOFTWARE (libipsec-mb's code
 *             for CPUs without AES-NI and PCLMULQDQ)
 * Prints the setup, a table and one JSON line per size; the comparison
 * carries "peer" (SipHash) and "ratio" (SipHash's ns over GMAC's: higher
 * means GMAC is faster).
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
#define FRAMES 16

static volatile uint8_t sink;  /* the tags are used: the loops are not optimized away */

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
	/* FRAMES frames with their own sequence numbers, used in turn: the
	 * nonce changes every frame, and nothing is stored into a frame right
	 * before its MAC reads it (a store-forwarding stall of ~10 ns that a
	 * real sender does not have: its header was written long before). */
	static uint8_t frames_buf[FRAMES][FRAME_MAX];
	for (int f = 0; f < FRAMES; f++) {
		for (size_t i = 0; i < FRAME_MAX; i++)
			frames_buf[f][i] = (uint8_t)(i * 131u + 7u);
		uint64_t seq = (uint64_t)f + 1;
		memcpy(frames_buf[f] + AEG_WIRE_IV_OFFSET, &seq, sizeof(seq));
	}
	struct aeg_wire_key key;
	memset(&key, 0x5a, sizeof(key));
	struct aeg_wire_mac *hw = NULL, *sw = NULL;
	if (aeg_wire_mac_new(&hw, &key, 1, 7, 1, 2, 0) != 0 ||
	    aeg_wire_mac_new(&sw, &key, 1, 7, 1, 2, AEG_WIRE_MAC_SOFTWARE) != 0) {
		fprintf(stderr, "%s: aeg_wire_mac_new failed\n", argv[0]);
		return 1;
	}
	uint8_t iv28[28], tag[16]; /* iv28: only its size is used */
	struct gcm_key_data gk;
	struct gcm_context_data ctx;
	IMB_AES128_GCM_PRE(mgr, key.bytes, &gk);

	printf("aegis-bench-mac: one core, %s; libipsec-mb %s (%s); %llu ms per case, CPU time\n",
	       bench_cpu_model(), imb_get_version_str(), aeg_wire_mac_impl(hw),
	       (unsigned long long)(case_ns / 1000000u));
	printf("%6s %11s %11s %11s %11s %9s %9s %8s\n", "bytes", "siphash ns", "gmac ns", "gmac-28 ns",
	       "software ns", "sip GB/s", "gmac GB/s", "ratio");
	static const size_t sizes[] = { 64, 119, 512, 1514, 4096, 9000 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		double ns[4];
		for (int kind = 0; kind < 4; kind++) {
			uint64_t frames = 0;
			uint64_t t0 = cpu_now_ns(), t1;
			do {
				for (int k = 0; k < 1024; k++) {
					uint8_t *frame = frames_buf[frames++ % FRAMES];
					if (kind == 0) {
						aeg_wire_tag(&key, frame, n, tag);
					} else if (kind == 1 || kind == 3) {
						aeg_wire_mac_tag(kind == 1 ? hw : sw, frame + AEG_WIRE_IV_OFFSET,
								 frame, n, tag);
					} else {
						IMB_AES128_GMAC_INIT(mgr, &gk, &ctx, frame + 8, sizeof(iv28));
						IMB_AES128_GMAC_UPDATE(mgr, &gk, &ctx, frame, n);
						IMB_AES128_GMAC_FINALIZE(mgr, &gk, &ctx, tag, sizeof(tag));
					}
					sink ^= tag[0];
				}
			} while ((t1 = cpu_now_ns()) - t0 < case_ns);
			ns[kind] = (double)(t1 - t0) / (double)frames;
		}
		printf("%6zu %11.1f %11.1f %11.1f %11.1f %9.2f %9.2f %7.2fx\n", n, ns[0], ns[1], ns[2],
		       ns[3], (double)n / ns[0], (double)n / ns[1], ns[0] / ns[1]);
		printf("{\"bench\":\"mac\",\"bytes\":%zu,\"cores\":1,\"mac\":\"aes-128-gmac\",\"lib\":\"libipsec-mb %s\","
		       "\"arch\":\"%s\",\"ns_per_frame\":%.1f,\"gb_per_s\":%.2f,\"ns_per_frame_iv28\":%.1f,"
		       "\"ns_per_frame_software\":%.1f,\"peer\":\"siphash-2-4-128\","
		       "\"peer_ns_per_frame\":%.1f,\"ratio\":%.3f}\n",
		       n, imb_get_version_str(), aeg_wire_mac_impl(hw), ns[1], (double)n / ns[1], ns[2], ns[3],
		       ns[0], ns[0] / ns[1]);
	}
	aeg_wire_mac_free(hw);
	aeg_wire_mac_free(sw);
	free_mb_mgr(mgr);
	return 0;
}
