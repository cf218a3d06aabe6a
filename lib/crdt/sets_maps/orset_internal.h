/* Internal: OR-Set entry layout and causal context helpers shared by
 * orset.c and orset_ctx.c. */
#ifndef AEGIS_CRDT_ORSET_INTERNAL_H
#define AEGIS_CRDT_ORSET_INTERNAL_H

#include "slot_table.h"

int aeg_dot_cmp(const struct aeg_dot *a, const struct aeg_dot *b);
bool aeg_orset_ctx_equal(const struct aeg_orset_ctx *a, const struct aeg_orset_ctx *b);
size_t aeg_orset_ctx_encoded_size(const struct aeg_orset_ctx *c);
void aeg_orset_ctx_put(struct aeg_writer *w, const struct aeg_orset_ctx *c);
/* 0, or -EINVAL / -EMSGSIZE / -ENOSPC; c is valid (maybe partial) after. */
int aeg_orset_ctx_get(struct aeg_reader *r, struct aeg_orset_ctx *c);

#endif
