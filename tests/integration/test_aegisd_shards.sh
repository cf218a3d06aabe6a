#!/usr/bin/env bash
# 1,000 shards on 3 aegisd nodes (kernel UDP on loopback, one worker each,
# replication factor 3: every node runs all 1,000 Raft groups) start, elect
# a leader in every shard, and go quiet: every shard reports "quiet" and no
# worker has active groups a few seconds after the last election (leaders
# quiesce after raft.quiesce_after_ms, 1 s by default, then only coalesced
# heartbeats per peer are left). Then each idle aegisd's CPU is measured
# over 5 s from /proc/PID/stat (utime + stime) and printed with its RSS and
# the status' memory per group; a write still works after the idle period.
#
# Bound: a node fails above AG_IDLE_CPU_MAX_PCT (20) percent of one core.
# Quiet groups cost nothing per tick; what is left is the workers' idle
# back-off (sleeps of at most 1 ms), the main thread's 1 ms admin/slow-path
# poll and one heartbeat batch per peer: a few percent on a quiet machine.
# A node that does not quiesce, or a worker that busy-polls, costs 30-100%
# of a core; 20% keeps a margin for CPU accounting on a loaded 2-core VM.
# (The issue's goal, 10,000 idle groups under 5% of a core, is the bench's
# to measure on a quiet machine: aegis-bench-node.)
# Usage: test_aegisd_shards.sh BUILD_DIR [SHARDS]
AG_SHARDS=${2:-1000}
. "$(dirname "$0")/aegisd/lib.sh"
AG_IDLE_CPU_MAX_PCT=${AG_IDLE_CPU_MAX_PCT:-20}
AG_IDLE_SECS=5

# ag_aegisd_pid I: the aegisd under node I's timeout wrapper.
ag_aegisd_pid() { pgrep -P "${AG_PID[$1]}" -x aegisd | head -1; }

# ag_cpu_ticks PID: utime + stime in clock ticks (fields 14 and 15; the
# command name in field 2 has no spaces here).
ag_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

ag_keys
for i in 1 2 3; do ag_config "$i"; done
t0=${EPOCHREALTIME/[.,]/}
for i in 1 2 3; do ag_start "$i"; done
ag_log "3 nodes serving $AG_SHARDS shards after $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) ms"
ag_wait_leaders 60
ag_log "every shard has a leader after $(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) ms"

# Quiet: all shards on all nodes, no active group in any worker.
quiet=0
for k in $(seq 1 150); do
	n=0
	for i in 1 2 3; do
		c=$(ag_status "$i" 'sum(1 for s in S if s["quiet"]) if sum(w["active_groups"] for w in W) == 0 else -1')
		[ "$c" -ge 0 ] && n=$((n + c))
	done
	if [ "$n" -eq $((3 * AG_SHARDS)) ]; then
		quiet=1
		break
	fi
	sleep 0.1
done
[ "$quiet" = 1 ] || ag_fail "not quiet 15 s after the elections: $n of $((3 * AG_SHARDS)) shard replicas quiet"
ag_log "all $((3 * AG_SHARDS)) shard replicas quiet, no active groups, after" \
	"$(((${EPOCHREALTIME/[.,]/} - t0) / 1000)) ms"
leaders_before=$(ag_leaders)

# Idle CPU of each aegisd over AG_IDLE_SECS.
hz=$(getconf CLK_TCK)
declare -A pid0 tick0
for i in 1 2 3; do
	pid0[$i]=$(ag_aegisd_pid "$i")
	[ -n "${pid0[$i]}" ] || ag_fail "no aegisd process for node $i"
	tick0[$i]=$(ag_cpu_ticks "${pid0[$i]}")
done
w0=${EPOCHREALTIME/[.,]/}
sleep "$AG_IDLE_SECS"
w1=${EPOCHREALTIME/[.,]/}
over=""
for i in 1 2 3; do
	ticks=$(($(ag_cpu_ticks "${pid0[$i]}") - tick0[$i]))
	# percent of one core, 1 decimal: ticks / hz / wall seconds
	pct10=$((ticks * 1000000 * 1000 / hz / (w1 - w0)))
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/${pid0[$i]}/status")
	per_group=$(ag_status "$i" 'd["memory"]["bytes_per_group"]')
	total=$(ag_status "$i" 'd["memory"]["total_bytes"]')
	echo "node $i idle: cpu $((pct10 / 10)).$((pct10 % 10))% of a core over $(((w1 - w0) / 1000)) ms" \
		"($ticks ticks), RSS $((rss / 1024)) MiB, memory per group $per_group B" \
		"(status total $((total / 1048576)) MiB for $AG_SHARDS groups)"
	[ "$pct10" -le $((AG_IDLE_CPU_MAX_PCT * 10)) ] || over="$over node $i: $((pct10 / 10))%"
done
[ -z "$over" ] || ag_fail "idle CPU above $AG_IDLE_CPU_MAX_PCT% of a core:$over"
# Still quiet, no leader lost while idle, and a write wakes a shard up.
[ "$(ag_leaders)" -ge "$leaders_before" ] || ag_fail "leaders lost while idle"
ag_cli load --prefix "after-idle-" --keys 100 --value-bytes 64 || ag_fail "writes after the idle period"
ag_cli verify --prefix "after-idle-" --keys 100 --value-bytes 64 || ag_fail "reads after the idle period"
ag_log "PASS"
