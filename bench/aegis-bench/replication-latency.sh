#!/usr/bin/env bash
# bench/aegis-bench/replication-latency.sh: what a replicated write costs at
# low load, durable and NOT DURABLE, on a 3-node tools/aegis-cluster.
#
#   bench/aegis-bench/replication-latency.sh [--seconds S] [--transport T]
#       [--build DIR] [--out FILE] [--loads LIST]
#
# For each mode (durable: fdatasync on a quorum before the answer; NOT
# DURABLE: aegis-cluster --not-durable, the logs are never synced, so what
# is left is the client round trip and one Raft round trip) a fresh cluster
# runs aegis-bench, closed loop, 16 B keys, 64 B values, quorum writes, with
# each --loads level in flight (default 1,16,256: one write at a time is the
# pure round trip; 256 is near saturation here). Prints a table; one JSON line
# per (mode, load) to --out (default DIR/replication-latency.jsonl) with
# "durable" true/false, so that a NOT DURABLE figure is never mistaken for a
# durable one.
# Exit: 0 ok, 1 a run failed, 2 usage error. Root (network namespaces).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=build seconds=5 transport="" out="" loads=1,16,256
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=${2:?}; shift ;;
	--transport) transport=${2:?}; shift ;;
	--build) build=${2:?}; shift ;;
	--out) out=${2:?}; shift ;;
	--loads) loads=${2:?}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "replication-latency: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -ge 1 ] || { echo "replication-latency: --seconds N" >&2; exit 2; }
[[ "$loads" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "replication-latency: --loads N,N,..." >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "replication-latency: needs root (network namespaces)" >&2; exit 2; }
cd "$root"
bench=$build/bench/aegis-bench/aegis-bench
[ -x "$bench" ] || { echo "replication-latency: no $bench (build first)" >&2; exit 1; }
out=${out:-$build/replication-latency.jsonl}
: >"$out"
run=/var/tmp/aegis-replat
tmp=$(mktemp -d)
cluster() { tools/aegis-cluster --dir "$run" "$@"; }
trap 'cluster stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
export PATH=/usr/bin:/bin:$PATH

rows=()
for mode in durable not-durable; do
	flag=()
	[ "$mode" = durable ] || flag=(--not-durable)
	echo "replication-latency: $mode: starting a 3-node cluster" >&2
	cluster start --build "$build" ${transport:+--transport "$transport"} "${flag[@]}" >"$tmp/start.txt" ||
		{ cat "$tmp/start.txt" >&2; exit 1; }
	eval "$(cluster env)"
	tr=$(sed -n 's/.*transport \([a-z_]*\),.*/\1/p' "$tmp/start.txt" | head -n 1)
	for n in ${loads//,/ }; do
		j="$tmp/$mode-$n.json"
		cluster exec "$bench" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --quiet \
			--duration "$seconds" --warmup 1 --outstanding "$n" --keys 100000 --key-bytes 16 \
			--value-bytes 64 --json "$j" >/dev/null || { echo "replication-latency: $mode, $n in flight: aegis-bench failed" >&2; exit 1; }
		row=$(python3 - "$j" "$mode" "$n" "$tr" "$out" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
mode, n, tr, out = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
lat = j["write_latency_us"]
line = {"bench": "replication-latency", "durable": mode == "durable", "transport": tr,
        "nodes": 3, "in_flight": n, "value_bytes": 64, "consistency": "quorum",
        "cores_online": j.get("cores_online"), "cores_note": "3 nodes and the client share them",
        "writes_per_s": j["ops_per_s"], "errors": j["errors"],
        "p50_us": lat["p50"], "p90_us": lat["p90"], "p99_us": lat["p99"], "max_us": lat["max"]}
with open(out, "a") as f:
    f.write(json.dumps(line) + "\n")
label = "durable" if mode == "durable" else "NOT DURABLE"
print(f"{label:<12} {n:>9} {j['ops_per_s']:>11.0f} {lat['p50']:>10.0f} {lat['p90']:>10.0f} "
      f"{lat['p99']:>10.0f} {j['errors']:>7}")
EOF
		)
		rows+=("$row")
		echo "$row" >&2
	done
	cluster stop >/dev/null
done
echo
echo "3 nodes + client on $(nproc) shared cores, transport ${tr:-?}, 16 B keys, 64 B values, quorum writes, $seconds s each"
printf '%-12s %9s %11s %10s %10s %10s %7s\n' mode in_flight writes/s p50_us p90_us p99_us errors
printf '%s\n' "${rows[@]}"
echo "JSON lines: $out"
