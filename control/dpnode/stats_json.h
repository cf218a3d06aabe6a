/* Dataplane counters for people and scripts: one JSON object (per-worker
 * counters with wire drops by reason name, port counters with L2/L3 drops
 * by reason name, "ok") and a one-line summary for periodic logging. Read
 * from the main thread while workers run (lock-free counters). */
#ifndef AEGIS_DPNODE_STATS_JSON_H
#define AEGIS_DPNODE_STATS_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "dp_runtime.h"

struct aeg_json_out;

/* Adds the caller's fields to the open object (control/json_out.h:
 * aeg_json_kv_*); worker -1: the top level, else that worker's object. */
typedef void (*aeg_stats_json_extra_fn)(struct aeg_json_out *j, void *arg, int worker);

/* Writes the object (and a newline) to f. Returns 0, -EIO or -ENOMEM. */
int aeg_stats_json_write(FILE *f, const struct aeg_dp_runtime *rt, bool ok,
			 aeg_stats_json_extra_fn extra, void *arg);
/* Same, into path (written to path.tmp, then renamed). */
int aeg_stats_json_save(const char *path, const struct aeg_dp_runtime *rt, bool ok,
			aeg_stats_json_extra_fn extra, void *arg);

/* "rx 123 pkts 4567 msgs, tx ..., wire drops N, port drops N" for all
 * workers together; no newline. */
void aeg_stats_line(FILE *f, const struct aeg_dp_runtime *rt);

#endif
