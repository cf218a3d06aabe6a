/* libFuzzer target: G-Set decoder (the checks are in fuzz_sm.h). */
#include "fuzz_sm.h"

#include "aegis/crdt_set.h"

FUZZ_SM_TARGET(gset, aeg_gset_init(o, 64, 16))
