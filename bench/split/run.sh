#!/usr/bin/env bash
# Range splits and merges (issue [G]) on a tools/aegis-cluster cluster: 3
# nodes over kernel UDP, 16 shards, replication factor 3, range sharding
# with no split points (one range, on shard 0; shards 1-15 spare; automatic
# splits off), every node and the client on this machine's cores.
#
#   fill:     KEYS keys of VALUE bytes (aegis-bench), all in shard 0;
#   baseline: open-loop writes at RATE/s over the keys for SECS s: p99;
#   split:    the same load; `aegisctl shard split 0` (its middle key by
#             bytes) on the node leading shard 0: the time aegisctl waits,
#             the keys and bytes the split copied (its log line), MB/s, and
#             the p99 of the seconds it ran against the baseline's;
#   merge:    the same load; the spare's range merged back into shard 0.
# Checked: every write the bench acknowledged reads back with its value
# (aegis-bench --verify after each phase).
# Prints a table and one JSON line per case (stdout and --out FILE):
#   {"bench":"split","case":"split","keys_moved":..,"mb_moved":..,
#    "seconds":..,"mb_per_s":..,"p99_ms_during":..,"p99_ms_baseline":..,
#    "cores":..,"nodes":3,...}
# Usage: bench/split/run.sh [--build DIR] [--keys N] [--value-bytes N]
#        [--rate OPS] [--secs S] [--out FILE]
# Root (network namespaces), python3. ~2 minutes with the defaults.
set -u
export PATH="/usr/bin:/bin:/usr/sbin:/sbin:$PATH"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="" KEYS=100000 VALUE=256 RATE=1000 SECS=10 OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--keys) KEYS=$2; shift 2 ;;
	--value-bytes) VALUE=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done
[ -n "$BUILD" ] || { [ -x "$ROOT/build-release/control/aegisd" ] && BUILD=$ROOT/build-release || BUILD=$ROOT/build; }
BUILD=$(cd "$BUILD" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (network namespaces)" >&2; exit 2; }
BENCH=$BUILD/bench/aegis-bench/aegis-bench
CTL=$BUILD/tools/aegisctl
CLUSTER=$ROOT/tools/aegis-cluster
D=/var/tmp/aegis-split-bench
[ -n "$OUT" ] || OUT=$BUILD/split.jsonl
ac() { "$CLUSTER" --dir "$D" "$@"; }
calc() { python3 -c "print($1)"; }
log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "run.sh: $*" >&2; ac stop >/dev/null 2>&1; exit 1; }
trap 'ac stop >/dev/null 2>&1' EXIT

log "start 3 nodes, 16 shards, rf 3, kernel UDP, range sharding: one range (shard 0), 15 spares"
ac start --build "$BUILD" --prefix ags --nodes 3 --shards 16 --transport udp --set sharding.strategy=range \
	--set sharding.split_bytes=0 >"$D.start" 2>&1 || { cat "$D.start" >&2; die "start"; }
rm -f "$D.start"
eval "$(ac env)"
CORES=$(nproc)
run() { ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --dgram-bytes "$AEGIS_DGRAM_BYTES" --quiet "$@"; }
status() { "$CTL" --socket "$D/n$1/aegisd.sock" --timeout 5 status --json; }
# The node leading SHARD.
leader_of() {
	local i
	for i in 1 2 3; do
		status "$i" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in d["shards"]:
    if s["shard"] == int(sys.argv[1]) and s["role"] == "leader":
        print(d["node"])' "$1"
	done 2>/dev/null | head -1
}
p99_of() { python3 -c 'import json,sys; r=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"bench\"")][0]); print("%.1f" % (r["latency_us"]["p99"]/1000))' "$1"; }
csv_p99() { awk -F, -v a="$2" -v b="$3" 'NR>1 && $2!="warmup" && $1>=a && $1<=b && $10>m {m=$10} END {printf "%.1f", m/1000}' "$1"; }

log "fill: $KEYS keys of $VALUE B"
run --keys "$KEYS" --value-bytes "$VALUE" --ops $((KEYS * 2)) --duration 300 --warmup 0 --outstanding 256 \
	>"$D/fill.out" 2>&1 || die "fill: $(tail -3 "$D/fill.out")"

log "baseline: $RATE writes/s for $SECS s"
run --keys "$KEYS" --value-bytes "$VALUE" --rate "$RATE" --duration "$SECS" --record "$D/base.rec" >"$D/base.out" 2>&1 ||
	die "baseline: $(tail -3 "$D/base.out")"
BASE_P99=$(p99_of "$D/base.out")
log "  p99 $BASE_P99 ms"

# one_case NAME: the load for 5 s, then the command (args after NAME) on the
# node leading the shard it names, timed; the rest of the load; a JSON line.
one_case() {
	local name=$1 shard=$2 lead t0 t1 secs line keys bytes ms p99 mb entries
	shift 2
	run --keys "$KEYS" --value-bytes "$VALUE" --rate "$RATE" --duration 40 --csv "$D/$name.csv" \
		--record "$D/$name.rec" >"$D/$name.out" 2>&1 &
	local bpid=$!
	sleep 5
	lead=$(leader_of "$shard")
	[ -n "$lead" ] || die "$name: shard $shard has no leader"
	t0=$(date +%s.%N)
	"$CTL" --socket "$D/n$lead/aegisd.sock" --timeout 120 "$@" >"$D/$name.ctl" 2>&1 || die "$name: $(cat "$D/$name.ctl")"
	t1=$(date +%s.%N)
	wait "$bpid" || die "aegis-bench during the $name: $(tail -3 "$D/$name.out")"
	secs=$(calc "$t1 - $t0")
	line=$(grep -h "$name.* done after" "$D/n$lead.log" 2>/dev/null | tail -1)
	[ -n "$line" ] || line=$(grep -rh "$name.* done after" "$D"/*.log 2>/dev/null | tail -1)
	ms=$(sed -n 's/.* done after \([0-9]*\) ms.*/\1/p' <<<"$line")
	keys=$(sed -n 's/.* (\([0-9]*\) keys, .*/\1/p' <<<"$line")
	bytes=$(sed -n 's/.* keys, \([0-9]*\) bytes copied.*/\1/p' <<<"$line")
	entries=$(sed -n 's/.* bytes copied in \([0-9]*\) entries.*/\1/p' <<<"$line")
	[ -n "$ms" ] && [ -n "$keys" ] || die "$name: no log line of it on node $lead"
	p99=$(csv_p99 "$D/$name.csv" 6 $((6 + ${secs%.*} + 1)))
	mb=$(calc "$bytes / 1e6")
	printf '{"bench":"split","case":"%s","nodes":3,"shards":16,"rf":3,"cores":%s,"cores_note":"3 nodes and the client share them","transport":"udp","keys":%s,"value_bytes":%s,"rate":%s,"keys_moved":%s,"raft_entries":%s,"mb_moved":%.2f,"seconds":%.3f,"worker_ms":%s,"mb_per_s":%.2f,"p99_ms_during":%s,"p99_ms_baseline":%s}\n' \
		"$name" "$CORES" "$KEYS" "$VALUE" "$RATE" "$keys" "${entries:-0}" "$mb" "$secs" "$ms" "$(calc "$mb / $secs")" "$p99" "$BASE_P99" |
		tee -a "$OUT"
	log "  $name: $keys keys, $(printf %.1f "$mb") MB in $(printf %.2f "$secs") s (worker: $ms ms); p99 $p99 ms during vs $BASE_P99 ms without"
}

log "split of shard 0 at its middle key under $RATE writes/s"
one_case split 0 shard split 0
SPARE=$(status 1 | python3 -c '
import json, sys
print([s["shard"] for s in json.load(sys.stdin)["shards"] if s["shard"] != 0 and s.get("state") not in ("inactive", None)][0])')
log "merge of shard $SPARE back into shard 0 under $RATE writes/s"
one_case merge "$SPARE" shard merge "$SPARE"

log "verify: every acknowledged write reads back"
for r in base split merge; do
	run --verify "$D/$r.rec" >"$D/verify-$r.out" 2>&1 || die "verify $r: $(tail -3 "$D/verify-$r.out")"
done
log "done; JSON lines in $OUT"
