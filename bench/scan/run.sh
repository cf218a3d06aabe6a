#!/usr/bin/env bash
# Scatter reads (aegis-cli scan, issue [G]) on a tools/aegis-cluster cluster:
# 3 nodes over kernel UDP, SHARDS shards, replication factor 3, the nodes
# and the client on this machine's cores (it says how many).
#
#   fill:  KEYS keys of VALUE bytes (aegis-cli load, pipelined);
#   scan:  every key, page by page (1,000 keys a page; each page one SCAN
#          per shard, merged), at quorum (each shard's leader, ReadIndex)
#          and at one (any replica); best of RUNS runs each;
#   range: a prefix holding 1/10 of the keys, at quorum.
# Checked: each scan returns exactly the keys it should (count).
# Prints a table and one JSON line per case (stdout and --out FILE):
#   {"bench":"scan","case":"all_quorum","keys":..,"pages":..,"seconds":..,
#    "keys_per_s":..,"shards":..,"cores":..}
# Usage: bench/scan/run.sh [--build DIR] [--keys N] [--value-bytes N]
#        [--shards N] [--runs N] [--out FILE]
# Root (network namespaces), python3. ~1 minute with the defaults.
set -u
export PATH="/usr/bin:/bin:/usr/sbin:/sbin:$PATH"
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="" KEYS=100000 VALUE=64 SHARDS=16 RUNS=3 OUT=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift 2 ;;
	--keys) KEYS=$2; shift 2 ;;
	--value-bytes) VALUE=$2; shift 2 ;;
	--shards) SHARDS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
done
[ -n "$BUILD" ] || { [ -x "$ROOT/build-release/control/aegisd" ] && BUILD=$ROOT/build-release || BUILD=$ROOT/build; }
BUILD=$(cd "$BUILD" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (network namespaces)" >&2; exit 2; }
CLUSTER=$ROOT/tools/aegis-cluster
D=/var/tmp/aegis-scan-bench
ac() { "$CLUSTER" --dir "$D" "$@"; }
trap 'ac stop >/dev/null 2>&1' EXIT
ac start --nodes 3 --transport udp --shards "$SHARDS" --build "$BUILD" >/dev/null || { echo "run.sh: start failed" >&2; exit 1; }
ac cli --window 1024 load --prefix k --keys "$KEYS" --value-bytes "$VALUE" >/dev/null 2>&1 ||
	{ echo "run.sh: load failed" >&2; exit 1; }
# k<i> for i in 0..KEYS-1: the prefix k1 holds 1 + 10 + 100 + ... keys.
want_k1=$(python3 -c "print(sum(1 for i in range($KEYS) if str(i).startswith('1')))")
cores=$(nproc)

# one_case NAME WANT ARGS...: best of RUNS timed scans; a JSON line.
one_case() {
	local name=$1 want=$2 best="" i t0 t1 n pages
	shift 2
	for i in $(seq 1 "$RUNS"); do
		t0=$(date +%s%N)
		n=$(ac cli "$@" --keys-only 2>"$D/scan.err" | wc -l)
		t1=$(date +%s%N)
		[ "$n" = "$want" ] || { echo "run.sh: $name returned $n keys, want $want: $(cat "$D/scan.err")" >&2; exit 1; }
		[ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ] && best=$((t1 - t0))
		pages=$(sed -n 's/.* \([0-9]*\) pages.*/\1/p' "$D/scan.err")
	done
	python3 - "$name" "$want" "$pages" "$best" "$SHARDS" "$cores" "$VALUE" <<'PY' | tee -a "${OUT:-/dev/null}"
import json, sys
name, keys, pages, ns, shards, cores, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
s = ns / 1e9
print("  %-14s %7d keys %4d pages %7.3f s %9.0f keys/s" % (name, keys, pages, s, keys / s), file=sys.stderr)
print(json.dumps({"bench": "scan", "case": name, "keys": keys, "pages": pages, "seconds": round(s, 3),
                  "keys_per_s": round(keys / s), "shards": shards, "value_bytes": value, "nodes": 3,
                  "cores": cores, "cores_note": "3 nodes and the client share them"}))
PY
}

echo "scan: 3 nodes (kernel UDP), $SHARDS shards, $KEYS keys of $VALUE B, $cores cores shared by the nodes and the client" >&2
one_case all_quorum "$KEYS" --consistency quorum scan
one_case all_one "$KEYS" --consistency one scan
one_case prefix_quorum "$want_k1" --consistency quorum scan --prefix k1
