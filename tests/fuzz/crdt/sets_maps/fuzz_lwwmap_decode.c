/* libFuzzer target: LWW-Map decoder (the checks are in fuzz_sm.h). */
#include "fuzz_sm.h"

#include "aegis/crdt_map.h"

FUZZ_SM_TARGET(lwwmap, aeg_lwwmap_init(o, 64, 16, 16))
