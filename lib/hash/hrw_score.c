/* Weighted rendezvous score with a portable natural log (no libm). */
#include "hash/hrw_score.h"

#include <assert.h>
#include <string.h>

/* a*b+c fused into one FMA rounds differently from two operations; keep
 * them separate so every machine computes the same bits. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

double aeg_hrw_ln(double x)
{
	uint64_t bits;
	memcpy(&bits, &x, sizeof(bits));
	int exp2 = (int)((bits >> 52) & 0x7ff) - 1023;
	assert(x > 0 && exp2 > -1023 && exp2 < 1024);
	bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
	double m;
	memcpy(&m, &bits, sizeof(m));
	/* m in (sqrt(1/2), sqrt(2)] keeps the series argument small. */
	if (m > 1.4142135623730951) {
		m *= 0.5;
		exp2++;
	}
	/* ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), |s| <= 0.1716: the
	 * terms after s^21/21 are below 1e-19 relative. */
	double s = (m - 1.0) / (m + 1.0);
	double z = s * s;
	static const double inv_odd[] = {
		1.0 / 1, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11,
		1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21,
	};
	/* Horner in z^2 over pairs (c_2k + c_2k+1 z): half the dependent
	 * multiply-adds of plain Horner, same fixed order everywhere. */
	double z2 = z * z;
	double p = inv_odd[10];
	for (int k = 4; k >= 0; k--)
		p = p * z2 + (inv_odd[2 * k] + inv_odd[2 * k + 1] * z);
	return 2.0 * s * p + exp2 * 0.6931471805599453;
}

uint64_t aeg_hrw_weighted_score(uint64_t mixed, uint32_t weight)
{
	/* 52 bits so that (2^52 - 1) + 0.5 is exact and u < 1 strictly. */
	double u = ((double)(mixed >> 12) + 0.5) * 0x1p-52;
	double ln_u = aeg_hrw_ln(u);
	assert(ln_u < 0);
	double score = -(double)weight / ln_u;
	uint64_t bits;
	memcpy(&bits, &score, sizeof(bits));
	return bits;
}
