/* --verify: reads back, at quorum, every key of a --record file and checks
 * the cluster still holds what was acknowledged:
 *   missing   the key is gone
 *   older     its version is below the highest acknowledged one
 *   wrong     same version, different value (digest or length)
 *   foreign   a newer version holding a value aegis-bench never wrote for this key
 *   stale     a newer version holding a value that was acknowledged at another
 *             (lower) version: an old write applied again
 *   unanswered  no answer (timeout, error): nothing could be checked
 * A newer version with a bench value of this key (an unacknowledged write,
 * or one of another run) is fine. */
#ifndef AEGIS_BENCH_VERIFY_H
#define AEGIS_BENCH_VERIFY_H

#include <stdint.h>

#include "aegis/client.h"
#include "record.h"

struct verify_result {
	uint64_t keys, writes; /* distinct keys, acknowledged writes in the record */
	uint64_t ok, newer, missing, older, wrong, foreign, stale, unanswered;
	double seconds;
};

/* `window` reads in flight; names the first `show` failing keys on stderr.
 * 0 every key verified, 1 some did not, or a negative errno (client failure). */
int verify_run(struct aeg_client *c, const struct record *r, uint32_t window, uint32_t show,
	       struct verify_result *out);

#endif
