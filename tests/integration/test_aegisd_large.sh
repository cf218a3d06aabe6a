#!/usr/bin/env bash
# Large values (up to 1 MiB) on a 3-node aegisd cluster over kernel UDP on
# loopback: see aegisd/large.sh. Client attempts get 2 s (a 1 MiB write is
# ~750 datagrams in and 2 x ~750 fragments out to the followers).
# --quick: the default run's variant (large.sh).
if [ "${2:-}" = --quick ]; then AG_LARGE_QUICK=1; fi
. "$(dirname "$0")/aegisd/lib.sh"
. "$(dirname "$0")/aegisd/large.sh"
AG_CLI_TIMEOUT_MS=2000
ag_large_scenario
