/* libFuzzer target: aeg_gcounter_decode (the checks are in fuzz_cr.h). */
#include "aegis/crdt_counter.h"

#include "fuzz_cr.h"

FUZZ_CR_TARGET(gcounter, aeg_gcounter_init(o, 8))
