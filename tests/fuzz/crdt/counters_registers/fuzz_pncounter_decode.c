/* libFuzzer target: aeg_pncounter_decode (the checks are in fuzz_cr.h). */
#include "aegis/crdt_counter.h"

#include "fuzz_cr.h"

FUZZ_CR_TARGET(pncounter, aeg_pncounter_init(o, 8))
