#!/usr/bin/env bash
# A 3-node aegisd cluster over kernel UDP on loopback, real processes, real
# io_uring logs: the scenario of aegisd/scenario.sh (every consistency
# level, kill -9 and catch-up, clean stop and restart, kill -9 of all three
# mid-load).
. "$(dirname "$0")/aegisd/lib.sh"
. "$(dirname "$0")/aegisd/scenario.sh"
ag_scenario
