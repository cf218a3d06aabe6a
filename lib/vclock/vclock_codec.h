/* Internal: vector clock encoding on top of lib/common/codec.h, shared by
 * the vector clock and DVV encoders so that a clock embedded in another
 * encoding has exactly the same bytes as a clock on its own. */
#ifndef AEGIS_VCLOCK_CODEC_H
#define AEGIS_VCLOCK_CODEC_H

#include "aegis/vclock.h"
#include "common/codec.h"

/* Reads one varint; -EMSGSIZE if the input ends inside it, -EINVAL if it is
 * malformed (non-minimal or longer than 64 bits). The codec's sticky error
 * does not say which, so the remaining bytes are looked at first. */
int aeg_vclock_read_varint(struct aeg_reader *r, uint64_t *v);

void aeg_vclock_write(struct aeg_writer *w, const struct aeg_vclock *vc);
/* 0, -EINVAL or -EMSGSIZE; on error vc is left empty. */
int aeg_vclock_read(struct aeg_reader *r, struct aeg_vclock *vc);

#endif
