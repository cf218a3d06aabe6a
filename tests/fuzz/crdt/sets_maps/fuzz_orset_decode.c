/* libFuzzer target: OR-Set decoder (the checks are in fuzz_sm.h). */
#include "fuzz_sm.h"

#include "aegis/crdt_set.h"

FUZZ_SM_TARGET(orset, aeg_orset_init(o, 64, 16))
