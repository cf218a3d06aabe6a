/* libFuzzer: vector clock decoding. Any input either fails with -EINVAL /
 * -EMSGSIZE and leaves an empty clock, or decodes to a valid clock whose
 * encoding is exactly the consumed prefix (canonical form). */
#include "aegis/vclock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aeg_vclock vc, merged;
	uint8_t out[512];

	int rc = aeg_vclock_decode(&vc, data, size);
	if (rc < 0) {
		if ((rc != -EINVAL && rc != -EMSGSIZE) || vc.len != 0)
			abort();
		return 0;
	}
	if ((size_t)rc > size || !aeg_vclock_valid(&vc))
		abort();
	if (aeg_vclock_encoded_size(&vc) != (size_t)rc ||
	    aeg_vclock_encode(&vc, out, sizeof(out)) != rc || memcmp(out, data, (size_t)rc) != 0)
		abort();
	/* Merging into a copy of itself changes nothing. */
	merged = vc;
	if (aeg_vclock_merge(&merged, &vc) != 0 || !aeg_vclock_equal(&merged, &vc) ||
	    aeg_vclock_compare(&merged, &vc) != AEG_ORDER_EQUAL)
		abort();
	return 0;
}
