#!/usr/bin/env bash
# Zones (issue [G]) on a tools/aegis-cluster cluster: 6 nodes over kernel
# UDP in 3 zones (node.zone: nodes 1 and 4 in z1, 2 and 5 in z2, 3 and 6 in
# z3), 12 shards, replication factor 3.
#
# The map's rendezvous placement knows nothing of zones; each node records
# its zone and weight in the meta group ("labels/<id>") and the meta
# leader's rebalancer moves replicas until no shard has two in one zone.
# Checked: the labels on record on every node (aegisctl node list), every
# shard's voters in 3 distinct zones on every node's table, 6 +- 10%
# replicas per node (each zone holds one replica of every shard: 12 over
# its 2 nodes),
# and writes under the moves all succeed and read back (--verify).
#
# Root only (namespaces); others skip with 77. Names: prefix agz<pid>.
# Usage: test_zones.sh tools/aegis-cluster BUILD_DIR
set -u
export PATH="/usr/bin:/bin:$PATH"

CLUSTER=${1:?usage: $0 tools/aegis-cluster BUILD_DIR}
BUILD=$(cd "${2:?usage: $0 tools/aegis-cluster BUILD_DIR}" && pwd)
P="agz$$"
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

log "start 6 nodes in 3 zones, 12 shards, rf 3, kernel UDP"
ac start --build "$BUILD" --prefix "$P" --nodes 6 --zones 3 --shards 12 --transport udp --timeout 120 \
	>"$D.start" 2>&1 || { cat "$D.start" >&2; rm -f "$D.start"; fail "start"; }
rm -f "$D.start"
eval "$(ac env)" || fail "env"

log "writes while the rebalancer spreads the replicas over the zones"
ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --dgram-bytes "$AEGIS_DGRAM_BYTES" \
	--quiet --timeout-ms 300 --retries 40 --outstanding 64 --keys 5000 --rate 2000 --duration 15 \
	--record "$D/rec.txt" >"$D/bench-load.out" 2>"$D/bench-load.err" &
BENCH_PID=$!

# check N: "ok" when node N's labels list 6 zones as configured, every
# shard's voters span 3 zones and each node holds 6 +- 10% (5..7) on record;
# else what is off.
check() {
	"$CTL" --socket "$D/n$1/aegisd.sock" --timeout 2 status --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
zone = {m["id"]: m.get("zone") for m in d["members"]}
want = {i: "z%d" % ((i - 1) % 3 + 1) for i in range(1, 7)}
if zone != want:
    print("zones on record:", zone); sys.exit(0)
for s in d["shards"]:
    zs = [zone[v] for v in s["voters"]]
    if len(s["voters"]) != 3 or len(set(zs)) != 3 or s["learners"]:
        print("shard", s["shard"], "voters", s["voters"], "zones", zs, "learners", s["learners"]); sys.exit(0)
held = {r["id"]: r["replicas"] for r in d["rebalance"]["replicas_on_record"]}
if sum(held.values()) != 36 or not all(5 <= h <= 7 for h in held.values()) or d["rebalance"]["planned_moves"] != 0:
    print("replicas on record:", held, "planned:", d["rebalance"]["planned_moves"]); sys.exit(0)
print("ok")'
}

t0=$SECONDS
for n in 1 2 3 4 5 6; do
	while :; do
		out=$(check "$n") || out="no answer"
		[ "$out" = ok ] && break
		[ $((SECONDS - t0)) -lt 60 ] || fail "node $n after 60 s: $out"
		sleep 0.5
	done
done
log "  every shard's voters in 3 zones, 5-7 replicas per node, on every node's table, $((SECONDS - t0)) s after start"
"$CTL" --socket "$D/n1/aegisd.sock" node list >&2 || fail "aegisctl node list"
"$CTL" --socket "$D/n1/aegisd.sock" cluster status 2>&1 | grep '^rebalance' | sed 's/^/  /' >&2

wait "$BENCH_PID" || fail "aegis-bench failed (exit $?)"
bench_writes_ok "$D/bench-load.out" >/dev/null || fail "writes failed during the moves"
ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --timeout-ms 500 --retries 20 \
	--verify "$D/rec.txt" >"$D/v.out" 2>&1 || { cat "$D/v.out" >&2; fail "verify"; }
log "  $(grep '^verify' "$D/v.out" | head -1)"
log "PASS: replicas spread over 3 zones by the rebalancer, 0 failed writes, every acknowledged write verified"
