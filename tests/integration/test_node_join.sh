#!/usr/bin/env bash
# Membership churn under load (issue [G]) on a tools/aegis-cluster cluster:
# 5 nodes over kernel UDP, 16 shards, replication factor 3.
#
# aegis-bench writes for the whole churn and records every acknowledged
# write (--record); a first load without moves gives the p99 to compare.
# Then:
#   add 2 nodes (aegis-cluster add: node 6 recorded by aegisctl node add on
#     a member, node 7 by its own join requests; each started with
#     node.join = true): the rebalancer moves replicas onto each until it
#     holds its share;
#   drain node 5 (aegisctl node drain 5 --wait): it ends with no replica,
#     its meta vote goes to a healthy learner, node remove 5 is accepted;
#   kill -9 node 4 and keep it down: once DOWN for
#     membership.rereplicate_ms its replicas are copied elsewhere and its
#     meta vote goes to a healthy learner (node 7).
# Then node 4 (drained while down) restarts: the replicas it still holds
# are orphans (off the records, no leader) and go after
# rebalance.orphan_ms; both records verify again.
# Checked: every shard ends with 3 voters, none on nodes 4 and 5, on every
# node's table; each live node's share of replicas within the planner's
# bound (rebalance.tolerance_pct of the mean); no write failed; every
# acknowledged write of both loads reads back at quorum (--verify) with
# node 4 still down. The p99 of writes with and without moves is printed.
#
# Root only (namespaces); others skip with 77. Names: prefix agj<pid>.
# Usage: test_node_join.sh tools/aegis-cluster BUILD_DIR
set -u
export PATH="/usr/bin:/bin:$PATH"

CLUSTER=${1:?usage: $0 tools/aegis-cluster BUILD_DIR}
BUILD=$(cd "${2:?usage: $0 tools/aegis-cluster BUILD_DIR}" && pwd)
P="agj$$"
D=/var/tmp/$P
BENCH=$BUILD/bench/aegis-bench/aegis-bench
CTL=$BUILD/tools/aegisctl
# shellcheck source=cluster/lib.sh
. "$(dirname "$0")/cluster/lib.sh"
fail() { fail_logs "$*" "$D"/n*.log "$D"/bench-*.err; }
ac() { "$CLUSTER" --dir "$D" "$@"; }

cluster_traps

cluster_require "$CLUSTER" "$BUILD"
[ -x "$BENCH" ] && [ -x "$CTL" ] || skip "no aegis-bench or aegisctl in $BUILD"
command -v python3 >/dev/null || skip "no python3"

log "start 5 nodes, 16 shards, rf 3, kernel UDP, rereplicate after 2 s DOWN"
ac start --build "$BUILD" --prefix "$P" --nodes 5 --shards 16 --transport udp --timeout 120 \
	--set membership.rereplicate_ms=2000 --set rebalance.orphan_ms=3000 >"$D.start" 2>&1 ||
	{ cat "$D.start" >&2; rm -f "$D.start"; fail "start"; }
rm -f "$D.start"
eval "$(ac env)" || fail "env"

# rec_of N: "planned in_flight r1=c1 r2=c2 ..." from node N's status (the
# records' placement as the planner sees it).
rec_of() {
	"$CTL" --socket "$D/n$1/aegisd.sock" --timeout 2 status --json 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["rebalance"]
print(r["planned_moves"], len(r["in_flight"]), " ".join("%d=%d" % (n["id"], n["replicas"]) for n in r["replicas_on_record"]))'
}
# settled N SECS: until node N (the meta leader) plans no move and has none in flight.
settled() {
	local t0=$SECONDS line
	while :; do
		line=$(rec_of "$1") && set -- "$1" "$2" $line && [ "$3" = 0 ] && [ "$4" = 0 ] && return 0
		[ $((SECONDS - t0)) -lt "$2" ] || fail "moves not settled after $2 s: ${line:-no answer}"
		sleep 0.5
	done
}
meta_leader() {
	"$CTL" --socket "$D/n1/aegisd.sock" --timeout 2 status --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["meta"]["leader"])'
}
# The rebalancer evens out the fresh cluster's rendezvous placement first.
settled "$(meta_leader)" 60

writes_ok() { bench_writes_ok "$D/bench-$1.out"; }

# load NAME SECS REC: aegis-bench writes in the background (BENCH_PID),
# every acknowledged write recorded in $D/REC.txt; open loop at a rate a
# 2-core box keeps up with beside the moves.
load() {
	ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --dgram-bytes "$AEGIS_DGRAM_BYTES" \
		--quiet --timeout-ms 300 --retries 40 --outstanding 64 --keys 20000 --value-bytes 256 \
		--rate 2000 --duration "$2" --record "$D/$3.txt" >"$D/bench-$1.out" 2>"$D/bench-$1.err" &
	BENCH_PID=$!
}

log "baseline: 8 s of writes without moves"
load base 8 rec0
wait "$BENCH_PID" || fail "aegis-bench (baseline) failed"
p99_base=$(writes_ok base) || fail "writes failed in the baseline"

log "under load: add 2 nodes, drain node 5, kill -9 node 4"
load churn 50 rec1
sleep 2
for n in 6 7; do
	# Node 7 asks the members itself (no aegisctl node add).
	self=; [ "$n" = 7 ] && self=--self
	out=$(ac add --wait --timeout 120 $self 2>&1) || fail "add node $n: $out"
	log "  $(echo "$out" | tail -1)"
	[ -S "$D/n$n/aegisd.sock" ] || fail "node $n has no admin socket after add"
done
grep -q "join: node 7 at .* asked the meta group to record it" "$D"/n[1-5].log ||
	fail "no member logged relaying node 7's join request"
log "  replicas on record: $(rec_of 1 | cut -d' ' -f3-)"
out=$("$CTL" --socket "$D/n1/aegisd.sock" --timeout 120 node drain 5 --wait 2>&1) || fail "node drain 5 --wait: $out"
log "  $(echo "$out" | tail -1)"
# Node 5 is a meta voter (5 nodes formed the cluster): its vote goes to a
# healthy learner (node 6, the lowest id), then it may be removed.
meta_voters() {
	"$CTL" --socket "$D/n$1/aegisd.sock" --timeout 2 status --json 2>/dev/null |
		python3 -c 'import json, sys; print(",".join(map(str, json.load(sys.stdin)["meta"]["voters"])))'
}
wait_not_voter() {
	local t0=$SECONDS v
	while :; do
		v=$(meta_voters 1) || v=""
		[ -n "$v" ] && ! in_csv "$v" "$1" && [ "$(echo "$v" | tr , '\n' | grep -c .)" = 5 ] && break
		[ $((SECONDS - t0)) -lt 30 ] || fail "node $1 still a meta voter 30 s after its drain: $v"
		sleep 0.3
	done
	log "  meta voters now $v (node $1's vote handed over)"
}
in_csv() { case ",$1," in *",$2,"*) return 0 ;; *) return 1 ;; esac; }
wait_not_voter 5
out=$("$CTL" --socket "$D/n1/aegisd.sock" --timeout 30 node remove 5 2>&1) || fail "node remove 5 after its drain: $out"
log "  $(echo "$out" | tail -1)"
ac kill 4 >/dev/null 2>&1 || fail "kill 4"
t_kill=$SECONDS
log "  node 4 killed; waiting for its replicas to be copied elsewhere"
lead=$(meta_leader)
[ -n "$lead" ] && [ "$lead" != 4 ] || lead=1
while :; do
	line=$(rec_of "$lead") || line=""
	case " $line " in *" 4=0 "*) break ;; esac
	[ $((SECONDS - t_kill)) -lt 90 ] || fail "node 4 still holds replicas on record 90 s after its death: $line"
	sleep 0.5
	lead=$(meta_leader)
	[ -n "$lead" ] && [ "$lead" != 4 ] || lead=1
done
log "  node 4's replicas re-replicated $((SECONDS - t_kill)) s after kill -9"
# Node 4 was a meta voter: DOWN for rereplicate_ms, its vote goes to a
# healthy learner (node 7) without a drain.
wait_not_voter 4
settled "$lead" 90
wait "$BENCH_PID" || fail "aegis-bench (churn) failed (exit $?)"
p99_churn=$(writes_ok churn) || fail "writes failed during the churn"

# Each live node's share within the bound; nothing on 4 and 5.
line=$(rec_of "$lead")
log "  replicas on record: ${line#* * }"
python3 - "$line" "$D" <<'EOF' || fail "shares out of bound: $line"
import sys
counts = dict(map(int, kv.split("=")) for kv in sys.argv[1].split()[2:])
live = [1, 2, 3, 6, 7]
assert counts.get(4, 0) == 0 and counts.get(5, 0) == 0, counts
total = sum(counts[n] for n in live)
assert total == 16 * 3, total
mean = total / len(live)
lo, hi = int(mean * 0.9), -(-mean * 1.1 // 1)  # the planner's rounding: floor and ceil
bad = {n: counts[n] for n in live if not lo <= counts[n] <= hi}
print("  shares: %s (mean %.1f, bound %d..%d)" % ({n: counts[n] for n in live}, mean, lo, hi), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

# Every node's table: 3 voters per shard, none on 4 or 5.
for n in 1 2 3 6 7; do
	"$CTL" --socket "$D/n$n/aegisd.sock" --timeout 2 status --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin)["shards"]:
    v = s["voters"]
    if len(v) != 3 or 4 in v or 5 in v or s["learners"]:
        print("shard", s["shard"], "voters", v, "learners", s["learners"]); sys.exit(1)' ||
		fail "node $n: a shard without 3 voters off nodes 4 and 5"
done

log "every acknowledged write is there (node 4 down)"
for rec in rec0 rec1; do
	ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --timeout-ms 500 --retries 20 \
		--verify "$D/$rec.txt" >"$D/v-$rec.out" 2>&1 || { cat "$D/v-$rec.out" >&2; fail "verify $rec"; }
	log "  $rec: $(grep '^verify' "$D/v-$rec.out" | head -1)"
done

# Node 4 comes back after its replicas were made elsewhere (drained first,
# so nothing moves back): the copies it still holds are not on record and
# their groups have no leader: dropped as orphans after rebalance.orphan_ms.
out=$("$CTL" --socket "$D/n1/aegisd.sock" --timeout 30 node drain 4 2>&1) || fail "node drain 4 (down): $out"
wait_not_voter 4
ac restart 4 >/dev/null 2>&1 || fail "restart 4"
t0=$SECONDS
while :; do
	held=$("$CTL" --socket "$D/n4/aegisd.sock" --timeout 2 status --json 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)["shards"]))') || held="?"
	[ "$held" = 0 ] && break
	[ $((SECONDS - t0)) -lt 60 ] || fail "node 4 still holds $held replicas 60 s after its restart"
	sleep 0.5
done
# The cluster's state is about the meta voters now (1,2,3,6,7): healthy,
# and node list marks them voters.
for i in $(seq 1 30); do
	cs=$("$CTL" --socket "$D/n1/aegisd.sock" --timeout 2 status --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["cluster_state"], ",".join(str(m["id"]) for m in d["members"] if m.get("voter")))') || cs=""
	[ "$cs" = "healthy 1,2,3,6,7" ] && break
	sleep 0.3
done
[ "$cs" = "healthy 1,2,3,6,7" ] || fail "cluster state and voters as node 1 sees them: $cs (want healthy 1,2,3,6,7)"
log "  node 4 restarted: its $(grep -c 'dropping it (an orphan)' "$D/n4.log") stale replicas dropped as orphans within $((SECONDS - t0)) s"
for rec in rec0 rec1; do
	ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --timeout-ms 500 --retries 20 \
		--verify "$D/$rec.txt" >"$D/v2-$rec.out" 2>&1 || { cat "$D/v2-$rec.out" >&2; fail "verify $rec after node 4's return"; }
done
log "p99 of writes: ${p99_base} ms without moves, ${p99_churn} ms during the adds, drain and re-replication"
log "PASS: 2 nodes added, 1 drained, 1 killed and kept down under load; 0 failed writes, every acknowledged write verified"
