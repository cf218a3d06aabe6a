#!/usr/bin/env bash
# Rebalance speed and cost (issue [G]) on a tools/aegis-cluster cluster:
# 5 nodes over kernel UDP (jumbo frames), 16 shards, replication factor 3,
# every node and the client on this machine's cores.
#
#   disk:        the disk's sequential write rate with fdatasync (fio, or dd
#                when fio is missing), the rate a move is compared with;
#   fill:        KEYS keys of VALUE bytes written once;
#   baseline:    open-loop writes at RATE/s for SECS s: p99 without moves;
#   drain:       the same load; node 5 is drained (aegisctl node drain): the
#                meta leader's rebalancer moves its replicas away (learner,
#                snapshot + log, promote, drop; rebalance.moves_max at once);
#                time until node 5 holds none, the bytes its replicas held
#                (the state machines' logical bytes), MB/s moved, and the p99
#                of the seconds the moves ran against the baseline's;
#   rereplicate: node 4 killed (kill -9) and kept down: time from the kill
#                until no shard lists it (membership.rereplicate_ms is set to
#                REREPLICATE_MS here; detection takes membership.down_ms).
#
# Prints a table and one JSON line per case (to stdout and --out FILE):
#   {"bench":"rebalance","case":"drain",...,"mb_per_s":..,"disk_mb_per_s":..,
#    "ratio":<moved MB/s over the disk's>,"peer":"disk sequential write"}
# Usage: bench/rebalance/run.sh [--build DIR] [--keys N] [--value-bytes N]
#        [--rate OPS] [--secs S] [--out FILE] [--set SEC.KEY=VALUE]...
#   --set goes to every aegisd (aegis-cluster start --set), e.g.
#   --set rebalance.bytes_per_s=4194304 (the snapshot pace; its value is in
#   the JSON lines).
# Root (network namespaces), python3. Takes ~3 minutes with the defaults.
set -u
export PATH="/usr/bin:/bin:/usr/sbin:/sbin:$PATH"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=""
KEYS=20000
VALUE=4096
RATE=2000
SECS=15
REREPLICATE_MS=2000
OUT=""
SETS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--keys) KEYS=$2; shift 2 ;;
	--value-bytes) VALUE=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--set) SETS+=(--set "$2"); shift 2 ;;
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
D=/var/tmp/aegis-rebalance
P=agr
[ -n "$OUT" ] || OUT=$BUILD/rebalance.jsonl
ac() { "$CLUSTER" --dir "$D" "$@"; }
calc() { python3 -c "print($1)"; }
log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "run.sh: $*" >&2; ac stop >/dev/null 2>&1; exit 1; }
trap 'ac stop >/dev/null 2>&1' EXIT

# Node I's shards as "shard kv_bytes voters" lines.
shards_of() {
	"$CTL" --socket "$D/n$1/aegisd.sock" --timeout 2 status --json 2>/dev/null |
		python3 -c '
import json, sys
for s in json.load(sys.stdin)["shards"]:
    print(s["shard"], s["kv_bytes"], ",".join(map(str, s["voters"])))'
}
p99_of() { python3 -c 'import json,sys; r=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"bench\"")][0]); print("%.1f" % (r["latency_us"]["p99"]/1000))' "$1"; }
# The largest per-second p99 (ms) of a --csv file between seconds A and B.
csv_p99() { awk -F, -v a="$2" -v b="$3" 'NR>1 && $2!="warmup" && $1>=a && $1<=b && $10>m {m=$10} END {printf "%.1f", m/1000}' "$1"; }

log "disk: sequential 1 MiB writes with fdatasync under $D"
mkdir -p "$D"
if command -v fio >/dev/null; then
	DISK=$(fio --name=seq --filename="$D/fio.tmp" --rw=write --bs=1M --size=512M --ioengine=sync --fdatasync=8 \
		--output-format=json 2>/dev/null | python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["jobs"][0]["write"]["bw"]/1024))')
	DISK_TOOL=fio
else
	DISK=$(dd if=/dev/zero of="$D/fio.tmp" bs=1M count=512 conv=fdatasync 2>&1 | awk '/copied/ {print int($(NF-1) * ($NF ~ /GB/ ? 1000 : 1))}')
	DISK_TOOL=dd
fi
rm -f "$D/fio.tmp"
[ -n "$DISK" ] || die "could not measure the disk"
log "  $DISK MB/s ($DISK_TOOL)"

log "start 5 nodes, 16 shards, rf 3, kernel UDP"
ac start --build "$BUILD" --prefix "$P" --nodes 5 --shards 16 --transport udp \
	--set membership.rereplicate_ms=$REREPLICATE_MS "${SETS[@]}" >"$D.start" 2>&1 || { cat "$D.start" >&2; die "start"; }
eval "$(ac env)"
CORES=$(nproc)
PACE=$(grep -o 'bytes_per_s=[0-9]*' <<<"${SETS[*]}" | tail -1 | cut -d= -f2)
PACE=${PACE:-33554432}  # the default, 32 MiB/s per node
"$CTL" --socket "$D/n1/aegisd.sock" rebalance pause >/dev/null || die "rebalance pause"
run() { ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --dgram-bytes "$AEGIS_DGRAM_BYTES" --quiet "$@"; }

log "fill: $KEYS keys of $VALUE B"
run --keys "$KEYS" --value-bytes "$VALUE" --ops $((KEYS * 2)) --duration 120 --warmup 0 --outstanding 256 \
	>"$D/fill.out" 2>&1 || die "fill: $(tail -3 "$D/fill.out")"

log "baseline: $RATE writes/s for $SECS s, no moves"
run --keys "$KEYS" --value-bytes "$VALUE" --rate "$RATE" --duration "$SECS" >"$D/base.out" 2>&1 || die "baseline"
BASE_P99=$(p99_of "$D/base.out")
log "  p99 $BASE_P99 ms"

log "drain: node 5 under the same load"
shards_of 5 >"$D/n5-before.txt"
HELD=$(wc -l <"$D/n5-before.txt")
BYTES=$(awk '{s += $2} END {print s + 0}' "$D/n5-before.txt")
run --keys "$KEYS" --value-bytes "$VALUE" --rate "$RATE" --duration 60 --csv "$D/drain.csv" >"$D/drain.out" 2>&1 &
BPID=$!
sleep 5
"$CTL" --socket "$D/n1/aegisd.sock" rebalance resume >/dev/null || die "rebalance resume"
T0=$(date +%s.%N)
"$CTL" --socket "$D/n1/aegisd.sock" node drain 5 >/dev/null || die "node drain 5"
while [ "$(shards_of 5 | wc -l)" -gt 0 ]; do
	[ "$(calc "$(date +%s.%N) - $T0 < 50")" = True ] || die "node 5 still holds replicas after 50 s"
	sleep 0.2
done
T1=$(date +%s.%N)
DRAIN_S=$(calc "$T1 - $T0")
wait "$BPID" || die "aegis-bench during the drain: $(tail -3 "$D/drain.out")"
# The seconds of the bench's clock the moves ran in: it started 5 s before
# the drain (plus its 1 s of warm-up).
DRAIN_P99=$(csv_p99 "$D/drain.csv" 6 $((6 + ${DRAIN_S%.*} + 1)))
MB=$(calc "$BYTES / 1e6")
MBPS=$(calc "$MB / $DRAIN_S")
RATIO=$(calc "$MBPS / $DISK")
log "  $HELD replicas, $(printf %.1f "$MB") MB moved in $(printf %.1f "$DRAIN_S") s = $(printf %.2f "$MBPS") MB/s; p99 during the moves $DRAIN_P99 ms"

log "rereplicate: kill -9 node 4, keep it down"
shards_of 4 >"$D/n4-before.txt"
HELD4=$(wc -l <"$D/n4-before.txt")
run --keys "$KEYS" --value-bytes "$VALUE" --rate "$RATE" --duration 40 >"$D/rerep.out" 2>&1 &
BPID=$!
sleep 3
ac kill 4 >/dev/null 2>&1
T0=$(date +%s.%N)
while :; do
	left=0
	for n in 1 2 3; do left=$((left + $(shards_of "$n" | awk '{print $3}' | tr , '\n' | grep -cx 4))); done
	[ "$left" -eq 0 ] && break
	[ "$(calc "$(date +%s.%N) - $T0 < 60")" = True ] || die "shards still list node 4 60 s after its death"
	sleep 0.2
done
REREP_S=$(calc "$(date +%s.%N) - $T0")
wait "$BPID" || die "aegis-bench during the re-replication: $(tail -3 "$D/rerep.out")"
log "  $HELD4 replicas re-made elsewhere $(printf %.1f "$REREP_S") s after the kill (down after membership.down_ms 5 s, copied after rereplicate_ms $REREPLICATE_MS ms)"

{
	printf '{"bench":"rebalance","case":"drain","nodes":5,"shards":16,"rf":3,"cores":%s,"transport":"udp","keys":%s,"value_bytes":%s,"rate":%s,"replicas_moved":%s,"mb_moved":%.1f,"seconds":%.2f,"mb_per_s":%.2f,"disk_mb_per_s":%s,"disk_tool":"%s","peer":"disk sequential write","ratio":%.4f,"p99_ms_during":%s,"p99_ms_baseline":%s,"snapshot_bytes_per_s":%s}\n' \
		"$CORES" "$KEYS" "$VALUE" "$RATE" "$HELD" "$MB" "$DRAIN_S" "$MBPS" "$DISK" "$DISK_TOOL" "$RATIO" "$DRAIN_P99" "$BASE_P99" "$PACE"
	printf '{"bench":"rebalance","case":"rereplicate","nodes":5,"shards":16,"rf":3,"cores":%s,"transport":"udp","replicas":%s,"seconds_to_full_replication":%.2f,"down_ms":5000,"rereplicate_ms":%s}\n' \
		"$CORES" "$HELD4" "$REREP_S" "$REREPLICATE_MS"
} | tee -a "$OUT"
echo
printf '%-12s %s\n' "case" "result (5 nodes and the client on $CORES cores)"
printf '%-12s %s\n' "drain" "$HELD replicas, $(printf %.1f "$MB") MB in $(printf %.1f "$DRAIN_S") s: $(printf %.2f "$MBPS") MB/s = $(printf %.3f "$RATIO")x the disk ($DISK MB/s, $DISK_TOOL); p99 $DRAIN_P99 ms during vs $BASE_P99 ms without"
printf '%-12s %s\n' "rereplicate" "$HELD4 replicas of a killed node re-made in $(printf %.1f "$REREP_S") s (5 s to DOWN + $REREPLICATE_MS ms + the moves)"
