/* Helpers for the WAL integration tests: temp dirs, a replay collector that
 * applies records like a Raft log would, deterministic payloads. */
#ifndef AEGIS_TEST_WAL_ITEST_UTIL_H
#define AEGIS_TEST_WAL_ITEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aegis/wal_log.h"

#define ITEST_GROUPS_MAX 8

static inline uint64_t itest_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The payload of (group, index, term): length and bytes derived from them. */
static inline uint32_t itest_payload(uint8_t *buf, uint32_t len_max, uint64_t group, uint64_t index, uint64_t term)
{
	uint64_t h = itest_mix(group * 1000003u ^ index ^ (term << 40));
	uint32_t len = (uint32_t)(h % (len_max + 1));
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)itest_mix(h + i);
	return len;
}

static inline char *itest_tmpdir(const char *base)
{
	char *path = malloc(4096);
	if (path == NULL)
		return NULL;
	snprintf(path, 4096, "%s/aegis-wal-test-XXXXXX", base);
	if (mkdtemp(path) == NULL) {
		free(path);
		return NULL;
	}
	return path;
}

static int itest_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static inline void itest_rmtree(char *path)
{
	if (path == NULL)
		return;
	if (nftw(path, itest_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "removing %s: %s\n", path, strerror(errno));
	free(path);
}

/* Replayed state per group: last index, terms, hard state; payloads checked
 * against itest_payload as they arrive. */
struct itest_log {
	uint64_t group_ids[ITEST_GROUPS_MAX];
	uint64_t last[ITEST_GROUPS_MAX];
	uint64_t first[ITEST_GROUPS_MAX];
	uint64_t hs_term[ITEST_GROUPS_MAX], hs_vote[ITEST_GROUPS_MAX];
	uint64_t records, bad, out_of_order;
	uint32_t len_max;
};

static inline int itest_gi(struct itest_log *l, uint64_t group)
{
	for (int i = 0; i < ITEST_GROUPS_MAX; i++)
		if (l->group_ids[i] == group || l->group_ids[i] == 0) {
			l->group_ids[i] = group;
			return i;
		}
	return -1;
}

static inline int itest_replay(void *ctx, const struct aeg_wal_rec *r)
{
	struct itest_log *l = ctx;
	int g = itest_gi(l, r->group);
	if (g < 0)
		return -ENOBUFS;
	l->records++;
	if (r->type == AEG_WAL_HARD_STATE) {
		uint64_t vote, commit;
		if (aeg_wal_hard_state_decode(r, &vote, &commit) != 0)
			l->bad++;
		l->hs_term[g] = r->term;
		l->hs_vote[g] = vote;
	} else if (r->type == AEG_WAL_TRUNCATE) {
		if (l->last[g] >= r->index)
			l->last[g] = r->index - 1;
	} else if (r->type == AEG_WAL_ENTRY) {
		uint8_t want[4096];
		uint32_t len = itest_payload(want, l->len_max, r->group, r->index, r->term);
		if (len != r->len || memcmp(want, r->payload, len) != 0)
			l->bad++;
		/* Entries of a group come in order: next index, or a rewrite after truncation. */
		if (l->last[g] != 0 && r->index != l->last[g] + 1)
			l->out_of_order++;
		if (l->first[g] == 0 || r->index < l->first[g])
			l->first[g] = r->index;
		l->last[g] = r->index;
	}
	return 0;
}

/* Forgets what was replayed and opens the log again (aeg_wal_open's result). */
static inline int itest_reopen(struct aeg_wal **w, const struct aeg_wal_config *cfg, struct itest_log *replay)
{
	uint32_t len_max = replay->len_max;
	memset(replay, 0, sizeof(*replay));
	replay->len_max = len_max;
	return aeg_wal_open(w, cfg);
}

/* Appends entry (group, index, term) with its deterministic payload. */
static inline int itest_append_one(struct aeg_wal *w, uint64_t group, uint64_t index, uint64_t term,
				   uint32_t len_max)
{
	uint8_t buf[4096];
	struct aeg_wal_entry e = { .term = term, .index = index, .data = buf,
				   .len = itest_payload(buf, len_max < sizeof(buf) ? len_max : sizeof(buf), group,
							index, term) };
	return aeg_wal_append_entries(w, group, &e, 1, NULL);
}

#endif
