/* TEMPORARY until the raft branch lands: the new raft API over the old one. */
#ifndef COMPAT_TMP_H
#define COMPAT_TMP_H
#include <stddef.h>
#include "aegis/raft.h"
int aeg_raft_new(struct aeg_raft **out, const struct aeg_raft_config *cfg, const struct aeg_raft_conf *initial);
void aeg_raft_free(struct aeg_raft *r);
void aeg_raft_conf_get(const struct aeg_raft *r, struct aeg_raft_conf *out);
int aeg_raft_conf_at(const struct aeg_raft *r, uint64_t index, struct aeg_raft_conf *out);
size_t aeg_raft_memory_bytes(const struct aeg_raft_config *cfg);
#endif
