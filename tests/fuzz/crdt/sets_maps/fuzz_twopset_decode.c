/* libFuzzer target: 2P-Set decoder (the checks are in fuzz_sm.h). */
#include "fuzz_sm.h"

#include "aegis/crdt_set.h"

FUZZ_SM_TARGET(twopset, aeg_twopset_init(o, 64, 64, 16))
