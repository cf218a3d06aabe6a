/* libFuzzer target: aeg_lwwreg_decode (the checks are in fuzz_cr.h). */
#include "aegis/crdt_register.h"

#include "fuzz_cr.h"

FUZZ_CR_TARGET(lwwreg, aeg_lwwreg_init(o, 64))
