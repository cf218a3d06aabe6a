/* libFuzzer target: aeg_mvreg_decode (the checks are in fuzz_cr.h). */
#include "aegis/crdt_register.h"

#include "fuzz_cr.h"

FUZZ_CR_TARGET(mvreg, aeg_mvreg_init(o, 4, 64))
