/* The zipfian generator of zipf.h. */
#include "zipf.h"

#include <assert.h>
#include <errno.h>
#include <math.h>

double zipf_zeta(uint64_t n, double theta)
{
	uint64_t exact = n < ZIPF_EXACT_MAX ? n : ZIPF_EXACT_MAX;
	double sum = 0;
	/* smallest terms first: less rounding */
	for (uint64_t i = exact; i >= 1; i--)
		sum += pow((double)i, -theta);
	return n > exact ? sum + zipf_zeta_tail(exact, n, theta) : sum;
}

double zipf_zeta_tail(uint64_t m, uint64_t n, double theta)
{
	/* Euler-Maclaurin: sum_{m+1..n} f ~ int_m^n f + (f(n) - f(m))/2
	 * + (f'(n) - f'(m))/12, f(x) = x^-theta, f' = -theta x^(-theta-1);
	 * the next term is O(m^(-theta-3)): negligible for large m. */
	double a = (double)m, x = (double)n;
	return (pow(x, 1 - theta) - pow(a, 1 - theta)) / (1 - theta) + (pow(x, -theta) - pow(a, -theta)) / 2 -
	       theta * (pow(x, -theta - 1) - pow(a, -theta - 1)) / 12;
}

int zipf_init(struct zipf *z, uint64_t n, double theta)
{
	if (n == 0 || !(theta > 0 && theta < 1))
		return -EINVAL;
	z->n = n;
	z->theta = theta;
	z->alpha = 1 / (1 - theta);
	z->zetan = zipf_zeta(n, theta);
	double zeta2 = 1 + pow(0.5, theta);
	z->half_pow_theta = pow(0.5, theta);
	z->eta = n <= 2 ? 0 : (1 - pow(2.0 / (double)n, 1 - theta)) / (1 - zeta2 / z->zetan);
	return 0;
}

uint64_t zipf_rank(const struct zipf *z, double u)
{
	assert(u >= 0 && u < 1);
	double uz = u * z->zetan;
	if (uz < 1 || z->n == 1)
		return 0;
	if (uz < 1 + z->half_pow_theta)
		return 1;
	uint64_t r = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1, z->alpha));
	return r < z->n ? r : z->n - 1;
}
