/* libFuzzer: dotted version vector decoding. Any input either fails with
 * -EINVAL / -EMSGSIZE and leaves an empty DVV, or decodes to a valid DVV
 * (dot outside its past) whose encoding is exactly the consumed prefix. */
#include "aegis/vclock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aeg_dvv d;
	struct aeg_vclock joined;
	uint8_t out[512];

	int rc = aeg_dvv_decode(&d, data, size);
	if (rc < 0) {
		if ((rc != -EINVAL && rc != -EMSGSIZE) || d.dot.counter != 0 || d.past.len != 0)
			abort();
		return 0;
	}
	if ((size_t)rc > size || !aeg_dvv_valid(&d))
		abort();
	if (aeg_dvv_encoded_size(&d) != (size_t)rc ||
	    aeg_dvv_encode(&d, out, sizeof(out)) != rc || memcmp(out, data, (size_t)rc) != 0)
		abort();
	if (aeg_dvv_compare(&d, &d) != AEG_ORDER_EQUAL)
		abort();
	/* The joined clock covers the dot and the past (or has no room). */
	rc = aeg_dvv_join(&d, &joined);
	if (rc == 0 && (!aeg_vclock_valid(&joined) || !aeg_vclock_descends(&joined, &d.past) ||
			(d.dot.counter != 0 && !aeg_dot_in(&d.dot, &joined))))
		abort();
	if (rc != 0 && (rc != -ENOSPC || d.past.len != AEG_VCLOCK_NODES_MAX))
		abort();
	return 0;
}
