#!/usr/bin/env bash
# A 3-node aegisd cluster over kernel UDP on loopback, real processes, real
# io_uring logs: the scenario of aegisd/scenario.sh (every consistency
# level, kill -9 and catch-up, clean stop and restart, kill -9 of all three
# mid-load).
. "$(dirname "$0")/aegisd/lib.sh"
. "$(dirname "$0")/aegisd/scenario.sh"
# A small Raft window and frequent snapshots, so that compaction, snapshot
# files and catching up from a snapshot all happen within this test.
AG_SET=${AG_SET:-"raft.log_entries_max=64 raft.snapshot_every_entries=100"}
AG_EXPECT_SNAPSHOT=1
ag_scenario
