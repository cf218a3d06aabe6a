/* Recovery stager: turns the records of a worker's log, in log order, into
 * what each Raft group needs at start-up: its latest hard state, its latest
 * snapshot marker and its entries after that snapshot, in index order.
 *
 * Feed it every record the WAL replays (aeg_wal_config.replay receives
 * exactly those while aeg_wal_open recovers), then call finish, then read
 * the groups back. Rules, per group, in log order:
 *   ENTRY i      voids every entry >= i (an overwrite) and becomes entry i;
 *                an entry at or below the snapshot index is ignored (the
 *                snapshot covers it: committed, so it cannot differ); an
 *                entry past last + 1 starts the run again there (the log
 *                released what a later snapshot marker covers).
 *   TRUNCATE i   voids every entry >= i.
 *   SNAPSHOT s   (newer than the last one) drops every entry <= s.
 *   HARD_STATE   replaces term, vote, commit.
 *   REMOVE       forgets the group (a later record starts it afresh).
 *   PAD, SEAL    ignored.
 * The first entry of a group may sit at any index, and a run may start
 * again after a gap (older entries were in segments released after a
 * snapshot whose marker, or a checkpoint's copy of an older one, comes
 * later); finish checks that the entries then start right after the latest
 * snapshot, so that (snap_index, last_index] are all present, or refuses
 * with -EBADMSG naming the group and the first missing index.
 *
 * Pure code. It copies payloads, so it allocates (start-up only): memory is
 * bounded by what the log holds, -ENOMEM when it runs out. */
#ifndef AEGIS_WAL_RECOVERY_H
#define AEGIS_WAL_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"
#include "aegis/wal.h"

AEG_API_BEGIN

struct aeg_wal_recovery;

struct aeg_wal_group_state {
	uint64_t group;
	bool has_hard_state;
	uint64_t term, vote, commit;	/* 0 without a hard state */
	uint64_t snap_index, snap_term;	/* 0, 0 without a snapshot marker */
	/* Entries (snap_index, last_index] are all present; first_index is
	 * snap_index + 1 (last_index + 1 == first_index when there are none). */
	uint64_t first_index, last_index;
	uint64_t last_term;		/* term of last_index (snap_term if no entries) */
};

struct aeg_wal_entry_view {
	uint64_t index;
	uint64_t term;
	uint32_t type;			/* the Raft entry type */
	uint32_t len;
	const void *data;		/* owned by the stager */
};

int aeg_wal_recovery_new(struct aeg_wal_recovery **out);
void aeg_wal_recovery_free(struct aeg_wal_recovery *r);

/* One record, in log order. Returns 0, -EBADMSG (a malformed hard state), -EINVAL (a record no log holds: unknown type, entry index 0),
 * -ENOMEM, or -EALREADY after finish. Fits as the body of a replay callback:
 *   static int replay(void *ctx, const struct aeg_wal_rec *rec)
 *   { return aeg_wal_recovery_add(ctx, rec); } */
int aeg_wal_recovery_add(struct aeg_wal_recovery *r, const struct aeg_wal_rec *rec);

/* After the last record: checks that every group's entries start right after
 * its snapshot and orders the groups by id. 0, -EBADMSG (a hole; see
 * aeg_wal_recovery_error) or -ENOMEM. The queries below need it. */
int aeg_wal_recovery_finish(struct aeg_wal_recovery *r);

/* What the last -EBADMSG was about: "group G: entry I missing (...)" and, if
 * wanted, the group and the first missing index. "" when nothing failed. */
const char *aeg_wal_recovery_error(const struct aeg_wal_recovery *r, uint64_t *group, uint64_t *index);

/* Groups, sorted by id (removed ones are not listed). */
size_t aeg_wal_recovery_group_count(const struct aeg_wal_recovery *r);
/* 0, or -ERANGE (i >= count), -EINVAL (before finish). */
int aeg_wal_recovery_group_at(const struct aeg_wal_recovery *r, size_t i, struct aeg_wal_group_state *st);
/* 0, or -ENOENT (no such group), -EINVAL (before finish). */
int aeg_wal_recovery_find(const struct aeg_wal_recovery *r, uint64_t group, struct aeg_wal_group_state *st);
/* Entry index of group: 0, or -ENOENT (not in (snap_index, last_index]),
 * -EINVAL (before finish). e->data stays valid until aeg_wal_recovery_free. */
int aeg_wal_recovery_entry(const struct aeg_wal_recovery *r, uint64_t group, uint64_t index,
			   struct aeg_wal_entry_view *e);

/* Bytes held (payload copies, entry tables, group table): for a start-up
 * memory report. */
size_t aeg_wal_recovery_bytes(const struct aeg_wal_recovery *r);

AEG_API_END

#endif
